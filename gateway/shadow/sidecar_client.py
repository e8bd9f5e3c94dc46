"""The gateway's end of the shadow sidecar: a response tap that hands exchanges to another process.

:class:`ShadowSidecar` composes four parts, one concept each, and holds what they share (the routes'
current rates):

- ``sidecar_process.py`` — supervision: spawn, wait for ``READY``, reap, restart after a crash;
- ``sidecar_handoff.py`` — the hot path: exchanges batched into one frame per loop pass, dropped
  and counted while the sidecar is down or its buffer is full;
- ``sidecar_calls.py`` — calls and their replies (the admin views, ``drain``);
- ``sidecar_publications.py`` — the sidecar's metric families on the gateway's ``/metrics`` and
  its outcome counts replayed into the migration metrics observers.

A sidecar that dies is restarted with the routes' current rates; its in-memory evidence starts
from zero (Prometheus sees a counter reset), the gateway's traffic is not affected.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from prometheus_client import CollectorRegistry

from gateway.observer import Exchange
from gateway.shadow.admin import AdminReply
from gateway.shadow.policy import wants_bodies
from gateway.shadow.sidecar_calls import Calls
from gateway.shadow.sidecar_handoff import Handoff
from gateway.shadow.sidecar_process import (
    Launch,
    SidecarProcess,
    SidecarUnavailable,
    launch_sidecar,
)
from gateway.shadow.sidecar_publications import Publications
from gateway.shadow.sidecar_wire import Kind, SidecarSpec

__all__ = ["ShadowSidecar", "SidecarUnavailable"]


class ShadowSidecar:
    """``ResponseTap`` + async admin views over a sidecar process running the shadow service."""

    on_response: Callable[[Exchange], None]
    """Queue the exchange for the next batch to the sidecar (one append; never awaits).

    The hand-off's own bound method, not a method that forwards to it: the gateway calls it once
    per tapped exchange, and a forwarding call would be the only cost added on that path."""

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
        launch: Launch = launch_sidecar,
    ) -> None:
        self._spec = spec
        self._routes = dict(spec.routes)
        self._check_all = spec.settings.check_primaries and spec.contract is not None
        self._handoff = Handoff(registry, handoff_limit_bytes)
        self.on_response = self._handoff.on_response
        self._calls = Calls(call_timeout_s)
        self._publications = Publications(registry, observers)
        self._process = SidecarProcess(
            self._current_spec,
            self._received,
            registry,
            on_up=self._handoff.attach,
            on_down=self._down,
            restart_delay_s=restart_delay_s,
            ready_timeout_s=ready_timeout_s,
            launch=launch,
        )

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def restarts(self) -> int:
        """How often the sidecar died and was started again
        (``cutover_shadow_sidecar_restarts_total``)."""
        return self._process.restarts

    @property
    def pid(self) -> int | None:
        """The running sidecar's process id."""
        return self._process.pid

    async def open(self) -> None:
        """Start the sidecar and wait until it has built its service (ShadowConfigError if not)."""
        await self._process.start()

    async def close(self) -> None:
        """Stop the sidecar (it exits when its socket closes); queued shadows are discarded."""
        await self._process.stop()

    def _current_spec(self) -> SidecarSpec:
        return replace(self._spec, routes=dict(self._routes))

    def _down(self) -> None:
        self._handoff.detach()
        self._calls.fail_all("the shadow sidecar exited")

    def _received(self, kind: Kind, payload: Any) -> None:
        if kind is Kind.PUBLISH:
            self._publications.received(payload)
        elif kind is Kind.REPLY:
            self._calls.reply(*payload)

    # -- the ResponseTap seam -------------------------------------------------------------------

    def wants(self, route: str, method: str) -> bool:
        """Ask the gateway to buffer bodies only where a shadow or a contract check may follow."""
        return wants_bodies(self._routes, self._check_all, route, method)

    # -- calls: the admin views and drain -------------------------------------------------------

    async def call(self, name: str, *args: Any) -> AdminReply:
        """Ask the sidecar (SidecarUnavailable when it is down or does not answer in time)."""
        transport = self._process.transport
        if transport is None:
            raise SidecarUnavailable("the shadow sidecar is not running")
        self._handoff.flush()  # exchanges handed over before this call come first
        return await self._calls.call(transport.write, name, *args)

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
                "buffered_bytes": self._handoff.buffered_bytes,
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
