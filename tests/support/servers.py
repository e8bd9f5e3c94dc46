"""Start real servers on 127.0.0.1 for integration tests and wait for them without sleeping blindly."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import IO

import httpx


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(
    url: str,
    timeout: float = 20.0,
    proc: subprocess.Popen[bytes] | None = None,
    log: IO[bytes] | None = None,
) -> None:
    """Poll ``url`` until it answers (any status) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = ""
            if log is not None:
                log.seek(0)
                out = log.read().decode(errors="replace")
            raise RuntimeError(
                f"server exited with {proc.returncode} before {url} answered:\n{out}"
            )
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError as exc:
            last = exc
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


@contextlib.contextmanager
def run_process(
    argv: Sequence[str],
    ready_url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` (a server) until the block ends; it must answer ``ready_url`` first.

    Output goes to a temporary file, not a pipe: a pipe nobody reads fills up (64 KiB) and then
    blocks the server on its next log line.
    """
    full_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(list(argv), env=full_env, stdout=log, stderr=subprocess.STDOUT)
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


def python_argv(*args: str) -> list[str]:
    """argv that runs ``python -m ...`` with the interpreter running the tests."""
    return [sys.executable, *args]
