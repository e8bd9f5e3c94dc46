"""What shadowing costs the client: p99 at a fixed load, saturated throughput, per-item CPU costs.

Setup (as ``bench.gateway``): tiny upstreams (asyncio + httptools on uvloop) answer every path
with a typical 853-byte ``GET /api/v1/tasks`` list that conforms to the contract; one serves as the
baseline, one as the candidate. Four gateways run side by side on CPU 0 with the baseline:
``plain`` (no tap), ``tapped`` (a no-op tap that wants every exchange: the gateway's own cost of
tapping — body capture on its callback fast path), ``shadowed`` (the product default: 100 % of GETs
shadowed to the other backend, 10 % of those as same-backend noise probes, every primary and shadow
response validated against the contract, all of it in the sidecar process at its default priority)
and ``inline`` (the same work on the gateway's own event loop, ``shadow.isolation: inline``).

Topology (``--topology``): ``split`` (default, what a deployment looks like) keeps CPU 0 exactly as
in the plain run — gateway and baseline — and puts what shadowing adds elsewhere: the candidate
upstream on CPU 1 (in production it is another service) and the sidecar on CPU 1 via
``shadow.process_cpus: [1]``, sharing that core with the load generator (whose timing it can only
worsen). ``shared`` puts everything on CPU 0, the worst case: the sidecar and the candidate then
add their CPU to the core that serves clients.
Load comes from CPU 1. The gateways are measured back to back in each round; the median of
the per-round ratios counts (drift of this shared machine between rounds cancels out).

- saturated throughput: wrk, 32 connections; target shadowed ≥ 0.5x plain;
- client p99 below saturation: an open-loop generator (requests on a fixed schedule, latency from
  the *scheduled* send time, so a stall is not hidden by the generator waiting) at a quarter of
  the plain gateway's saturated rate (``--load``), same rate for all; target shadowed p99 ≤ 1.10x
  plain. (Not a share of the shadowed saturation: that figure includes shadows shed by the queue.)
- component costs, in-process: the inline tap's hot-path call (``on_response``), the sidecar
  hand-off per exchange (tuple + pickled batch frame), a worker's full shadow pipeline with an
  instant sender (compare + evidence + contract check), and contract validation of one typical
  response (target ≤ 10 µs).

    python -m bench.shadow [--duration S] [--rounds R] [--load F] [--topology split|shared] [--priority P]

Prints a markdown table and writes ``bench/results/shadow.json``; returns 0 when it ran (a missed
target is reported, not a crash), 1 when it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from statistics import median
from typing import Any, cast

import orjson

from bench.harness import free_port, pinned, process, wrk
from gateway.build_hotpath import up_to_date

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = REPOSITORY / "bench" / "results" / "shadow.json"
TARGETS = {"p99_ratio": 1.10, "throughput_ratio": 0.5, "validation_us": 10.0}
TOPOLOGIES = ("split", "shared")
PATH = "/api/v1/tasks"
MODES = ("plain", "tapped", "shadowed", "inline")
PYTHONPATH = {"PYTHONPATH": str(REPOSITORY)}


def _task(i: int) -> dict[str, Any]:
    stamp = "2026-11-25T12:00:00.123456Z"
    return {
        "id": f"{i:032x}",
        "title": f"Task {i}",
        "description": "Write the shadow bench",
        "status": "open",
        "priority": "medium",
        "tags": ["bench", "shadow"],
        "estimated_effort": None,
        "created_at": stamp,
        "updated_at": stamp,
    }


BODY = orjson.dumps({"items": [_task(i) for i in range(3)], "total": 3, "limit": 50, "offset": 0})


# --------------------------------------------------------------------------- processes


def run_upstream(port: int) -> None:
    """Serve BODY as JSON on 127.0.0.1:port with keep-alive (asyncio + httptools on uvloop)."""
    import httptools
    import uvloop

    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
    response = head % len(BODY) + BODY

    class Upstream(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.Transport, transport)
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_message_complete(self) -> None:
            self.transport.write(response)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Upstream, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    uvloop.run(main())


class _NoopTap:
    """Wants every exchange and drops it: the gateway's own cost of tapping (body capture, task
    path instead of its callback fast path), without any shadow work."""

    def wants(self, route: str, method: str) -> bool:
        return True

    def on_response(self, exchange: object) -> None:
        return None


def run_gateway(
    config_path: str, mode: str, workers: int, priority: str | None, cpus: str | None
) -> None:
    """A gateway from ``config_path``: ``plain`` (no tap), ``tapped`` (no-op tap) or ``shadowed``."""
    import signal

    import uvloop
    from prometheus_client import CollectorRegistry

    from gateway.config import load_config
    from gateway.server import Gateway
    from gateway.shadow.admin import admin_extension
    from gateway.shadow.config import parse_shadow_settings
    from gateway.shadow.wiring import build_shadow

    config = load_config(config_path)

    async def main() -> None:
        registry = CollectorRegistry()
        shadow: Any = None
        taps: list[Any] = [_NoopTap()] if mode == "tapped" else []
        if mode in ("shadowed", "inline"):
            settings = parse_shadow_settings(
                {
                    "workers": workers,
                    "isolation": "process" if mode == "shadowed" else "inline",
                    **({"process_priority": priority} if priority else {}),
                    **({"process_cpus": cpus} if cpus else {}),
                    "routes": {"default": {"percent": 100, "same_backend_percent": 10}},
                }
            )
            shadow = build_shadow(config, registry, settings, contract="llmstruct")
            await shadow.open()
            taps = [shadow]
        gateway = Gateway(
            config,
            registry,
            taps=taps,
            admin_extensions=[admin_extension(shadow)] if shadow else [],
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await gateway.start()
        await stop.wait()
        await gateway.stop()
        if shadow is not None:
            await shadow.close()

    uvloop.run(main())


GATEWAY_CONF = """
upstreams:
  baseline: {{url: "http://127.0.0.1:{baseline}", pool_size: 128}}
  candidate: {{url: "http://127.0.0.1:{candidate}", pool_size: 128}}
