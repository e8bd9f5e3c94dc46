"""What the bench suites (and the tests' real servers) share: free ports, CPU pinning,
servers as child processes, and wrk. ``tests/support/servers.py`` re-exports the
server helpers: one implementation.

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
    url: str,
    timeout: float = 20.0,
    proc: subprocess.Popen[bytes] | None = None,
    log: IO[bytes] | None = None,
) -> None:
    """Poll ``url`` until it answers (any status); fail early, with the server's output, if ``proc``
    exits first, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = ""
            if log is not None:
                log.seek(0)
                tail = log.read()[-4000:].decode(errors="replace")
            raise RuntimeError(
                f"{proc.args!r} exited with {proc.returncode} before {url} answered:\n{tail}"
            )
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError as exc:
            last = exc
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


@contextmanager
def process(
    argv: Sequence[str],
    ready_url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    cwd: str | os.PathLike[str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` (a server) until the block ends; it must answer ``ready_url`` first.

    Output goes to a temporary file, not a pipe: a pipe nobody reads fills up (64 KiB) and then
    blocks the server on its next log line. On the way out: SIGTERM, 10 s, then SIGKILL.
    """
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            list(argv),
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http(ready_url, timeout=timeout, proc=proc, log=log)
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
