"""The gateway's own HTTP/1.1 client: one asyncio protocol per upstream
connection, a keep-alive pool.

Why not httpx or aiohttp: measured on this machine, forwarding through aiohttp's client reaches
about 0.21x nginx and httpx about 0.03x; the data path needs ~0.5x. A protocol object fed by the
event loop and parsed by httptools (llhttp) costs a few microseconds per response and lets the body
stream straight from the upstream socket into the client socket:
:meth:`UpstreamConnection.attach_sink` hands each chunk to the client writer as it arrives, and the
client's back-pressure pauses this socket's reading (bounded memory for any body size).

One exchange at a time per connection (no pipelining). Each exchange gets a fresh llhttp parser,
which is how a response to ``HEAD`` (headers only, whatever ``Content-Length`` says) is ended
cleanly. Timeouts: connect (``asyncio.timeout`` around the connect), read (silence while waiting for
response bytes, counted from the end of the request body) and total (whole exchange) are enforced
by one sweep per pool every :data:`TICK_S` while it has exchanges in flight — not a timer per
exchange or per chunk — so they hold to within 50 ms.

The same sweep enforces a second, shorter deadline on an exchange that may still fall back to the
other backend: the *head* deadline (``routes[].fallback_after_s``), checked only while no response
head has arrived. A hung upstream — stopped with SIGSTOP, its kernel still completing handshakes
and buffering requests — then costs the client ``fallback_after_s`` instead of the read timeout;
it is Envoy's ``per_try_timeout`` with ``retry_on: reset,connect-failure,5xx`` on an idempotent
route. Each exchange records its route and start time (:meth:`UpstreamConnection.begin`), so
:meth:`UpstreamPool.inflight` can report stuck attempts before any of them finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections.abc import Awaitable, Callable
from typing import ClassVar, cast

import httptools

from gateway.config import UpstreamConfig


class UpstreamError(Exception):
    """An attempt that failed below HTTP; ``kind`` is a metric label,
    ``status`` the client answer."""

    kind: ClassVar[str] = "protocol"
    status: ClassVar[int] = 502
    error: ClassVar[str] = "upstream_protocol_error"


class UpstreamConnectError(UpstreamError):
    """The upstream refused or could not be reached."""

    kind: ClassVar[str] = "connect"
    error: ClassVar[str] = "upstream_connect_error"


class UpstreamTimeout(UpstreamError):
    """Connect, read or total timeout."""

    kind: ClassVar[str] = "timeout"
    status: ClassVar[int] = 504
    error: ClassVar[str] = "upstream_timeout"


class UpstreamFallbackDeadline(UpstreamTimeout):
    """No response head within the route's fallback deadline: the request goes to the other backend.

    A timeout in every respect (504 recorded against the backend, a failure in the analysis); its
    own ``kind`` only tells an operator which of the two deadlines fired.
    """

    kind: ClassVar[str] = "fallback_deadline"
    error: ClassVar[str] = "upstream_fallback_deadline"


class UpstreamReset(UpstreamError):
    """The upstream closed the connection before the response was complete."""

    kind: ClassVar[str] = "reset"
    error: ClassVar[str] = "upstream_reset"


Sink = Callable[[bytes], None]
TICK_S = 0.05


class ResponseListener:
    """What drives an exchange by callbacks instead of awaiting its futures (the fast path's).

    A base class, not a Protocol: compiled by mypyc, a call through a native base class goes
    through its vtable, while a Protocol-typed call is a method lookup by name (~300 instructions,
    four per request). Declared here, beside its one caller, so that this module needs no import of
    the fast path (:class:`gateway.fastpath.FastExchange` subclasses it).
    """

    __slots__ = ()

    def on_head(self) -> None:
        """The response head arrived (status, reason, headers, framing are on the connection)."""
        raise NotImplementedError

    def flush(self) -> None:
        """One read of the upstream socket was parsed: write what it produced."""
        raise NotImplementedError

    def on_done(self) -> None:
        """The response is complete."""
        raise NotImplementedError

    def on_error(self, error: UpstreamError) -> None:
        """The exchange failed (the connection is closed already)."""
        raise NotImplementedError


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection to an upstream; state of the exchange in flight lives here.

    Slotted: the exchange state is over 30 attributes, past which CPython 3.11 stops sharing
    instance-dict keys and every attribute access becomes a dict lookup.
    """

    __slots__ = (
        "_deadline", "_done", "_drain", "_early", "_fed", "_fresh_parser", "_head", "_head_by",
        "_head_only", "_last", "_parser", "_sink", "_write_paused", "busy", "chunked", "closed",
        "complete", "content_length", "error", "got_bytes", "headers", "keep_alive", "listener",
        "loop", "on_close", "pool", "reason", "route", "sending", "started", "status", "transport",
        "tunnel", "until_close", "upgrade_tail", "write_flow",
    )  # fmt: skip

    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.busy = False
        self.tunnel: Sink | None = None
        # The fast path's exchange drives this connection by callbacks instead of awaiting futures.
        self.listener: ResponseListener | None = None
        self.on_close: Callable[[], None] | None = None
        self.write_flow: Callable[[bool], None] | None = None
        self._write_paused = False
        self._drain: asyncio.Future[None] | None = None
        self._fresh_parser = True
        self._deadline: float | None = None
        self._head_by = 0.0  # loop time by which the head must arrive; 0.0: no such deadline
        self._last = 0.0
        self.route = ""  # the exchange's route, for in-flight reports
        self.started = 0.0  # loop time the exchange began
        self._fed = False
        self._reset_exchange()

    def _reset_exchange(self) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.content_length: int | None = None
        self.chunked = False
        self.until_close = False
        self.keep_alive = False
        self.complete = False
        self.got_bytes = False
        self.sending = False
        self.error: UpstreamError | None = None
        self.upgrade_tail = b""
        self._sink: Sink | None = None
        self._early: list[bytes] = []
        self._head: asyncio.Future[None] | None = None
        self._done: asyncio.Future[None] | None = None

    # ----------------------------------------------------------------- exchange API

    def begin(
        self,
        head_only: bool,
        deadline: float | None,
        now: float | None = None,
        route: str = "",
        head_by: float = 0.0,
    ) -> None:
        """Prepare for one request/response; call before writing the request.

        ``now`` is the caller's reading of ``loop.time()`` when it has one (saves a clock read).
        ``head_by`` > 0 is a loop time by which the response head must have arrived, else the
        exchange fails with :class:`UpstreamFallbackDeadline`; ``route`` is kept for
        :meth:`UpstreamPool.inflight`.
        """
        self._reset_exchange()
        self.busy = True
        self.sending = True
        # llhttp parses consecutive responses on one connection, so the parser is reused; a
        # fresh one is needed after a HEAD (its body is skipped by us, not by llhttp).
        if head_only or self._fresh_parser:
            self._parser = httptools.HttpResponseParser(self)
        self._fresh_parser = head_only
        self._head_only = head_only
        self._deadline = deadline
        self._last = start = self.loop.time() if now is None else now
        self.started = start
        self.route = route
        self._head_by = head_by
        self.pool.watch(self)

    def open_for(self, route: str | None, awaiting_head: bool) -> bool:
        """This exchange is in flight (on ``route``, None: any; with no response head yet)."""
        if route is not None and self.route != route:
            return False
        return not (self.complete or self.error is not None or (awaiting_head and self.status))

    def write(self, data: bytes) -> None:
        """Send request bytes."""
        if self.transport is not None and not self.closed:
            self.transport.write(data)

    def request_sent(self, now: float | None = None) -> None:
        """The whole request is written: the read timeout starts counting now."""
        self.sending = False
        self._fed = False
        self._last = self.loop.time() if now is None else now

    async def drain(self) -> None:
        """Wait while the socket's write buffer is above its high-water mark."""
        if self._write_paused and not self.closed:
            self._drain = self.loop.create_future()
            await self._drain

    async def wait_head(self) -> None:
        """Wait for the response head; raises :class:`UpstreamError` on failure."""
        if self.status:
            return
        if self.error is not None:
            raise self.error
        self._head = self.loop.create_future()
        await self._head

    def take_early(self) -> list[bytes]:
        """Body chunks received with the head, before any sink was attached."""
        early, self._early = self._early, []
        return early

    def writelines(self, parts: list[bytes]) -> None:
        """Send several request byte strings without joining them."""
        if self.transport is not None and not self.closed:
            self.transport.writelines(parts)

    def attach_sink(self, sink: Sink) -> None:
        """Deliver body chunks to ``sink`` from now on (chunks already received first)."""
        early, self._early = self._early, []
        for chunk in early:
            sink(chunk)
        self._sink = sink

    async def wait_done(self) -> None:
        """Wait until the response body has been fully received (and delivered to the sink)."""
        if self.complete:
            return
        if self.error is not None:
            raise self.error
        self._done = self.loop.create_future()
        await self._done

    def finish(self) -> None:
        """End the exchange: back to the pool when reusable, else closed."""
        self.busy = False
        self.pool.active.discard(self)  # _unwatch(), inlined: runs per request
        if self.complete and self.keep_alive and not self.closed and self.error is None:
            self._sink = None
            self.pool.release(self)
        else:
            self.close()

    def close(self) -> None:
        """Close the connection now (abort: unsent data is dropped)."""
        self._unwatch()
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()

    # ----------------------------------------------------------------- protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(
            asyncio.Transport, transport
        )  # uvloop's TCPTransport is not a subclass

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel(data)
            return
        if not self.busy or self.complete:
            self.close()  # bytes nobody asked for: the connection is no longer trustworthy
            return
        self.got_bytes = True
        self._fed = True  # the sweep turns this into a timestamp: no clock read per chunk
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self.upgrade_tail = data[exc.args[0] :]
            self._complete()
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"malformed response: {exc}"))
        if self.listener is not None:
            self.listener.flush()

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # informational: wait for the final response
            self.headers, self.reason = [], b""
            return
        self.status = status
        self.keep_alive = bool(self._parser.should_keep_alive())
        for name, value in self.headers:
            if name == b"content-length":
                self.content_length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                self.chunked = True
        no_body = self._head_only or status in (101, 204, 304)
        if no_body:
            self.content_length = self.content_length if self._head_only else None
        elif self.chunked:
            self.content_length = None
        elif self.content_length is None:
            self.until_close = True
            self.keep_alive = False
        if no_body:
            self.complete = True
            self._unwatch()
        listener = self.listener
        if listener is not None:
            listener.on_head()
            if no_body and self.listener is listener:
                listener.on_done()
        elif self._head is not None and not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self.status == 101:
            self.upgrade_tail += body
        elif self._sink is not None:
            self._sink(body)
        elif not self.complete:
            self._early.append(body)

    def on_message_complete(self) -> None:
        if self.status and not self.complete:
            self._complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._unwatch()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        if self.on_close is not None:
            self.on_close()
        if not self.busy:
            self.pool.forget(self)
        elif not self.complete:
            if self.status and self.until_close:
                self._complete()
            else:
                self._fail(UpstreamReset("upstream closed the connection"))

    def pause_writing(self) -> None:
        self._write_paused = True
        if self.write_flow is not None:
            self.write_flow(True)

    def resume_writing(self) -> None:
        self._write_paused = False
        if self.write_flow is not None:
            self.write_flow(False)
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # ----------------------------------------------------------------- internals

    def _complete(self) -> None:
        self.complete = True
        self.pool.active.discard(self)  # _unwatch(), inlined: runs per request
        if self.listener is not None:
            self.listener.on_done()
        elif self._done is not None and not self._done.done():
            self._done.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if self.complete or self.error is not None:
            return
        self.error = error
        if self.listener is not None:
            self.close()
            self.listener.on_error(error)
            return
        for fut in (self._head, self._done):
            if fut is not None and not fut.done():
                fut.set_exception(error)
                fut.exception()  # mark retrieved: the waiter may have been cancelled already
        self.close()

    def check_timeouts(self, now: float, read_timeout: float) -> None:
        """Fail the exchange if its total deadline passed or the upstream fell silent too long."""
        if self.complete or self.error is not None:
            self._unwatch()
        elif self._deadline is not None and now >= self._deadline:
            self._fail(UpstreamTimeout("total timeout"))
        elif self._head_by and not self.status and now >= self._head_by:
            self._fail(UpstreamFallbackDeadline("no response head within the fallback deadline"))
        elif self.sending or self._fed:
            self._fed = False
            self._last = now
        elif now - self._last >= read_timeout:
            self._fail(UpstreamTimeout("read timeout"))

    def _unwatch(self) -> None:
        self.pool.active.discard(self)