routes:
  - name: default
    paths: ["/*"]
    weight_bps: 0
listeners:
  public: {{host: 127.0.0.1, port: {port}}}
  admin: {{host: 127.0.0.1, port: {admin}}}
"""


# --------------------------------------------------------------------------- load


def open_loop(port: int, rate: float, duration: float) -> dict[str, float]:
    """Fixed-schedule load from CPU 1 in a child process; latency percentiles in ms."""
    argv = pinned(
        "1",
        [sys.executable, "-m", "bench.shadow", "--open-loop", f"{port},{rate},{duration}"],
    )
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"open-loop generator failed: {done.stderr.strip()}")
    return cast(dict[str, float], json.loads(done.stdout))


def run_open_loop(port: int, rate: float, duration: float) -> dict[str, float]:
    """Send GETs on a fixed schedule over keep-alive connections; measure from the schedule."""
    import httptools
    import uvloop

    request = f"GET {PATH} HTTP/1.1\r\nhost: bench\r\nx-api-key: bench\r\n\r\n".encode()

    class Client(asyncio.Protocol):
        def __init__(self) -> None:
            self.parser = httptools.HttpResponseParser(self)
            self.done: asyncio.Future[int] | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.Transport, transport)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:
            if self.done is not None and not self.done.done():
                self.done.set_result(self.parser.get_status_code())

        def connection_lost(self, exc: Exception | None) -> None:
            if self.done is not None and not self.done.done():
                self.done.set_exception(ConnectionError("closed"))

    async def main() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        idle: list[Client] = []
        latencies: list[float] = []
        errors = 0
        opened = 0

        async def one(scheduled: float) -> None:
            nonlocal errors, opened
            if idle:
                conn = idle.pop()
            else:
                opened += 1
                _, conn = await loop.create_connection(Client, "127.0.0.1", port)
            conn.parser = httptools.HttpResponseParser(conn)
            conn.done = loop.create_future()
            conn.transport.write(request)
            try:
                status = await conn.done
            except ConnectionError:
                errors += 1
                return
            latencies.append(time.perf_counter() - scheduled)
            if status != 200:
                errors += 1
            idle.append(conn)

        tasks = set()
        total = int(rate * duration)
        # perf_counter, not loop.time(): uvloop's clock has millisecond resolution.
        start = time.perf_counter() + 0.05
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = loop.create_task(one(scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        latencies.sort()

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

        return {
            "sent": total,
            "completed": len(latencies),
            "errors": errors,
            "connections": opened,
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
        }

    return uvloop.run(main())


# --------------------------------------------------------------------------- component costs


def component_costs(n: int = 20000) -> dict[str, float]:
    """In-process costs: tap call, one shadow through a worker, one contract validation.

    Timed in CPU seconds of this process (``process_time``), not wall time: on a shared machine
    the neighbours' load then stretches the measurement much less.
    """
    from prometheus_client import CollectorRegistry

    from contracts.validators import ContractValidator
    from gateway.observer import Exchange
    from gateway.shadow.config import RouteShadowConfig, ShadowSettings
    from gateway.shadow.sender import ShadowResponse
    from gateway.shadow.service import ShadowService
    from gateway.shadow.sidecar_wire import Kind, encode

    validator = ContractValidator.from_path()
    operation = validator.operation_for("GET", PATH)
    assert operation is not None
    assert validator.validate(operation, 200, orjson.loads(BODY)) == []
    headers = ((b"content-type", b"application/json"), (b"content-length", b"%d" % len(BODY)))
    exchange = Exchange(
        "default", "baseline", "GET", PATH, ((b"host", b"bench"), (b"x-api-key", b"k")), b"",
        200, headers, BODY,
    )  # fmt: skip
    same = ShadowResponse(200, (("content-type", "application/json"),), BODY)
    noisy_body = orjson.loads(BODY)
    noisy_body["items"][0]["updated_at"] = "2026-11-25T12:00:01Z"  # a timestamp differs
    noisy = ShadowResponse(200, same.headers, orjson.dumps(noisy_body))
    answers = {"same": same, "noisy": noisy}
    answer = [same]

    class InstantSender:
        async def send(self, *args: Any, **kwargs: Any) -> ShadowResponse:
            return answer[0]

    def service(percent: float) -> ShadowService:
        return ShadowService(
            ShadowSettings(queue_size=n + 10, validation_queue_size=n + 10, workers=4),
            InstantSender(),
            CollectorRegistry(),
            routes={"default": RouteShadowConfig(percent=percent, same_backend_percent=10)},
            validator=validator,
        )

    async def tap_cost(percent: float, batch: int = 200) -> float:
        # Batches keep the queue as short as it is in service (a 20k-deep queue of live jobs
        # would make the garbage collector, not the tap, the cost); drains are not timed.
        svc = service(percent)
        svc.start()
        spent = 0.0
        for _ in range(n // batch):
            started = time.process_time()
            for _ in range(batch):
                if svc.wants("default", "GET"):
                    svc.on_response(exchange)
            spent += time.process_time() - started
            await svc.drain()
        await svc.close()
        return spent / (n // batch * batch) * 1e6

    async def worker_cost(kind: str, count: int) -> float:
        answer[0] = answers[kind]
        svc = service(100.0)
        svc.start()
        for _ in range(count):
            svc.on_response(exchange)
        started = time.process_time()
        await svc.drain()
        spent = time.process_time() - started
        await svc.close()
        return spent / count * 1e6

    def handoff_cost(batch: int = 1) -> float:
        started = time.process_time()
        for _ in range(n // batch):
            encode(Kind.EXCHANGES, [exchange.as_tuple() for _ in range(batch)])
        return (time.process_time() - started) / (n // batch * batch) * 1e6

    def validation_cost() -> float:
        started = time.process_time()
        for _ in range(n):
            validator.validate(operation, 200, orjson.loads(BODY), "application/json")
        return (time.process_time() - started) / n * 1e6

    async def run() -> dict[str, float]:
        # Best of three: on a shared machine the least-disturbed run is the one that measures
        # the code rather than the neighbours.
        out: dict[str, float] = {}
        for _ in range(3):
            runs = {
                "tap_us_unsampled": await tap_cost(0.0),
                "tap_us_sampled": await tap_cost(100.0),
                "handoff_us": handoff_cost(),
                "worker_us_per_shadow_identical": await worker_cost("same", n // 2),
                "worker_us_per_shadow_differing": await worker_cost("noisy", n // 20),
                "validation_us": validation_cost(),
            }
            for key, value in runs.items():
                out[key] = min(out.get(key, value), value)
        return out

    return asyncio.run(run())


# --------------------------------------------------------------------------- the suite


def shadow_outcomes(admin_url: str, since: dict[str, int] | None = None) -> dict[str, int]:
    """The shadowed gateway's outcome counters (minus ``since``), read from ``GET /shadow``."""
    import httpx

    routes = httpx.get(admin_url, timeout=10.0).json()["routes"]
    totals: dict[str, int] = {}
    for route in routes:
        for outcome, count in route["shadow"]["outcomes"].items():
            totals[outcome] = totals.get(outcome, 0) + count
    return {k: v - (since or {}).get(k, 0) for k, v in totals.items()}


