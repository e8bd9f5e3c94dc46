"""What the bench suites share: free ports, CPU pinning, servers as child processes, and wrk.

Servers write their output to a temporary file rather than a pipe: a pipe nobody reads fills at
64 KiB and then blocks the server mid-measurement. The file's tail goes into the error when a
server dies before it answers.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import IO

import httpx

from migration.cli.processes import free_port

__all__ = ["free_port", "pinned", "process", "wait_http", "wrk"]


def pinned(cpu: str, argv: list[str]) -> list[str]:
    """``argv`` run on the given CPU with taskset, when the machine has two cores or more."""
    return ["taskset", "-c", cpu, *argv] if (os.cpu_count() or 1) >= 2 else argv


def wait_http(
    url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0, log: IO[bytes] | None = None
) -> None:
    """Poll ``url`` until it answers; fail early, with the server's output, if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = ""
            if log is not None:
                log.seek(0)
                tail = log.read()[-2000:].decode(errors="replace")
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}\n{tail}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def process(
    argv: list[str], ready_url: str, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the block ends; it must answer ``ready_url`` first."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_http(ready_url, proc, log=log)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wrk(
    url: str, connections: int, duration: float, headers: Sequence[str] = ()
) -> dict[str, float]:
    """Closed-loop load from CPU 1: requests/s, request count, p50 (ms) and non-2xx answers."""
    extra = [arg for header in headers for arg in ("-H", header)]
    argv = pinned(
        "1",
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--latency",
            *extra,
            url,
        ],
    )
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk {url} failed: {done.stderr.strip() or done.stdout.strip()}")
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    if rps is None or count is None:
        raise RuntimeError(f"cannot read wrk output: {out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": float(rps.group(1)),
        "requests": int(count.group(1)),
        "p50_ms": float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }
