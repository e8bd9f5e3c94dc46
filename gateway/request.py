"""A request as the server layer hands it to a handler: the parsed head, its body stream, and the
connection it is answered on.

The server layer (:mod:`gateway.http`: listener, connection, request cycle) is split so each module
holds one concept; all of it is compiled with the hot path. :class:`BodyStream` keeps the request
body bounded in memory — the connection stops reading the socket past :data:`HIGH_WATER` buffered
bytes and reads again below :data:`LOW_WATER` — and carries the timing state that the listener's
sweep uses for the body timeouts (written by the sweep only, so nothing per chunk reads the clock).

:class:`ClientConnection` is the client connection as a handler sees it (writes, flow control, the
hand-back of a callback-driven exchange). It is a native base class of
:class:`gateway.connection.HttpConnection`, declared here, beside the request that carries it, so
that this module imports no connection module: compiled by mypyc, ``req.conn.write(...)`` is still a
direct or vtable call (a Protocol-typed ``conn`` would make it a method lookup by name, several
per request), and the server layer's modules import downwards only.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class BodyTooLarge(Exception):
    """The request body grew past the configured limit while streaming."""


class ClientGone(Exception):
    """The client closed the connection before its body was read."""


class BodyStream:
    """A request body arriving from the socket; read it chunk by chunk or all at once."""

    __slots__ = (
        "_chunks",
        "_conn",
        "_continue",
        "_error",
        "_size",
        "_waiter",
        "active_s",
        "done",
        "last_data",
        "received",
        "seen",
        "timed",
    )

    def __init__(self, conn: ClientConnection, expect_continue: bool) -> None:
        self._conn = conn
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._waiter: asyncio.Future[None] | None = None
        self._continue = expect_continue
        self._error: Exception | None = None
        self.done = False
        self.received = 0
        # Timing state, written by the listener's sweep only (no clock read per chunk).
        self.timed = False
        self.active_s = 0.0
        self.last_data = -1.0
        self.seen = -1

    def feed(self, chunk: bytes) -> None:
        """Called by the parser with body bytes."""
        self._chunks.append(chunk)
        self._size += len(chunk)
        self.received += len(chunk)
        if self._size > HIGH_WATER:
            self._conn.pause_reading()
        self._wake()

    def finish(self) -> None:
        """Called by the parser at the end of the message."""
        self.done = True
        self._wake()

    def abort(self, error: Exception) -> None:
        """The connection is gone: wake a waiting reader with ``error``."""
        self._error = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def start_timing(self) -> None:
        """From now on the client is expected to send: the sweep times this body."""
        if not self.timed:
            self.timed = True
            self._conn.timed_body = self

    def send_continue(self) -> None:
        """Answer ``Expect: 100-continue`` (once) before the body is read."""
        if self._continue:
            self._continue = False
            self._conn.write_interim(b"HTTP/1.1 100 Continue\r\n\r\n")

    async def read(self) -> bytes:
        """The next chunk, or ``b""`` at the end of the body."""
        if not self.timed:
            self.send_continue()
            self.start_timing()
        while not self._chunks:
            if self.done:
                return b""
            if self._error is not None:
                raise self._error
            self._waiter = self._conn.loop.create_future()
            await self._waiter
        chunk = self._chunks.popleft()
        self._size -= len(chunk)
        if self._size < LOW_WATER:
            self._conn.resume_reading()
        return chunk

    async def read_all(self) -> bytes:
        """The whole body (call only when its size is known to be small)."""
        parts = []
        while chunk := await self.read():
            parts.append(chunk)
        return b"".join(parts)


class Request:
    """One parsed request head plus its body stream; header names are lower-case bytes."""

    __slots__ = (
        "body",
        "chunked",
        "client_host",
        "conn",
        "content_length",
        "headers",
        "http11",
        "keep_alive",
        "method",
        "target",
        "upgrade",
        "upgrade_tail",
    )

    def __init__(
        self,
        conn: ClientConnection,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.conn = conn
        self.client_host = conn.client_host
        self.method = method
        self.target = target
        self.headers = headers
        self.http11 = True
        self.keep_alive = True
        self.upgrade: bytes | None = None
        self.upgrade_tail = b""
        self.content_length: int | None = None
        self.chunked = False
        self.body: BodyStream | None = None


Dispatch = Callable[[Request], Coroutine[Any, Any, None] | None]
"""Serve a request: return a coroutine to run as a task, or ``None`` when the handler answered
already or drives the exchange from callbacks (it then sets ``conn.inflight`` and calls
:meth:`ClientConnection.request_done` when finished)."""


class Inflight(Protocol):
    """A callback-driven exchange the connection must cancel if the client goes away."""

    def cancel(self) -> None: ...


class ClientConnection(asyncio.Protocol):
    """One client connection as a handler sees it: writes, flow control, the exchange hand-back.

    Writes are dropped once the connection is closed (a cancelled handler's late bytes). The
    request cycle (:class:`gateway.request_cycle.RequestCycle`) implements :meth:`adopt`,
    :meth:`request_done` and :attr:`has_pipelined`; declared here as methods of a native base, not a
    Protocol, for the reason the module docstring gives.
    """

    __slots__ = (
        "_pending", "_reading_paused", "_wrote", "client_host", "close_after", "closed", "inflight",
        "loop", "relay_from", "timed_body", "transport", "tunnel", "write_paused",
    )  # fmt: skip

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.client_host = ""
        self.closed = False
        self.write_paused = False
        #: The upstream socket relaying into this one: paused while the client cannot keep up.
        self.relay_from: asyncio.Transport | None = None
        #: Where bytes go after an upgrade (the WebSocket relay), once attached.
        self.tunnel: Callable[[bytes], None] | None = None
        #: Close once the current response is sent, whatever the request asked.
        self.close_after = False
        #: The callback-driven exchange in flight, cancelled if the client goes away.
        self.inflight: Inflight | None = None
        #: The body the listener's sweep times (set by :meth:`BodyStream.start_timing`).
        self.timed_body: BodyStream | None = None
        self._pending: list[bytes] = []
        self._reading_paused = False
        self._wrote = False  # a byte of the current response was sent

    def write(self, data: bytes) -> None:
        """Send bytes to the client (dropped once it is gone)."""
        if not self.closed and self.transport is not None:
            self._wrote = True
            self.transport.write(data)

    def writelines(self, parts: list[bytes]) -> None:
        """Send several byte strings without joining them."""
        if not self.closed and self.transport is not None:
            self._wrote = True
            self.transport.writelines(parts)

    def write_interim(self, data: bytes) -> None:
        """Send a 1xx answer: a final answer (408, 400) can still follow it."""
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def close(self) -> None:
        """Close after the buffered bytes are sent."""
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection now (the client sees a truncated response)."""
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.abort()

    def take_pending(self) -> list[bytes]:
        """Bytes the client sent after an upgrade request, before the tunnel was attached."""
        pending, self._pending = self._pending, []
        return pending

    def pause_reading(self) -> None:
        """Stop reading the socket (request body back-pressure)."""
        if not self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        """Read the socket again."""
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.relay_from is not None:
            self.relay_from.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.relay_from is not None and not self.relay_from.is_closing():
            self.relay_from.resume_reading()

    def adopt(self, coro: Coroutine[Any, Any, None], req: Request) -> None:
        """Continue a callback-driven exchange as a task (fallback, retry)."""
        raise NotImplementedError

    def request_done(self, req: Request) -> None:
        """A callback-driven exchange finished: go on with the connection."""
        raise NotImplementedError

    @property
    def has_pipelined(self) -> bool:
        """Whether more requests wait behind the current one."""
        raise NotImplementedError