def measure(
    duration: float,
    rounds: int,
    connections: int,
    load_fraction: float,
    workers: int,
    priority: str | None = None,
    topology: str = "split",
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="cutover-bench-shadow-"))
    baseline, candidate = free_port(), free_port()
    elsewhere = "1" if topology == "split" else "0"  # where shadowing's extra work runs
    ports = {name: (free_port(), free_port()) for name in MODES}
    me = [sys.executable, "-m", "bench.shadow"]
    saturated: dict[str, list[dict[str, float]]] = {name: [] for name in ports}
    fixed: dict[str, list[dict[str, float]]] = {name: [] for name in ports}
    rate = 0.0
    with ExitStack() as stack:
        for port, cpu in ((baseline, "0"), (candidate, elsewhere)):
            stack.enter_context(
                process(
                    pinned(cpu, [*me, "--upstream", str(port)]),
                    f"http://127.0.0.1:{port}/",
                    PYTHONPATH,
                )
            )
        for name, (port, admin) in ports.items():
            path = tmp / f"{name}.yaml"
            path.write_text(
                GATEWAY_CONF.format(baseline=baseline, candidate=candidate, port=port, admin=admin)
            )
            argv = [*me, "--gateway", str(path), "--mode", name, "--workers", str(workers)]
            if priority:
                argv += ["--priority", priority]
            if topology == "split":
                argv += ["--sidecar-cpus", elsewhere]
            stack.enter_context(
                process(pinned("0", argv), f"http://127.0.0.1:{port}{PATH}", PYTHONPATH)
            )
        urls = {name: f"http://127.0.0.1:{port}{PATH}" for name, (port, _) in ports.items()}
        shadow_url = f"http://127.0.0.1:{ports['shadowed'][1]}/shadow"
        for url in urls.values():
            wrk(url, connections, 1.0)  # warm-up: pools, allocator
        before = shadow_outcomes(shadow_url)
        for _ in range(rounds):
            for name, url in urls.items():
                saturated[name].append(wrk(url, connections, duration))
        during_saturation = shadow_outcomes(shadow_url, before)
        # A share of the *plain* gateway's saturation: the shadowed one's includes shed shadows.
        rate = round(load_fraction * median(r["rps"] for r in saturated["plain"]), -1)
        before = shadow_outcomes(shadow_url)
        for _ in range(rounds):
            for name, (port, _) in ports.items():
                fixed[name].append(open_loop(port, rate, duration))
        during_fixed = shadow_outcomes(shadow_url, before)
    shutil.rmtree(tmp, ignore_errors=True)
    rps = {name: median(r["rps"] for r in runs) for name, runs in saturated.items()}
    p99 = {name: median(r["p99_ms"] for r in runs) for name, runs in fixed.items()}
    p50 = {name: median(r["p50_ms"] for r in runs) for name, runs in fixed.items()}

    # Ratios within a round (the two gateways measured back to back), then their median: drift
    # of the shared machine between rounds cancels out.
    def ratios(runs: dict[str, list[dict[str, float]]], mode: str, key: str) -> list[float]:
        return [s[key] / p[key] for p, s in zip(runs["plain"], runs[mode], strict=True)]

    tp_ratios = ratios(saturated, "shadowed", "rps")
    p99_ratios = ratios(fixed, "shadowed", "p99_ms")
    return {
        "setup": {
            "duration_s": duration,
            "rounds": rounds,
            "connections": connections,
            "body_bytes": len(BODY),
            "shadow": "100% of GETs, 10% same-backend probes, contract checks on, "
            "queue 1024, max queue age 0.5 s",
            "workers": workers,
            "sidecar_priority": priority or _default_priority(),
            "topology": topology,
            "pinning": (
                "gateways+baseline cpu0; load, candidate and sidecar cpu1"
                if topology == "split"
                else "gateways+baseline+candidate+sidecar cpu0, load cpu1"
            ),
            "gateway_compiled": up_to_date(),  # make compile
        },
        "saturated_rps": rps,
        "throughput_ratio": median(tp_ratios),
        "throughput_ratios": tp_ratios,
        "offered_rps": rate,
        "p50_ms": p50,
        "p99_ms": p99,
        "p99_ratio": median(p99_ratios),
        "p99_ratios": p99_ratios,
        "inline_throughput_ratio": median(ratios(saturated, "inline", "rps")),
        "inline_p99_ratio": median(ratios(fixed, "inline", "p99_ms")),
        "shadow_outcomes": {"saturated": during_saturation, "fixed_rate": during_fixed},
        "rounds": {"saturated": saturated, "fixed_rate": fixed},
    }