#: Connects a new :class:`UpstreamConnection` to its upstream (calls its ``connection_made``).
Opener = Callable[[UpstreamConnection], Awaitable[None]]


class UpstreamPool:
    """Keep-alive connections to one upstream: LIFO idle list, new connections on demand."""

    def __init__(
        self,
        config: UpstreamConfig,
        loop: asyncio.AbstractEventLoop,
        opener: Opener | None = None,
    ) -> None:
        """``opener``: how a connection is opened instead of a TCP connect to
        ``config``'s address (:class:`gateway.testing.MockUpstream`'s, in process); it
        may raise ``OSError`` (refused)."""
        self.config = config
        self.loop = loop
        self.opener = opener
        self.idle: list[UpstreamConnection] = []
        self.active: set[UpstreamConnection] = set()
        self.opened = 0
        self._sweeper: asyncio.TimerHandle | None = None

    def watch(self, conn: UpstreamConnection) -> None:
        """Enforce ``conn``'s timeouts until its exchange ends."""
        self.active.add(conn)
        if self._sweeper is None:
            self._sweeper = self.loop.call_later(TICK_S, self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        now, read_timeout = self.loop.time(), self.config.read_timeout_s
        for conn in list(self.active):
            conn.check_timeouts(now, read_timeout)
        if self.active:
            self._sweeper = self.loop.call_later(TICK_S, self._sweep)

    def inflight(
        self, now: float, older_than_s: float, route: str | None, awaiting_head: bool = False
    ) -> tuple[int, int, float]:
        """``(exchanges in flight, those older than older_than_s, oldest age in s or 0.0)``.

        O(in flight): for once-a-second readers (the controller, a scrape), never per request.
        ``route`` None counts every route. Connections still connecting are not counted.
        ``awaiting_head``: only exchanges with no response head yet (the controller's evidence of
        a hang: a body streaming slowly to a slow client, or a WebSocket, has answered).
        """
        count = old = 0
        oldest = 0.0
        for conn in self.active:
            if not conn.open_for(route, awaiting_head):
                continue
            age = now - conn.started
            count += 1
            if age > older_than_s:
                old += 1
            if age > oldest:
                oldest = age
        return count, old, oldest

    def inflight_ages(
        self, now: float, route: str | None, limit: int, awaiting_head: bool = False
    ) -> tuple[int, list[float]]:
        """``(count, ages)``: exchanges in flight and the ``limit`` oldest ages in s, oldest first.

        What a cluster member reports with its heartbeat (bounded, whatever is in flight); the
        same exchanges as :meth:`inflight` counts. O(in flight x log limit).
        """
        ages = [now - conn.started for conn in self.active if conn.open_for(route, awaiting_head)]
        return len(ages), heapq.nlargest(limit, ages)

    async def acquire(self, head_within: float = 0.0) -> tuple[UpstreamConnection, bool]:
        """A connection ready for an exchange and whether it was reused from the pool."""
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                return conn, True
        return await self.connect(head_within), False

    async def connect(self, head_within: float = 0.0) -> UpstreamConnection:
        """Open a new connection (connect timeout → 504, refusal → 502).

        ``head_within`` > 0 (a fallback deadline) shortens the connect timeout to it: an upstream
        whose backlog is full (hung, SIGSTOP) must not hold a request that may go elsewhere.
        """
        limit = self.config.connect_timeout_s
        cut = 0.0 < head_within < limit
        try:
            async with asyncio.timeout(head_within if cut else limit):
                if self.opener is None:
                    _, proto = await self.loop.create_connection(
                        lambda: UpstreamConnection(self), self.config.host, self.config.port
                    )
                else:
                    proto = UpstreamConnection(self)
                    await self.opener(proto)
        except TimeoutError:
            if cut:
                raise UpstreamFallbackDeadline(
                    "connect not done within the fallback deadline"
                ) from None
            raise UpstreamTimeout("connect timeout") from None
        except OSError as exc:
            raise UpstreamConnectError(f"connect failed: {exc.strerror or exc}") from None
        self.opened += 1
        return proto

    def release(self, conn: UpstreamConnection) -> None:
        """Return a finished, reusable connection."""
        if len(self.idle) < self.config.pool_size:
            self.idle.append(conn)
        else:
            conn.close()

    def forget(self, conn: UpstreamConnection) -> None:
        """Drop a connection that closed while idle."""
        with contextlib.suppress(ValueError):
            self.idle.remove(conn)

    def close(self) -> None:
        """Close every idle connection and stop the timeout sweep."""
        idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
