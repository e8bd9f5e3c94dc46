"""`cutover demo`: the whole stack on embedded defaults, real traffic, a visible ramp (and a
rollback).

What runs, all on loopback ports picked free at start:

* ``fastapi_backend`` (baseline) and ``custom_backend`` (candidate) as their own processes over one
  fresh SQLite task store. The demo runs the FastAPI backend with the in-process bridge: the legacy
  subprocess bridge spawns a CLI process per request and serves a few requests per second on this
  machine, too few for a ramp that finishes in a minute (``make bench`` shows that gap).
* the gateway with shadowing, live contract checks and the migration controller
  (:class:`migration.runtime.CutoverRuntime`), in this process;
* a bounded open-loop load generator (:mod:`migration.loadgen`) with a few hundred sticky clients.

The plan is shadow → 10 % → 50 % → 100 %. With ``--regression`` a fixed latency fault is injected in
front of the candidate once the 50 % step has run for a while, and the controller rolls it back on
its own; the clients keep getting answers. The demo ends with the events and the MigrationReport
(an HTML copy with charts lands in the state directory).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from gateway.config import ConfigError, GatewayConfig, UpstreamConfig, build_config
from gateway.console import CliConsole
from gateway.faults import FaultSpec
from gateway.shadow.sender import PoolSender
from migration.admin_views import event_view
from migration.cli.operator import render_events, render_status
from migration.cli.processes import BackendProcesses, BackendSpec, free_port
from migration.loadgen import CLIENT_HEADER, LoadGenerator, LoadProfile
from migration.plan import plan_from_cli
from migration.report import build_report, render_html, render_table
from migration.runtime import CutoverRuntime, embedded_config_data
from migration.store import SQLiteStore, StateStoreError

ROUTE = "default"
TERMINAL = {"completed", "rolled_back", "aborted"}


@dataclass(frozen=True)
class DemoOptions:
    """Knobs of the demo; the defaults finish in about a minute on this machine."""

    regression: bool = False
    rps: float = 150.0
    steps: str = "shadow,10,50,100"
    hold: str = "6s"
    min_requests: int = 150
    fault_delay_ms: float = 60.0
    max_seconds: float = 150.0
    state_dir: Path | None = None
    api_key: str = "dev-key"
    live: bool = True


def demo_config(ports: dict[str, int], state_dir: Path, token: str) -> GatewayConfig:
    """The embedded default with the demo's ports, sticky clients and state directory."""
    data = embedded_config_data(
        baseline_port=ports["baseline"],
        candidate_port=ports["candidate"],
        public_port=ports["public"],
        admin_port=ports["admin"],
        admin_token=token,
        state_dir=state_dir,
    )
    route = data["routes"][0]
    route["sticky"]["headers"] = [CLIENT_HEADER, "X-API-Key", "Authorization"]
    route["shadow"] = {"percent": 20}
    return build_config(data, "demo")


async def _seed_tasks(sender: PoolSender, api_key: str, count: int = 20) -> tuple[str, ...]:
    ids = []
    headers = [("x-api-key", api_key), ("content-type", "application/json")]
    for i in range(count):
        body = orjson.dumps({"title": f"seed task {i}", "priority": "medium", "tags": ["seed"]})
        response = await sender.send("gateway", "POST", "/api/v1/tasks", headers, body, 10.0)
        if response.status != 201:
            raise RuntimeError(f"seeding a task failed: {response.status} {response.body[:200]!r}")
        ids.append(orjson.loads(response.body)["id"])
    return tuple(ids)


def _client_line(generator: LoadGenerator, started: float, note: str) -> Text:
    stats = generator.stats
    p95 = stats.quantile_ms(0.95)
    share = stats.backends.get("candidate", 0) / max(1, sum(stats.backends.values()))
    text = Text(
        f"clients: {stats.sent} sent, {stats.ok} ok, {stats.failed} failed · "
        f"p95 {p95:.1f} ms · candidate share so far {share:.0%} · "
        f"{time.monotonic() - started:.0f}s"
        if p95 is not None
        else f"clients: {stats.sent} sent"
    )
    if note:
        text.append(f"\n{note}", style="bold yellow")
    return text


class _Display:
    """The ramp as it happens: a rich Live view on a terminal; on a pipe (``make run | tee``, CI) a
    plain status block whenever the phase, step or weight changes and every ``PLAIN_EVERY_S``
    otherwise — a Live view off a terminal would print only its last frame, hiding the ramp."""

    PLAIN_EVERY_S = 10.0

    def __init__(self, console: Console, transient: bool) -> None:
        self.console = console
        self.live = (
            Live(console=console, refresh_per_second=2, transient=transient)
            if console.is_terminal
            else None
        )
        self._shown: tuple[Any, ...] | None = None
        self._shown_at = 0.0

    def __enter__(self) -> _Display:
        if self.live is not None:
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def update(self, status: dict[str, Any], clients: Text) -> None:
        view = Group(render_status(status), clients)
        if self.live is not None:
            self.live.update(view)
            return
        routes = status.get("routes", [])
        key = tuple(
            (r.get("phase"), (r.get("plan") or {}).get("step_index"), r["weight"].get("bps"))
            for r in routes
        )
        now = time.monotonic()
        if key != self._shown or now - self._shown_at >= self.PLAIN_EVERY_S:
            self._shown, self._shown_at = key, now
            self.console.print(view)