def _default_priority() -> str:
    from gateway.shadow.config import ShadowSettings

    return ShadowSettings().process_priority


def _compared(r: dict[str, Any], phase: str) -> int:
    counts = r["shadow_outcomes"][phase]
    return sum(counts.get(k, 0) for k in ("matched", "mismatched", "noise"))


def table(r: dict[str, Any], comp: dict[str, float]) -> str:
    t = TARGETS
    mark = {True: "met", False: "MISSED"}
    lines = [
        "| measure | plain gateway | no-op tap | shadowed (sidecar) | shadowed/plain | target | inline shadowing | inline/plain |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    if r:
        rps, p50, p99, rate = r["saturated_rps"], r["p50_ms"], r["p99_ms"], r["offered_rps"]
        ok_tp = r["throughput_ratio"] >= t["throughput_ratio"]
        ok_p99 = r["p99_ratio"] <= t["p99_ratio"]
        lines += [
            f"| saturated req/s ({r['setup']['connections']} conns) | {rps['plain']:.0f} | {rps['tapped']:.0f} | {rps['shadowed']:.0f} | {r['throughput_ratio']:.2f}x | >= 0.5x ({mark[ok_tp]}) | {rps['inline']:.0f} | {r['inline_throughput_ratio']:.2f}x |",
            f"| p50 ms at {rate:.0f} req/s | {p50['plain']:.2f} | {p50['tapped']:.2f} | {p50['shadowed']:.2f} | {p50['shadowed'] / p50['plain']:.2f}x | | {p50['inline']:.2f} | {p50['inline'] / p50['plain']:.2f}x |",
            f"| p99 ms at {rate:.0f} req/s | {p99['plain']:.2f} | {p99['tapped']:.2f} | {p99['shadowed']:.2f} | {r['p99_ratio']:.2f}x | <= 1.10x ({mark[ok_p99]}) | {p99['inline']:.2f} | {r['inline_p99_ratio']:.2f}x |",
            f"| shadows compared / dropped, saturated | | | {_compared(r, 'saturated')} / {r['shadow_outcomes']['saturated'].get('dropped', 0)} | | |",
            f"| shadows compared / dropped, fixed rate | | | {_compared(r, 'fixed_rate')} / {r['shadow_outcomes']['fixed_rate'].get('dropped', 0)} | | |",
        ]
    ok_val = comp["validation_us"] <= t["validation_us"]
    lines += [
        f"| sidecar hand-off µs per exchange (hot path: tuple + one pickled frame, before the write) | | | {comp['handoff_us']:.2f} | | |",
        f"| inline tap call µs (hot path), not sampled / sampled | | | {comp['tap_us_unsampled']:.2f} / {comp['tap_us_sampled']:.2f} | | |",
        f"| worker µs per shadow, identical / differing bodies (compare+evidence+checks, instant sender) | | | {comp['worker_us_per_shadow_identical']:.1f} / {comp['worker_us_per_shadow_differing']:.1f} | | |",
        f"| contract validation µs per response ({len(BODY)} B) | | | {comp['validation_us']:.2f} | | <= 10 ({mark[ok_val]}) |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the suite; 0 when it ran, 1 when it could not."""
    parser = argparse.ArgumentParser(prog="python -m bench.shadow")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--load", type=float, default=0.25, help="fixed rate, as a share of plain saturation"
    )
    parser.add_argument("--workers", type=int, default=8, help="shadow worker tasks")
    parser.add_argument(
        "--priority",
        choices=("idle", "low", "normal"),
        default=None,
        help="the sidecar's shadow.process_priority (default: the config default)",
    )
    parser.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default="split",
        help="split: candidate and sidecar off the gateway's CPU (default); shared: all on CPU 0",
    )
    parser.add_argument("--component-only", action="store_true", help="skip the gateway runs")
    parser.add_argument("--upstream", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--gateway", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, default="plain", help=argparse.SUPPRESS)
    parser.add_argument("--open-loop", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sidecar-cpus", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.upstream is not None:
        run_upstream(args.upstream)
        return 0
    if args.gateway is not None:
        run_gateway(args.gateway, args.mode, args.workers, args.priority, args.sidecar_cpus)
        return 0
    if args.open_loop is not None:
        port, rate, duration = args.open_loop.split(",")
        print(json.dumps(run_open_loop(int(port), float(rate), float(duration))))
        return 0
    comp = component_costs()
    result: dict[str, Any] = {}
    if not args.component_only:
        missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
        if missing:
            print(
                f"cannot run the gateway part: missing {', '.join(missing)} (apt-get install wrk)"
            )
            return 1
        try:
            result = measure(
                args.duration,
                args.rounds,
                args.connections,
                args.load,
                args.workers,
                args.priority,
                args.topology,
            )
        except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
            print(f"cannot run: {exc}")
            return 1
    result["component"] = comp
    print(table(result if "saturated_rps" in result else {}, comp))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {RESULTS.relative_to(REPOSITORY)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
