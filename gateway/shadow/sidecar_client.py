"""The gateway's end of the shadow sidecar: a response tap that hands exchanges to another process.

On the gateway's loop a sampled exchange costs one list append; once per loop iteration the batch is
pickled and written to the sidecar (``sidecar.py``) in one frame. When the sidecar is down or its
socket buffer holds more than ``handoff_limit_bytes`` the batch is dropped and counted in
``cutover_shadow_handoff_dropped_total{route}`` — the data path never waits for shadow work.

The sidecar's own metric families arrive every ``publish_interval_s`` and are exposed on the
gateway's ``/metrics`` as they are (:class:`_SidecarFamilies`); its outcome counts are replayed into
the migration metrics observers; the admin views (``/shadow``) are answered by the sidecar over the
same socket. A sidecar that dies is logged, counted (``cutover_shadow_sidecar_restarts_total``) and
started again after ``restart_delay_s`` with the routes' current rates; its in-memory evidence starts
from zero (Prometheus sees a counter reset), the gateway's traffic is not affected.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.observer import Exchange
from gateway.shadow.admin import AdminReply
from gateway.shadow.config import ShadowConfigError
from gateway.shadow.policy import wants_bodies
from gateway.shadow.sidecar_wire import (
    ExchangeTuple,
    FrameReader,
    Kind,
    Publication,
    SidecarSpec,
    encode,
)

log = structlog.get_logger("gateway.shadow")


def _log_format() -> str:
    """``console`` when this process renders logs for a terminal, else ``json``: the sidecar matches."""
    processors = structlog.get_config().get("processors") or [None]
    return "console" if isinstance(processors[-1], structlog.dev.ConsoleRenderer) else "json"


class SidecarUnavailable(Exception):
    """The sidecar is not running (starting, restarting or closed) or did not answer in time."""


class _SidecarFamilies:
    """A registry collector that yields the metric families the sidecar last published."""

    def __init__(self) -> None:
        self.families: list[Any] = []

    def describe(self) -> list[Any]:
        return []  # names are the sidecar's; nothing here can clash at registration

    def collect(self) -> Iterator[Any]:
        return iter(self.families)


class _GatewayEnd(asyncio.Protocol):
    def __init__(self, owner: ShadowSidecar) -> None:
        self._owner = owner
        self._reader = FrameReader()

    def data_received(self, data: bytes) -> None:
        for kind, payload in self._reader.feed(data):
            self._owner._received(kind, payload)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner._lost()


class ShadowSidecar:
    """``ResponseTap`` + async admin views over a sidecar process running the shadow service."""

    def __init__(
        self,
        spec: SidecarSpec,
        registry: CollectorRegistry,
        *,
        observers: Sequence[Any] = (),
        handoff_limit_bytes: int = 16 << 20,
        restart_delay_s: float = 1.0,
        ready_timeout_s: float = 30.0,
        call_timeout_s: float = 10.0,
    ) -> None:
        self._spec = spec
        self._routes = dict(spec.routes)
        self._check_all = spec.settings.check_primaries and spec.contract is not None
        self._observers = tuple(observers)
        self._limit = handoff_limit_bytes
        self._restart_delay_s = restart_delay_s
        self._ready_timeout_s = ready_timeout_s
        self._call_timeout_s = call_timeout_s
        self._pending: list[ExchangeTuple] = []
        self._flush_handle: asyncio.Handle | None = None
        self._transport: asyncio.Transport | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._ready: asyncio.Future[str | None] | None = None
        self._calls: dict[int, asyncio.Future[AdminReply]] = {}
        self._ids = itertools.count(1)
        self._closing = False
        self._restart: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._families = _SidecarFamilies()
        registry.register(self._families)
        self._dropped = Counter(
            "cutover_shadow_handoff_dropped_total",
            "Exchanges the gateway could not hand to the shadow sidecar (down or its buffer full).",
            ("route",),
            registry=registry,
        )
        self._up = Gauge(
            "cutover_shadow_sidecar_up", "1 while the shadow sidecar runs.", registry=registry
        )
        self._registry = registry
        self._restarts = Counter(
            "cutover_shadow_sidecar_restarts_total",
            "Times the shadow sidecar died and was started again.",
            registry=registry,
        )

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def restarts(self) -> int:
        """How often the sidecar died and was started again (``cutover_shadow_sidecar_restarts_total``)."""
        value = self._registry.get_sample_value("cutover_shadow_sidecar_restarts_total")
        return int(value or 0)

    @property
    def pid(self) -> int | None:
        """The running sidecar's process id."""
        return self._process.pid if self._process is not None and self._transport else None

    async def open(self) -> None:
        """Start the sidecar and wait until it has built its service (ShadowConfigError if not)."""
        self._loop = asyncio.get_running_loop()
        self._closing = False
        await self._spawn()

    async def _spawn(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            argv = [sys.executable, "-m", "gateway.shadow.sidecar", str(theirs.fileno())]
            argv += [self._spec.settings.process_priority, _log_format()]
            self._process = await asyncio.create_subprocess_exec(
                *argv, pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL
            )
        finally:
            theirs.close()
        self._ready = loop.create_future()
        transport, _ = await loop.create_unix_connection(lambda: _GatewayEnd(self), sock=ours)
        transport.write(encode(Kind.SPEC, replace(self._spec, routes=dict(self._routes))))
        try:
            error = await asyncio.wait_for(self._ready, self._ready_timeout_s)
        except (TimeoutError, ConnectionError) as exc:
            transport.close()
            await self._reap(kill=True)
            raise SidecarUnavailable(f"shadow sidecar did not start: {exc}") from None
        if error is not None:
            transport.close()
            await self._reap(kill=False)
            raise ShadowConfigError(error)
        self._transport = transport
        self._up.set(1)
        log.info("shadow_sidecar_started", pid=self._process.pid)

    async def close(self) -> None:
        """Stop the sidecar (it exits when its socket closes); queued shadows are discarded."""
        self._closing = True
        if self._restart is not None:
            self._restart.cancel()
        if self._transport is not None:
            self._transport.close()
        await self._reap(kill=False)

    async def _reap(self, kill: bool, wait_s: float = 5.0) -> None:
        process = self._process
        if process is None:
            return
        if kill and process.returncode is None:
            process.kill()
        try:
            await asyncio.wait_for(process.wait(), wait_s)
        except TimeoutError:
            process.kill()
            await process.wait()

    def _lost(self) -> None:
        was_up = self._transport is not None
        self._transport = None
        self._up.set(0)
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(ConnectionError("the sidecar exited before it was ready"))
        for future in self._calls.values():
            if not future.done():
                future.set_exception(SidecarUnavailable("the shadow sidecar exited"))
        self._calls.clear()
        if was_up and not self._closing and self._loop is not None:
            code = self._process.returncode if self._process is not None else None
            log.error("shadow_sidecar_exited", returncode=code, restart_in_s=self._restart_delay_s)
            self._restarts.inc()
            self._restart = self._loop.create_task(self._restart_later())

    async def _restart_later(self) -> None:
        await self._reap(kill=True, wait_s=1.0)
        while not self._closing:
            await asyncio.sleep(self._restart_delay_s)
            try:
                await self._spawn()
                return
            except Exception as exc:  # keep trying; the data path does not depend on it
                log.error("shadow_sidecar_restart_failed", error=str(exc))

    # -- the ResponseTap seam (hot path) ------------------------------------------------------

    def wants(self, route: str, method: str) -> bool:
        """Ask the gateway to buffer bodies only where a shadow or a contract check may follow."""
        return wants_bodies(self._routes, self._check_all, route, method)

    def on_response(self, exchange: Exchange) -> None:
        """Queue the exchange for the next batch to the sidecar (one append; never awaits)."""
        if self._transport is None or self._loop is None:  # not open, restarting or closed
            self._dropped.labels(exchange.route).inc()
            return
        self._pending.append(exchange.as_tuple())
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        batch, self._pending = self._pending, []
        transport = self._transport
        if (
            transport is None
            or transport.is_closing()
            or transport.get_write_buffer_size() > self._limit
        ):
            for item in batch:
                self._dropped.labels(item[0]).inc()
            return
        transport.write(encode(Kind.EXCHANGES, batch))

    # -- from the sidecar -----------------------------------------------------------------------

    def _received(self, kind: Kind, payload: Any) -> None:
        if kind is Kind.PUBLISH:
            self._publication(payload)
        elif kind is Kind.REPLY:
            call_id, status, body = payload
            future = self._calls.pop(call_id, None)
            if future is not None and not future.done():
                future.set_result(AdminReply(status, body))
        elif kind is Kind.READY and self._ready is not None and not self._ready.done():
            self._ready.set_result(payload)

    def _publication(self, publication: Publication) -> None:
        self._families.families = publication.families
        for observer in self._observers:
            if hasattr(observer, "observe_shadow"):
                for (route, mismatched), count in publication.shadows.items():
                    for _ in range(count):
                        observer.observe_shadow(route, mismatched)
            if hasattr(observer, "observe_contract"):
                for (route, backend, violated), count in publication.contracts.items():
                    for _ in range(count):
                        observer.observe_contract(route, backend, violated)

    # -- calls: the admin views and drain -------------------------------------------------------

    async def call(self, name: str, *args: Any) -> AdminReply:
        """Ask the sidecar (SidecarUnavailable when it is down or does not answer in time)."""
        transport = self._transport
        if transport is None or self._loop is None:
            raise SidecarUnavailable("the shadow sidecar is not running")
        if self._flush_handle is not None:  # exchanges handed over before this call come first
            self._flush_handle.cancel()
            self._flush()
        call_id = next(self._ids)
        future: asyncio.Future[AdminReply] = self._loop.create_future()
        self._calls[call_id] = future
        transport.write(encode(Kind.CALL, (call_id, name, args)))
        try:
            return await asyncio.wait_for(future, self._call_timeout_s)
        except TimeoutError:
            raise SidecarUnavailable(f"the shadow sidecar did not answer {name!r}") from None
        finally:
            self._calls.pop(call_id, None)

    async def _admin(self, name: str, *args: Any) -> AdminReply:
        try:
            return await self.call(name, *args)
        except SidecarUnavailable as exc:
            return AdminReply(503, {"error": "shadow_sidecar_unavailable", "detail": str(exc)})

    async def summary(self) -> AdminReply:
        """``GET /shadow``, with the sidecar's state added under ``sidecar``."""
        reply = await self._admin("summary")
        if reply.status == 200:
            reply.body["sidecar"] = {
                "pid": self.pid,
                "priority": self._spec.settings.process_priority,
                "cpus": self._cpus(),
                "restarts": self.restarts,
                "buffered_bytes": (
                    self._transport.get_write_buffer_size() if self._transport else 0
                ),
            }
        return reply

    def _cpus(self) -> list[int] | None:
        pid = self.pid
        try:
            return sorted(os.sched_getaffinity(pid)) if pid is not None else None
        except (AttributeError, OSError):  # not Linux, or it exited just now
            return None

    async def detail(self, route: str) -> AdminReply:
        """``GET /shadow/{route}``."""
        return await self._admin("detail", route)

    async def set_rate(self, route: str, body: bytes) -> AdminReply:
        """``PUT /shadow/{route}/rate``: the sidecar validates and applies it, then so do we."""
        reply = await self._admin("set_rate", route, body)
        if reply.status == 200:
            self._routes[route] = self._routes[route].with_percent(reply.body["percent"])
        return reply

    async def drain(self) -> None:
        """Wait until the sidecar has finished everything handed over so far (tests, benchmarks)."""
        await self.call("drain")
