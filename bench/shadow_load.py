"""The shadow bench's fixed-rate load: an open-loop generator, run from CPU 1 in a child process.

Requests go out on a fixed schedule and latency is measured from the *scheduled* send time, so a
stalled gateway shows in the percentiles instead of being hidden by a generator that waits for it
(closed-loop load such as wrk measures throughput; this measures what a client at a given rate
feels). A child process of its own, so the generator's CPU is not the bench's::

    python -m bench.shadow_load PORT RATE DURATION    # prints the figures as JSON
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

from bench.harness import pinned
from bench.shadow_servers import PATH

__all__ = ["open_loop", "run_open_loop"]

REPOSITORY = Path(__file__).resolve().parents[1]


def open_loop(port: int, rate: float, duration: float) -> dict[str, float]:
    """Fixed-schedule load from CPU 1 in a child process; latency percentiles in ms."""
    argv = pinned(
        "1", [sys.executable, "-m", "bench.shadow_load", str(port), str(rate), str(duration)]
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


if __name__ == "__main__":
    port, rate, duration = sys.argv[1:4]
    print(json.dumps(run_open_loop(int(port), float(rate), float(duration))))
