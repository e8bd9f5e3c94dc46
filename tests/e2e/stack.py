"""The whole stack on loopback for the end-to-end tests: backends, a gateway process, load, admin
calls.

Both llmstruct backends run as their own processes (``migration.cli.processes``) over one SQLite
task store with the in-process bridge (the subprocess bridge serves a few requests per second here,
too few for a ramp in seconds). The gateway runs as ``python -m migration.cli.main gateway
--config`` so a test can ``kill -9`` it; its output goes to a log file, never to an unread pipe (a
full pipe would block the gateway on its next log line). Load comes from :mod:`migration.loadgen`
over the gateway's own HTTP client, as in ``cutover demo``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml

from gateway.config import UpstreamConfig
from gateway.shadow.sender import PoolSender
from migration.cli.processes import BackendProcesses, BackendSpec, free_port
from migration.loadgen import CLIENT_HEADER, LoadGenerator, LoadProfile, LoadStats

API_KEY = "e2e-key"
ADMIN_TOKEN = "e2e-admin-token"
ROUTE = "default"
STARTUP_TIMEOUT = 60.0
#: The analysis thresholds scaled to a test's traffic (a few hundred requests, not thousands).
TEST_POLICY: dict[str, Any] = {"window_s": "4s", "min_samples": 30, "min_rate_samples": 30}
TERMINAL = frozenset({"completed", "rolled_back", "aborted"})


@dataclass(frozen=True)
class BackendPorts:
    baseline: int
    candidate: int


def start_backends(state_dir: Path) -> tuple[BackendProcesses, BackendPorts]:
    """Both backends over one fresh task store; the caller stops them."""
    ports = BackendPorts(free_port(), free_port())
    env = {
        "LLMSTRUCT_DATABASE": str(state_dir / "llmstruct.db"),
        "LLMSTRUCT_API_KEY": API_KEY,
        "LLMSTRUCT_BRIDGE_MODE": "inprocess",
    }
    backends = BackendProcesses(
        [
            BackendSpec("fastapi", "127.0.0.1", ports.baseline, env),
            BackendSpec("custom", "127.0.0.1", ports.candidate, env),
        ],
        log_dir=state_dir / "logs",
    )
    backends.start()
    try:
        backends.wait_healthy(STARTUP_TIMEOUT)
    except Exception:
        backends.stop()
        raise
    return backends, ports


def gateway_yaml(
    backends: BackendPorts,
    public: int,
    admin: int,
    state_db: Path,
    *,
    shadow_percent: float = 20,
    plan: Mapping[str, Any] | None = None,
    sticky_headers: Sequence[str] = (CLIENT_HEADER,),
    policy: Mapping[str, Any] | None = None,
) -> str:
    """One catch-all route, sticky per load-generator client (``sticky_headers``), the controller
    every second; ``policy`` overrides fields of ``TEST_POLICY``."""
    migration: dict[str, Any] = {
        "state_db": str(state_db),
        "interval_s": 1,
        "policy": {**TEST_POLICY, **(policy or {})},
        "memory_scrape": True,
    }
    if plan is not None:
        migration["plan"] = dict(plan)
    return yaml.safe_dump(
        {
            "upstreams": {
                "baseline": {"url": f"http://127.0.0.1:{backends.baseline}"},
                "candidate": {"url": f"http://127.0.0.1:{backends.candidate}"},
            },
            "routes": [
                {
                    "name": ROUTE,
                    "paths": ["/*"],
                    "sticky": {"headers": list(sticky_headers), "client_address": False},
                    "shadow": {"percent": shadow_percent},
                }
            ],
            "listeners": {
                "public": {"host": "127.0.0.1", "port": public},
                "admin": {"host": "127.0.0.1", "port": admin},
            },
            "admin_token": ADMIN_TOKEN,
            "migration": migration,
        }
    )


class GatewayProcess:
    """``cutover gateway --config FILE`` as a child process, restartable with the same config."""

    def __init__(self, config: Path, public: int, admin: int, log: Path) -> None:
        self.config = config
        self.public_url = f"http://127.0.0.1:{public}"
        self.admin_url = f"http://127.0.0.1:{admin}"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until the admin listener answers ``/readyz``."""
        argv = [sys.executable, "-m", "migration.cli.main", "gateway", "--config", str(self.config)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.admin_url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"gateway not ready in {STARTUP_TIMEOUT}s:\n{self.tail()}")
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def gateway_sender(public_url: str) -> PoolSender:
    """The load generator's client: the gateway's own pooled HTTP/1.1 sender, aimed at the
    gateway."""
    upstream = UpstreamConfig(public_url, 2.0, 10.0, 30.0, 64)
    return PoolSender({"gateway": upstream})


