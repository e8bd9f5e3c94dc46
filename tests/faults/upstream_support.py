"""A real upstream process for the proxy's fault matrix, and the signals that break it.

``python -m tests.faults.upstream_support NAME PORT MODE [FAULT]`` serves HTTP/1.1 keep-alive on
127.0.0.1:PORT with one behaviour for every request, whatever its path (with FAULT, MODE until
``SIGUSR1`` switches it to FAULT, so a fault starts at one known instant):

``ok``       200 with a small JSON body naming the upstream
``slow:MS``  the same after MS milliseconds
``5xx``      503 with a JSON body
``cut``      a head announcing 1000 bytes, 100 of them, then a reset (fails mid-body)

A separate process, not a coroutine in the test's loop, so that ``kill -9`` and ``SIGSTOP`` do to
it what they do to a real backend: a killed process's sockets are closed by the kernel (refused
connects from then on), a stopped one's kernel keeps completing handshakes into the listen backlog
and buffering requests that nobody reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

from tests.support.servers import free_port


@dataclass
class UpstreamProcess:
    """A running upstream process and what has been done to it."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    stopped: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        """``kill -9`` and reap: from now on connects are refused."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """``kill -STOP``: the process hangs, its kernel still accepts connections."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.stopped = True


@contextlib.contextmanager
def upstream_process(
    name: str, mode: str = "ok", timeout: float = 10.0, then: str | None = None
) -> Iterator[UpstreamProcess]:
    """Run one upstream until the block ends; a stopped one is continued before it is killed.

    ``then``: the mode ``SIGUSR1`` switches it to (:func:`switch`).
    """
    port = free_port()
    argv = [sys.executable, "-m", "tests.faults.upstream_support", name, str(port), mode]
    argv += [] if then is None else [then]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    up = UpstreamProcess(name, port, proc)
    try:
        _wait_listening(up, timeout)
        yield up
    finally:
        if proc.poll() is None:
            if up.stopped:
                os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        proc.wait(timeout=10)


def switch(up: UpstreamProcess) -> None:
    """Turn a running upstream started with ``then`` to that mode (``SIGUSR1``)."""
    os.kill(up.proc.pid, signal.SIGUSR1)


def _wait_listening(up: UpstreamProcess, timeout: float) -> None:
    """Poll until the port accepts a TCP connection (the mode may not answer HTTP properly)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if up.proc.poll() is not None:
            raise RuntimeError(f"upstream {up.name} exited with {up.proc.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", up.port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"upstream {up.name} did not listen on {up.port} within {timeout}s")


# --------------------------------------------------------------------------- the server process


async def _serve(name: str, port: int, first: str, then: str | None) -> None:
    mode = [first]
    if then is not None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, mode.__setitem__, 0, then)
    body = json.dumps({"backend": name}).encode()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    key, _, value = line.partition(b":")
                    if key.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                now = mode[0]
                if now.startswith("slow:"):
                    await asyncio.sleep(int(now[5:]) / 1000)
                if now == "cut":
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n" + b"x" * 100)
                    await writer.drain()
                    writer.transport.abort()
                    return
                status = b"503 Service Unavailable" if now == "5xx" else b"200 OK"
                writer.write(
                    b"HTTP/1.1 %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                    % (status, len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", port, backlog=128)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    then = sys.argv[4] if len(sys.argv) > 4 else None
    asyncio.run(_serve(sys.argv[1], int(sys.argv[2]), sys.argv[3], then))
