"""A request as the server layer hands it to a handler: the parsed head and its body stream.

Split from :mod:`gateway.http` (the connection protocol) so each module holds one concept; both are
compiled with the hot path. :class:`BodyStream` keeps the request body bounded in memory — the
connection stops reading the socket past :data:`HIGH_WATER` buffered bytes and reads again below
:data:`LOW_WATER` — and carries the timing state that the listener's sweep uses for the body
timeouts (written by the sweep only, so nothing per chunk reads the clock).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gateway.http import HttpConnection

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

    def __init__(self, conn: HttpConnection, expect_continue: bool) -> None:
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
        self, conn: HttpConnection, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]
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
:meth:`HttpConnection.request_done` when finished)."""


class Inflight(Protocol):
    """A callback-driven exchange the connection must cancel if the client goes away."""

    def cancel(self) -> None: ...