async def run_demo(options: DemoOptions, console: Console) -> int:
    """Run the demo end to end; exit 0 when the outcome is the expected one."""
    state_dir = options.state_dir or Path(tempfile.mkdtemp(prefix="cutover-demo-"))
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("baseline", "candidate", "public", "admin")}
    token = os.environ.get("CUTOVER_ADMIN_TOKEN") or "demo-" + os.urandom(8).hex()
    backend_env = {
        "LLMSTRUCT_DATABASE": str(state_dir / "llmstruct.db"),
        "LLMSTRUCT_API_KEY": options.api_key,
        "LLMSTRUCT_BRIDGE_MODE": "inprocess",
    }
    backends = BackendProcesses(
        [
            BackendSpec("fastapi", "127.0.0.1", ports["baseline"], backend_env),
            BackendSpec("custom", "127.0.0.1", ports["candidate"], backend_env),
        ],
        log_dir=state_dir / "logs",
    )
    console.print(Text.from_markup(f"[bold]cutover demo[/] — state in {state_dir}"))
    try:  # a bad state file stops the demo before any backend starts, as it stops `cutover up`
        SQLiteStore(state_dir / "migration.db").close()
    except StateStoreError as exc:
        raise ConfigError(f"migration.state_db: {exc}") from None
    backends.start()
    try:
        await asyncio.to_thread(backends.wait_healthy, 60.0)
        config = demo_config(ports, state_dir, token)
        runtime = CutoverRuntime(config)
        await runtime.start()
        try:
            return await _drive(runtime, options, console, state_dir, token)
        finally:
            await runtime.stop()
    finally:
        backends.stop()


async def _drive(
    runtime: CutoverRuntime, options: DemoOptions, console: Console, state_dir: Path, token: str
) -> int:
    gateway = runtime.gateway
    public = f"http://127.0.0.1:{gateway.public_port}"
    admin = f"http://127.0.0.1:{gateway.admin_port}"
    console.print(
        f"gateway {public} · admin {admin} (token {token}) · "
        f"baseline {runtime.config.baseline.url} · candidate {runtime.config.candidate.url}"
    )
    upstream = UpstreamConfig(public, 2.0, 10.0, 30.0, 64)
    sender = PoolSender({"gateway": upstream})
    task_ids = await _seed_tasks(sender, options.api_key)
    # Few writes: a task created between a shadowed list read and its shadow makes the two lists
    # differ for real, and at 2 % writes that race nears the 1 % mismatch limit on a busy machine.
    profile = LoadProfile(
        rps=options.rps, api_key=options.api_key, task_ids=task_ids, write_share=0.005
    )
    generator = LoadGenerator(sender, profile)
    stop = asyncio.Event()
    load = asyncio.get_running_loop().create_task(generator.run(stop), name="demo-load")
    plan = plan_from_cli(ROUTE, options.steps, options.hold, str(options.min_requests))
    runtime.controller.start(plan)
    started = time.monotonic()
    injected_at: float | None = None
    note = ""
    outcome = "timeout"
    async with httpx.AsyncClient(base_url=admin, timeout=5.0) as client:
        live = _Display(console, transient=not options.live)
        with live:
            while time.monotonic() - started < options.max_seconds:
                await asyncio.sleep(1.0)
                state = runtime.store.load(ROUTE)
                if state is None:
                    continue
                if (
                    options.regression
                    and injected_at is None
                    and state.step.weight_bps >= 5000
                    and state.held_s(time.time()) >= 3.0
                ):
                    spec = FaultSpec(delay_ms=options.fault_delay_ms)
                    gateway.state.set_fault("candidate", spec, actor="demo")
                    injected_at = time.monotonic()
                    delay = options.fault_delay_ms
                    note = f"injected a {delay:.0f} ms delay in front of the candidate"
                status = (await client.get("/migration")).json()
                live.update(status, _client_line(generator, started, note))
                if state.phase in TERMINAL:
                    outcome = state.phase
                    break
    stop.set()
    await load
    if injected_at is not None and outcome == "rolled_back":
        gateway.state.set_fault("candidate", None, actor="demo")
        console.print(
            Text.from_markup(
                f"[bold red]rolled back[/] {time.monotonic() - injected_at:.1f}s after the fault "
                "(includes the wait until the next evaluation)"
            )
        )
    await sender.close()
    report = await build_report(
        runtime.metrics, route=ROUTE, store=runtime.store, memory=runtime.memory, span_s=60.0
    )
    console.print(render_events([event_view(e) for e in runtime.store.events(ROUTE, limit=50)]))
    console.print(render_table(report))
    html = state_dir / "report.html"
    html.write_text(render_html(report), "utf-8")
    stats = generator.stats
    console.print(
        Text.from_markup(
            f"outcome: [bold]{outcome}[/] · client requests {stats.sent}, failed {stats.failed} · "
            f"HTML report: {html}"
        )
    )
    expected = "rolled_back" if options.regression else "completed"
    return 0 if outcome == expected else 1


def main(options: DemoOptions) -> int:
    """Blocking entry point (uvloop), Ctrl-C stops everything cleanly."""
    import uvloop

    # Off a terminal the tables print as plain tab-separated lines (gateway/console.py).
    console = CliConsole()
    with contextlib.suppress(KeyboardInterrupt):
        try:
            return uvloop.run(run_demo(options, console))
        except ConfigError as exc:  # e.g. a corrupt state file in --state-dir: one line, exit 2
            print(f"cutover demo: {exc}", file=sys.stderr)
            return 2
    return 130
