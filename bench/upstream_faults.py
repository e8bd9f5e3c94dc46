"""Client-side figures for a hung candidate and a dead baseline (issue #12, items 1 and 3).

Both real backends (``fastapi_backend`` as the baseline, ``custom_backend`` as the candidate) and a
bare gateway process (``python -m gateway``, no controller) on loopback; an open-loop GET load of
``--rps`` requests/s from 200 simulated clients, each with its own sticky key. Two scenarios:

* ``hung`` — candidate weight 50 %, ``kill -STOP`` on the candidate after a warm-up; reports the
  longest client wait and the errors among the requests started after the stop.
* ``dead`` — candidate weight 10 %, ``kill -9`` on the baseline after a warm-up; reports the share
  of client errors among the requests started after the kill.

``--gateway-root DIR`` runs the gateway from another checkout (e.g. ``git archive`` of an older
commit into DIR) to measure the behaviour before a change; ``--legacy`` leaves out the config keys
that checkout does not know. Run: ``python -m bench.upstream_faults hung --fallback-after 1``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.harness import free_port, wait_http
from migration.cli.processes import BackendProcesses, BackendSpec

API_KEY = "bench-key"
PATH = "/api/v1/tasks"


async def _get(port: int, client: str) -> str:
    """One GET on its own connection (an independent client): ``"STATUS BACKEND"``.

    Raw asyncio streams, not httpx: with hundreds of requests stuck on a hung backend, httpx's
    pool costs enough CPU on this 2-core machine to delay the requests it measures.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"GET %s HTTP/1.1\r\nHost: gw\r\nX-API-Key: %s\r\nX-Client-ID: %s\r\n"
            b"Connection: close\r\n\r\n" % (PATH.encode(), API_KEY.encode(), client.encode())
        )
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.read()  # to the end: the answer is complete when the connection closes
    finally:
        writer.close()
    lines = head.decode("latin-1").split("\r\n")
    backend = next(
        (
            v.strip()
            for k, _, v in (x.partition(":") for x in lines[1:])
            if k.lower() == "x-cutover-backend"
        ),
        None,
    )
    return f"{lines[0].split()[1]} {backend}"


async def load(
    port: int, rps: float, seconds: float, marks: list[tuple[float, float, str]]
) -> None:
    """Open-loop GETs: one starts every 1/rps s whatever the others do; (start, wait, outcome)."""
    rng = random.Random(1)

    async def one() -> None:
        start = time.monotonic()
        try:
            outcome = await asyncio.wait_for(_get(port, f"client-{rng.randrange(200)}"), 60.0)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            outcome = type(exc).__name__
        marks.append((start, time.monotonic() - start, outcome))

    tasks: set[asyncio.Future[None]] = set()
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < seconds:
        task = asyncio.ensure_future(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
        await asyncio.sleep(max(0.0, t0 + n / rps - time.monotonic()))
    if tasks:
        await asyncio.wait(tasks)


def gateway_config(
    ports: tuple[int, int], public: int, weight_bps: int, args: Any
) -> dict[str, Any]:
    route: dict[str, Any] = {
        "name": "api",
        "paths": ["/*"],
        "weight_bps": weight_bps,
        "sticky": {"headers": ["X-Client-ID"], "client_address": False},
    }
    if not args.legacy:
        route["fallback_after_s"] = args.fallback_after
    return {
        "upstreams": {
            "baseline": {"url": f"http://127.0.0.1:{ports[0]}"},
            "candidate": {"url": f"http://127.0.0.1:{ports[1]}"},
        },
        "listeners": {"public": {"port": public}, "admin": {"port": free_port()}},
        "routes": [route],
    }


def run(args: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        ports = (free_port(), free_port())
        env = {
            "LLMSTRUCT_DATABASE": str(state / "llmstruct.db"),
            "LLMSTRUCT_API_KEY": API_KEY,
            "LLMSTRUCT_BRIDGE_MODE": "inprocess",
        }
        backends = BackendProcesses(
            [
                BackendSpec("fastapi", "127.0.0.1", ports[0], env),
                BackendSpec("custom", "127.0.0.1", ports[1], env),
            ],
            log_dir=state / "logs",
        )
        backends.start()
        public = free_port()
        weight = 5_000 if args.scenario == "hung" else 1_000
        config = state / "gateway.yaml"
        config.write_text(yaml.safe_dump(gateway_config(ports, public, weight, args)))
        root = args.gateway_root or str(Path(__file__).resolve().parent.parent)
        genv = {k: v for k, v in os.environ.items() if not k.startswith("CUTOVER_")}
        genv["PYTHONPATH"] = root
        log = (state / "gateway.log").open("wb")
        gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--config", str(config)],
            cwd=root,
            env=genv,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        victim = "custom" if args.scenario == "hung" else "fastapi"
        stopped = False
        try:
            backends.wait_healthy(60.0)
            wait_http(f"http://127.0.0.1:{public}/api/v1/system/health", proc=gateway)
            marks: list[tuple[float, float, str]] = []

            async def scenario() -> float:
                nonlocal stopped
                loader = asyncio.ensure_future(
                    load(public, args.rps, args.warmup + args.seconds, marks)
                )
                await asyncio.sleep(args.warmup)
                fault_at = time.monotonic()
                if args.scenario == "hung":
                    os.kill(backends.pid(victim), signal.SIGSTOP)
                    stopped = True
                else:
                    os.kill(backends.pid(victim), signal.SIGKILL)
                await loader
                return fault_at

            fault_at = asyncio.run(scenario())
        finally:
            if stopped:
                os.kill(backends.pid(victim), signal.SIGCONT)
            gateway.terminate()
            gateway.wait(10)
            backends.stop()
    after = [m for m in marks if m[0] >= fault_at]
    errors = [m for m in after if not m[2].startswith("2")]
    return {
        "scenario": args.scenario,
        "gateway_root": args.gateway_root or "this tree",
        "fallback_after_s": None if args.legacy else args.fallback_after,
        "rps": args.rps,
        "requests_after_fault": len(after),
        "client_errors": len(errors),
        "error_share": round(len(errors) / max(1, len(after)), 4),
        "max_wait_s": round(max((m[1] for m in after), default=0.0), 3),
        "p99_wait_s": round(sorted(m[1] for m in after)[int(0.99 * (len(after) - 1))], 3)
        if after
        else 0.0,
        "outcomes": sorted({m[2] for m in after}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream_faults")
    parser.add_argument("scenario", choices=["hung", "dead"])
    parser.add_argument("--rps", type=float, default=100.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--fallback-after", default="auto")
    parser.add_argument("--gateway-root", default=None)
    parser.add_argument("--legacy", action="store_true")
    args = parser.parse_args(argv)
    if args.fallback_after != "auto":
        args.fallback_after = float(args.fallback_after)
    print(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
