"""Run the two llmstruct backends as child processes and wait until they answer.

`cutover up` and `cutover demo` use this: the backends are real servers on loopback ports, each its
own process (so each has its own RSS for the MigrationReport), stopped together when the stack
stops.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

HEALTH_PATH = "/api/v1/system/health"


@dataclass(frozen=True)
class BackendSpec:
    """One backend to run: which stack, where it listens, and its LLMSTRUCT_* environment."""

    name: str  # "fastapi" or "custom"
    host: str
    port: int
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def argv(self) -> list[str]:
        module = {"fastapi": "fastapi_backend", "custom": "custom_backend"}[self.name]
        return [sys.executable, "-m", module, "--host", self.host, "--port", str(self.port)]


#: The kernel's range for the local ports of outgoing connections ("low high").
EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Where :func:`free_port` picks from, up to the ephemeral range's start.
FIRST_PICKED = 20000
_given: set[int] = set()
_pick = random.Random()


def picking_range(ephemeral: Path = EPHEMERAL_RANGE) -> range | None:
    """The ports below the kernel's ephemeral range :func:`free_port` picks from (None: unknown,
    or fewer than 1,000 of them)."""
    try:
        low = int(ephemeral.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return range(FIRST_PICKED, low) if low - FIRST_PICKED >= 1000 else None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that was free a moment ago (the demo picks its ports this way).

    Picked below the kernel's ephemeral range when it can: a port from ``bind(0)`` is an ephemeral
    one, which any outgoing connection may take before the server that was handed it binds (a
    replica test lost that race: its port was the local end of another replica's connection to
    PostgreSQL by the time it started). A port is not handed out twice by one process.
    """
    ports = picking_range()
    if ports is not None and len(_given) > len(ports) // 2:
        _given.clear()  # those handed out long ago are bound by now, or done with
    for _ in range(100 if ports is not None else 0):
        assert ports is not None
        port = _pick.choice(ports)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _given.add(port)
        return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """Whether ``host:port`` cannot be bound now: something listens there (port 0 never is).

    ``SO_REUSEADDR`` as uvicorn and the gateway set it, so a port held only by connections in
    ``TIME_WAIT`` (a stack stopped a moment ago) counts as free, as it is for them.
    """
    if port == 0:
        return False
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class BackendFailedError(RuntimeError):
    """A backend exited or never became healthy; the message carries its output."""


class BackendProcesses:
    """Start several backends, wait for their health endpoints, stop them all."""

    def __init__(self, specs: list[BackendSpec], log_dir: Path | None = None) -> None:
        self.specs = specs
        self.log_dir = log_dir
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, Path] = {}

    def start(self) -> None:
        for spec in self.specs:
            env = {**os.environ, **spec.env}
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                log_path = self.log_dir / f"{spec.name}_backend.log"
                self._logs[spec.name] = log_path
                out = log_path.open("wb")
            else:
                out = None
            self._procs[spec.name] = subprocess.Popen(
                spec.argv(), env=env, stdout=out, stderr=subprocess.STDOUT
            )
            if out is not None:
                out.close()

    def pid(self, name: str) -> int:
        return self._procs[name].pid

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Block until every backend answers its health endpoint with 200."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0) as client:
            for spec in self.specs:
                proc = self._procs[spec.name]
                while True:
                    if proc.poll() is not None:
                        raise BackendFailedError(
                            f"{spec.name} backend exited with {proc.returncode}: "
                            f"{self._tail(spec.name)}"
                        )
                    try:
                        if client.get(spec.url + HEALTH_PATH).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise BackendFailedError(
                            f"{spec.name} backend did not become healthy at {spec.url} "
                            f"within {timeout:.0f}s: {self._tail(spec.name)}"
                        )
                    time.sleep(0.1)
        if dead := self.exited():  # a 200 from someone else's server on a port ours lost
            raise BackendFailedError("; ".join(dead))

    def exited(self) -> list[str]:
        """One line per backend that has exited (its code and the tail of its log); [] while all
        run.

        ``cutover up`` polls this while it serves: a backend that dies must stop the stack with
        exit 1 rather than leave a gateway in front of nothing (or of another stack's backends).
        """
        return [
            f"the {spec.name} backend ({spec.url}) exited with {proc.returncode}: "
            f"{self._tail(spec.name)}"
            for spec in self.specs
            if (proc := self._procs.get(spec.name)) is not None and proc.poll() is not None
        ]

    def stop(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()

    def _tail(self, name: str) -> str:
        path = self._logs.get(name)
        if path is None or not path.exists():
            return "(no log)"
        return path.read_text(errors="replace")[-2000:]

    def __enter__(self) -> BackendProcesses:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
