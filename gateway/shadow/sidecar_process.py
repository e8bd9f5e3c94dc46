"""Supervision of the shadow sidecar process: spawn it, wait until it is ready, reap it, restart it.

The gateway and the sidecar talk over a socketpair the gateway creates; the child inherits its end
as a file descriptor (``python -m gateway.shadow.sidecar FD PRIORITY LOG_FORMAT``). The first frame
is the :class:`~gateway.shadow.sidecar_wire.SidecarSpec`; the child answers ``READY`` (``None``, or
the error that stopped its start-up, raised here as :class:`ShadowConfigError`). Every other frame
goes to the owner's ``frames`` callback; this module reads no payload but ``READY``'s.

A sidecar that dies once up is logged, counted (``cutover_shadow_sidecar_restarts_total``) and
started again after ``restart_delay_s`` from the owner's *current* spec (rates changed at run time
survive). The data path never waits for any of it: while the sidecar is down ``transport`` is None
and the owner drops what it would have handed over.

The child is started by a ``launch`` function (default :func:`launch_sidecar`), so tests can run a
fake sidecar end on the same loop and supervise it without a process.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.shadow.config import ShadowConfigError
from gateway.shadow.sidecar_wire import FrameReader, Kind, SidecarSpec, encode

__all__ = [
    "Child",
    "Launch",
    "SidecarProcess",
    "SidecarUnavailable",
    "launch_sidecar",
    "log_format",
]

log = structlog.get_logger("gateway.shadow")


class SidecarUnavailable(Exception):
    """The sidecar is not running (starting, restarting or closed) or did not answer in time."""


class Child(Protocol):
    """What supervision needs of a started child (``asyncio.subprocess.Process`` is one)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    def kill(self) -> None: ...

    async def wait(self) -> int: ...


Launch = Callable[[socket.socket, str], Awaitable[Child]]
"""Start a sidecar on its end of the socketpair at a ``shadow.process_priority``; the caller closes
its copy of that end once this returns."""


def log_format() -> str:
    """``console`` when this process renders logs for a terminal, else
    ``json``: the sidecar matches."""
    processors = structlog.get_config().get("processors") or [None]
    return "console" if isinstance(processors[-1], structlog.dev.ConsoleRenderer) else "json"


async def launch_sidecar(theirs: socket.socket, priority: str) -> Child:
    """``python -m gateway.shadow.sidecar`` with ``theirs`` inherited;
    stdin closed, output shared."""
    argv = [sys.executable, "-m", "gateway.shadow.sidecar", str(theirs.fileno())]
    argv += [priority, log_format()]
    return await asyncio.create_subprocess_exec(
        *argv, pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL
    )


