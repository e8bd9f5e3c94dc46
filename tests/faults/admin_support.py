"""A real ``python -m gateway`` process with its admin port, and tools to push bodies at it.

The process is the bare data plane (no controller), configured by a YAML file on free loopback
ports; its upstreams point at closed ports, which the admin port does not need. Memory is read from
``/proc/PID/status``: ``VmHWM`` is the peak resident set, reset to the current one by writing ``5``
to ``/proc/PID/clear_refs`` (Linux >= 4.0), so a test measures the peak of its own window only.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from tests.support.servers import free_port, wait_http

TOKEN = "fault-admin-token"
MIB = 1 << 20


@dataclass(frozen=True)
class GatewayProcess:
    """A running gateway: its pid and admin address."""

    proc: subprocess.Popen[bytes]
    admin_port: int

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def memory_kib(self, field: str) -> int:
        """``VmRSS`` or ``VmHWM`` of the process, in KiB."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise LookupError(field)

    def reset_peak(self) -> bool:
        """Reset ``VmHWM`` to the current RSS; False where the kernel does not allow it."""
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
        except OSError:
            return False
        return True


@contextlib.contextmanager
def gateway_process(**extra: object) -> Iterator[GatewayProcess]:
    """Run ``python -m gateway --config FILE`` on free loopback ports until the block ends."""
    admin_port = free_port()
    config: dict[str, object] = {
        "upstreams": {
            "baseline": {"url": f"http://127.0.0.1:{free_port()}"},
            "candidate": {"url": f"http://127.0.0.1:{free_port()}"},
        },
        "listeners": {
            "public": {"host": "127.0.0.1", "port": free_port()},
            "admin": {"host": "127.0.0.1", "port": admin_port},
        },
        "admin_token": TOKEN,
        **extra,
    }
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as log:
        path = Path(tmp) / "gateway.yaml"
        path.write_text(yaml.safe_dump(config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CUTOVER_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--config", str(path), "--log-format", "json"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_http(f"http://127.0.0.1:{admin_port}/healthz", timeout=30, proc=proc, log=log)
            yield GatewayProcess(proc, admin_port)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass(frozen=True)
class Push:
    """What happened to a pushed body: the status line received (if any) and bytes sent."""

    status: int | None
    sent: int


def push_chunked(
    port: int,
    method: str,
    path: str,
    total: int,
    *,
    headers: str = "",
    chunk: int = 256 * 1024,
    finish: bool = True,
    timeout: float = 30.0,
) -> Push:
    """Send ``total`` bytes as a chunked body, then read the answer (the server may hang up).

    The answer may arrive before the body is all sent (an early 401/413): it is read by a second
    thread while this one keeps sending and the server drains and drops the rest. A reset after
    the server's lingering close ends the push early; what was sent until then is counted.
    With ``finish=False`` the body is left open (no last chunk) and the answer must come anyway.
    """
    piece = b"%x\r\n" % chunk + b"x" * chunk + b"\r\n"
    sent = 0
    received: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:

        def reader() -> None:
            with contextlib.suppress(OSError):
                while part := sock.recv(65536):
                    received.append(part)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        sock.sendall(head.encode())
        with contextlib.suppress(OSError):
            while sent < total:
                sock.sendall(piece)
                sent += chunk
            if finish:
                sock.sendall(b"0\r\n\r\n")
        if finish:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        thread.join(timeout + 1)
    data = b"".join(received)
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
    return Push(status, sent)


def admin_get(gw: GatewayProcess, path: str) -> httpx.Response:
    """A plain admin call, to show the process still serves."""
    return httpx.get(gw.admin_url + path, timeout=5)


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.faults.admin_support [MIB]``: the README's
    RSS figure for the admin port."""
    import time

    mib = int((argv if argv is not None else sys.argv[1:] or ["400"])[0])
    cases = [
        ("GET", "/healthz", ""),
        ("PUT", "/routes/default/weight", ""),
        ("PUT", "/routes/default/weight", f"Authorization: Bearer {TOKEN}\r\n"),
    ]
    with gateway_process() as gw:
        for method, path, headers in cases:
            before = gw.memory_kib("VmRSS")
            if not gw.reset_peak():
                before = max(before, gw.memory_kib("VmHWM"))
            started = time.monotonic()
            push = push_chunked(gw.admin_port, method, path, mib * MIB, headers=headers)
            took = time.monotonic() - started
            peak = gw.memory_kib("VmHWM")
            print(
                f"{method} {path} token={'yes' if headers else 'no'}: status {push.status}, "
                f"sent {push.sent / MIB:.0f} MiB chunked in {took:.2f} s, RSS before "
                f"{before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
                f"(+{(peak - before) / 1024:.1f} MiB)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