async def seed_tasks(sender: PoolSender, count: int) -> tuple[str, ...]:
    """Create ``count`` tasks through the gateway; returns their ids."""
    ids = []
    headers = [("x-api-key", API_KEY), ("content-type", "application/json")]
    for i in range(count):
        body = orjson.dumps({"title": f"e2e task {i}", "priority": "medium", "tags": ["e2e"]})
        response = await sender.send("gateway", "POST", "/api/v1/tasks", headers, body, 10.0)
        assert response.status == 201, (response.status, response.body[:300])
        ids.append(str(orjson.loads(response.body)["id"]))
    return tuple(ids)


class Load:
    """A running :class:`LoadGenerator`; ``await stop()`` ends it and returns what clients saw."""

    def __init__(self, sender: PoolSender, profile: LoadProfile) -> None:
        self.generator = LoadGenerator(sender, profile)
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(
            self.generator.run(self._stop), name="e2e-load"
        )

    async def stop(self) -> LoadStats:
        self._stop.set()
        return await self._task


def profile(task_ids: tuple[str, ...], rps: float = 120.0, write_share: float = 0.0) -> LoadProfile:
    """The demo's read mix at a rate two shared cores sustain alongside both backends and the
    gateway.

    No writes by default: ``GET /api/v1/tasks`` lists newest first, so a task created between a
    primary read and its shadow makes the pair differ. On a loaded machine the shadow lags enough
    for that to hit a few percent of the comparisons, over the 1 % mismatch limit, and the plan
    rolls back in its shadow step. The tests create their tasks explicitly instead.
    """
    return LoadProfile(rps=rps, api_key=API_KEY, task_ids=task_ids, write_share=write_share)


class Admin:
    """Async calls to the gateway admin API with the token."""

    def __init__(self, url: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=url, timeout=10.0, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )

    async def get(self, path: str) -> Any:
        response = await self.client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()

    async def send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        response = await self.client.request(method, path, json=body)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        return response.json()

    async def view(self, route: str = ROUTE) -> dict[str, Any]:
        """This route's entry of ``GET /migration``."""
        overview = await self.get("/migration")
        view: dict[str, Any] = next(v for v in overview["routes"] if v["route"] == route)
        return view

    async def metrics(self) -> str:
        response = await self.client.get("/metrics")
        assert response.status_code == 200
        return response.text

    async def wait_view(
        self, predicate: Callable[[dict[str, Any]], bool], what: str, within_s: float = 45.0
    ) -> dict[str, Any]:
        """Poll ``GET /migration`` until ``predicate(view)`` (the controller acts on its own
        tick)."""
        deadline = time.monotonic() + within_s
        while True:
            view = await self.view()
            if predicate(view):
                return view
            if time.monotonic() > deadline:
                shadow = await self.get(f"/shadow/{ROUTE}")
                raise AssertionError(
                    f"timed out waiting for {what}; last view: {view}; shadow: {shadow}"
                )
            await asyncio.sleep(0.2)

    async def aclose(self) -> None:
        await self.client.aclose()


def cli_json(admin_url: str, *args: str) -> Any:
    """Run the real operator CLI (``python -m migration.cli.main``) and parse its ``--json``
    output."""
    argv = [sys.executable, "-m", "migration.cli.main", *args]
    argv += ["--admin-url", admin_url, "--token", ADMIN_TOKEN, "--json"]
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, (argv, done.returncode, done.stderr.decode(errors="replace"))
    return orjson.loads(done.stdout)


def step_index(view: Mapping[str, Any]) -> int:
    plan = view.get("plan")
    return -1 if plan is None else int(plan["step_index"])