class _Connection(asyncio.Protocol):
    """The gateway's end of the socketpair: frames in, loss reported."""

    def __init__(self, frames: Callable[[Kind, Any], None], lost: Callable[[], None]) -> None:
        self._frames = frames
        self._lost = lost
        self._reader = FrameReader()

    def data_received(self, data: bytes) -> None:
        for kind, payload in self._reader.feed(data):
            self._frames(kind, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost()


class SidecarProcess:
    """One supervised sidecar: ``start``/``stop``, its ``pid`` and ``transport`` while it runs.

    ``on_up(transport)`` is called each time a sidecar is ready, ``on_down()`` each time the
    connection to one is lost (before a restart is planned); ``frames(kind, payload)`` receives
    every frame but ``READY``.
    """

    def __init__(
        self,
        spec: Callable[[], SidecarSpec],
        frames: Callable[[Kind, Any], None],
        registry: CollectorRegistry,
        *,
        on_up: Callable[[asyncio.Transport], None],
        on_down: Callable[[], None],
        restart_delay_s: float = 1.0,
        ready_timeout_s: float = 30.0,
        launch: Launch = launch_sidecar,
    ) -> None:
        self._spec = spec
        self._frames = frames
        self._on_up = on_up
        self._on_down = on_down
        self._restart_delay_s = restart_delay_s
        self._ready_timeout_s = ready_timeout_s
        self._launch = launch
        self._child: Child | None = None
        self._transport: asyncio.Transport | None = None
        self._ready: asyncio.Future[str | None] | None = None
        self._closing = False
        self._restart: asyncio.Task[None] | None = None
        self._registry = registry
        self._up = Gauge(
            "cutover_shadow_sidecar_up", "1 while the shadow sidecar runs.", registry=registry
        )
        self._restarts = Counter(
            "cutover_shadow_sidecar_restarts_total",
            "Times the shadow sidecar died and was started again.",
            registry=registry,
        )

    @property
    def restarts(self) -> int:
        """How often the sidecar died and was started again
        (``cutover_shadow_sidecar_restarts_total``)."""
        value = self._registry.get_sample_value("cutover_shadow_sidecar_restarts_total")
        return int(value or 0)

    @property
    def pid(self) -> int | None:
        """The running sidecar's process id (None while it starts, restarts or after ``stop``)."""
        return self._child.pid if self._child is not None and self._transport else None

    @property
    def transport(self) -> asyncio.Transport | None:
        """The connection to the running sidecar, or None."""
        return self._transport

    async def start(self) -> None:
        """Start the sidecar and wait until it has built its service (ShadowConfigError if not)."""
        self._closing = False
        await self._spawn()

    async def stop(self) -> None:
        """Close the connection (the sidecar exits when its socket closes) and reap the child."""
        self._closing = True
        if self._restart is not None:
            self._restart.cancel()
        if self._transport is not None:
            self._transport.close()
        await self._reap(kill=False)

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        spec = self._spec()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._child = await self._launch(theirs, spec.settings.process_priority)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._ready = loop.create_future()
        transport, _ = await loop.create_unix_connection(
            lambda: _Connection(self._frame, self._lost), sock=ours
        )
        transport.write(encode(Kind.SPEC, spec))
        try:
            error = await asyncio.wait_for(self._ready, self._ready_timeout_s)
        except (TimeoutError, ConnectionError) as exc:
            transport.close()
            await self._reap(kill=True)
            raise SidecarUnavailable(f"shadow sidecar did not start: {exc}") from None
        except asyncio.CancelledError:  # stopped while (re)starting: the child exits on close
            transport.close()
            raise
        if error is not None:
            transport.close()
            await self._reap(kill=False)
            raise ShadowConfigError(error)
        self._transport = transport
        self._up.set(1)
        self._on_up(transport)
        log.info("shadow_sidecar_started", pid=self._child.pid)

    def _frame(self, kind: Kind, payload: Any) -> None:
        if kind is not Kind.READY:
            self._frames(kind, payload)
        elif self._ready is not None and not self._ready.done():
            self._ready.set_result(payload)

    async def _reap(self, kill: bool, wait_s: float = 5.0) -> None:
        child = self._child
        if child is None:
            return
        if kill and child.returncode is None:
            child.kill()
        try:
            await asyncio.wait_for(child.wait(), wait_s)
        except TimeoutError:
            child.kill()
            await child.wait()

    def _lost(self) -> None:
        was_up = self._transport is not None
        self._transport = None
        self._up.set(0)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(ConnectionError("the sidecar exited before it was ready"))
        self._on_down()
        if was_up and not self._closing:
            code = self._child.returncode if self._child is not None else None
            log.error("shadow_sidecar_exited", returncode=code, restart_in_s=self._restart_delay_s)
            self._restarts.inc()
            self._restart = asyncio.get_running_loop().create_task(
                self._restart_later(), name="shadow-sidecar-restart"
            )

    async def _restart_later(self) -> None:
        await self._reap(kill=True, wait_s=1.0)
        while not self._closing:
            await asyncio.sleep(self._restart_delay_s)
            try:
                await self._spawn()
                return
            except Exception as exc:  # keep trying; the data path does not depend on it
                log.error("shadow_sidecar_restart_failed", error=str(exc))
