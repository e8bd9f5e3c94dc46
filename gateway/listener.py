"""The connections of one listening socket: accept, admission, and the one sweep that times them.

A :class:`Listener` makes one :class:`gateway.connection.HttpConnection` per accepted socket
(``protocol`` is the factory for ``loop.create_server``), refuses those beyond
``ClientLimits.max_connections`` (answered 503 with ``Retry-After`` at once rather than left
unanswered in the kernel backlog; measured in the README), and counts what its clients did wrong
through :class:`gateway.client_limits.ClientEvents`. A connection reaches its listener only through
:class:`gateway.request_cycle.ConnectionOwner`, so this module imports the connection and not the
other way round.

Slow clients: one sweep per listener, every ``limits.tick_s`` (≤ 1 s) while it has connections —
not a timer per request or chunk. Each pass is O(open connections), which is why it runs at most a
few times a second and why nothing per request reads the clock; the connection keeps the marks and
:mod:`gateway.client_timeouts` decides.
"""

from __future__ import annotations

import asyncio

from gateway.client_limits import ClientEvents, ClientLimits
from gateway.connection import HttpConnection
from gateway.request import Dispatch
from gateway.request_cycle import RequestCycle


class Listener:
    """The connections of one listening socket, their limits, and the one sweep that times them."""

    def __init__(
        self,
        name: str,
        dispatch: Dispatch,
        limits: ClientLimits | None = None,
        events: ClientEvents | None = None,
    ) -> None:
        self.name = name
        self.dispatch = dispatch
        self.limits = limits if limits is not None else ClientLimits()
        self.events = events
        self.connections: set[RequestCycle] = set()
        self.tick_s = self.limits.tick_s
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def protocol(self) -> HttpConnection:
        """A protocol for one new connection."""
        return HttpConnection(self)

    def admit(self, conn: RequestCycle) -> bool:
        """Track a new connection; False when ``max_connections`` are already open."""
        cap = self.limits.max_connections
        if cap is not None and len(self.connections) >= cap:
            if self.events is not None:
                self.events.connection_refused(self.name)
            return False
        self.connections.add(conn)
        if self._sweeper is None:
            self._loop = conn.loop
            self._sweeper = conn.loop.call_later(self.tick_s, self._sweep)
        return True

    def release(self, conn: RequestCycle) -> None:
        """Forget a connection that is gone."""
        self.connections.discard(conn)

    def _sweep(self) -> None:
        self._sweeper = None
        if not self.connections or self._loop is None:
            return
        now = self._loop.time()
        for conn in list(self.connections):
            conn.check_timeouts(now, self.tick_s)
        if self.connections:
            self._sweeper = self._loop.call_later(self.tick_s, self._sweep)

    def timed_out(self, phase: str) -> None:
        """Count a client closed for slowness."""
        if self.events is not None:
            self.events.client_timeout(self.name, phase)

    def rejected(self, reason: str) -> None:
        """Count a request refused for its framing."""
        if self.events is not None:
            self.events.request_rejected(self.name, reason)

    def close(self) -> None:
        """Abort every connection (lingering ones too) and stop the sweep."""
        for conn in list(self.connections):
            conn.abort()
            if conn.transport is not None:
                conn.transport.abort()  # one answered and draining has ``closed`` set already
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
