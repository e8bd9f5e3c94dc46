"""The HTTP/1.1 server layer: an asyncio protocol per client connection, parsed by httptools.

Why not uvicorn + ASGI: measured on this machine (server pinned to one core, wrk on the other, 32
connections, 316-byte JSON), a bare asyncio + httptools protocol answers ~78k req/s while uvicorn
(httptools, uvloop) running a minimal ASGI app answers ~23k — about 30 µs more per request before
any proxying, a third of the gateway's whole 80 µs budget. ASGI would also copy every body chunk
through ``receive``/``send`` message dicts. So the server owns the socket and gives the handler a
:class:`Request` with the raw head and a :class:`BodyStream`; the handler writes the response bytes
itself (the proxy forwards the upstream's bytes without re-encoding them).

Handled here, so no handler can get them wrong: malformed request line or headers → 400 JSON and
close (never a traceback); an oversized head → 431; pipelined requests are answered in order;
``Expect: 100-continue`` is answered when the handler first reads the body; the request body is
buffered only up to a high-water mark before the socket stops being read (bounded memory); a client
that disconnects cancels its handler task; idle keep-alive connections close after a timeout.

Per-request tasks are created here rather than through :class:`gateway.tasks.TaskSet`: each is
held by its connection (``_task``) until it ends and is cancelled with it, which is all the helper
would add, at a cost paid on every request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, cast

import httptools
import structlog

log = structlog.get_logger("gateway.http")

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
MAX_HEAD_BYTES = 64 * 1024
IDLE_TIMEOUT_S = 75.0
LINGER_S = 2.0
_FRAMING = frozenset(
    {b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"connection"}
)


class BodyTooLarge(Exception):
    """The request body grew past the configured limit while streaming."""


class ClientGone(Exception):
    """The client closed the connection before its body was read."""


class HeadTooLarge(Exception):
    """The request line plus headers exceed :data:`MAX_HEAD_BYTES`."""


class BodyStream:
    """A request body arriving from the socket; read it chunk by chunk or all at once."""

    __slots__ = ("_chunks", "_conn", "_continue", "_error", "_size", "_waiter", "done", "received")

    def __init__(self, conn: HttpConnection, expect_continue: bool) -> None:
        self._conn = conn
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._waiter: asyncio.Future[None] | None = None
        self._continue = expect_continue
        self._error: Exception | None = None
        self.done = False
        self.received = 0

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

    async def read(self) -> bytes:
        """The next chunk, or ``b""`` at the end of the body."""
        if self._continue:
            self._continue = False
            self._conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
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


class HttpConnection(asyncio.Protocol):
    """One client connection: parse, dispatch requests in order, enforce limits.

    Slotted, like :class:`gateway.upstream.UpstreamConnection`: attribute reads on the hot path are
    slot loads rather than instance-dict lookups (callgrind: a few thousand instructions per request).
    """

    __slots__ = (
        "_busy", "_head_bytes", "_headers", "_idle_since", "_idle_timer", "_lingering", "_parser",
        "_parsing", "_pending", "_pipeline", "_reading_paused", "_task", "_upgraded", "_url",
        "client_host", "close_after", "closed", "connections", "dispatch", "inflight", "loop",
        "relay_from", "transport", "tunnel", "write_paused",
    )  # fmt: skip

    def __init__(self, dispatch: Dispatch, connections: set[HttpConnection]) -> None:
        self.dispatch = dispatch
        self.loop = asyncio.get_running_loop()
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.client_host = ""
        self.closed = False
        self.write_paused = False
        self.relay_from: asyncio.Transport | None = None
        self.tunnel: Callable[[bytes], None] | None = None
        self.close_after = False
        self._parser = httptools.HttpRequestParser(self)
        self._pipeline: deque[Request] = deque()
        self._parsing: Request | None = None
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self.inflight: Inflight | None = None
        self._reading_paused = False
        self._upgraded = False
        self._lingering = False
        self._pending: list[bytes] = []
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._idle_since: float | None = None
        self._idle_timer: asyncio.TimerHandle | None = None

    # ----------------------------------------------------------------- transport callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(
            asyncio.Transport, transport
        )  # uvloop's TCPTransport is not a subclass
        peer = transport.get_extra_info("peername")
        self.client_host = str(peer[0]) if isinstance(peer, tuple) else ""
        self.connections.add(self)
        self._idle_since = self.loop.time()
        self._idle_timer = self.loop.call_later(IDLE_TIMEOUT_S, self._check_idle)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        if self._upgraded:
            if self.tunnel is not None:
                self.tunnel(data)
            else:
                self._pending.append(data)
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgraded = True
            tail = data[exc.args[0] :]
            if self._parsing is not None:
                self._parsing.upgrade_tail = tail
        except httptools.HttpParserCallbackError:
            # The head outgrew its limit in a callback (HeadTooLarge); read from our own count,
            # not from the error's __context__, which compiled callbacks do not set.
            too_large = self._head_bytes > MAX_HEAD_BYTES
            self._reject(
                431 if too_large else 400, "header_too_large" if too_large else "bad_request"
            )
        except httptools.HttpParserError:
            self._reject(400, "bad_request")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.connections.discard(self)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        for req in (self._parsing, *self._pipeline):
            if req is not None and req.body is not None:
                req.body.abort(ClientGone())
        if self.inflight is not None:
            self.inflight.cancel()
            self.inflight = None
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def pause_writing(self) -> None:
        self.write_paused = True
        if self.relay_from is not None:
            self.relay_from.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.relay_from is not None and not self.relay_from.is_closing():
            self.relay_from.resume_reading()

    # ----------------------------------------------------------------- parser callbacks

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)
        if self._head_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES:
            raise HeadTooLarge()

    def on_headers_complete(self) -> None:
        parser = self._parser
        req = Request(self, parser.get_method(), self._url, self._headers)
        self._url, self._headers, self._head_bytes = b"", [], 0  # ready for the next message
        req.keep_alive = keep_alive = bool(parser.should_keep_alive())
        expect = connection = False
        for name, value in req.headers:
            if name not in _FRAMING:  # one set probe for the common header instead of five ==
                continue
            if name == b"connection":
                connection = True
            elif name == b"content-length":
                req.content_length = int(value)
            elif name == b"transfer-encoding":
                req.chunked = b"chunked" in value.lower()
            elif name == b"expect":
                expect = value.lower() == b"100-continue"
            elif name == b"upgrade" and parser.should_upgrade():
                req.upgrade = value
        # Without a Connection header llhttp keeps a request alive exactly when its version is
        # 1.1 (1.0 needs "keep-alive"); get_http_version() formats a string, ~2k instructions.
        req.http11 = keep_alive if not connection else parser.get_http_version() == "1.1"
        if req.chunked or req.content_length:
            req.body = BodyStream(self, expect and req.http11)
        self._parsing = req
        if not self._busy:
            self._start(req)
        else:
            self._pipeline.append(req)

    def on_body(self, body: bytes) -> None:
        if self._parsing is not None and self._parsing.body is not None:
            self._parsing.body.feed(body)

    def on_message_complete(self) -> None:
        if self._parsing is not None and self._parsing.body is not None:
            self._parsing.body.finish()

    # ----------------------------------------------------------------- writing

    def write(self, data: bytes) -> None:
        """Send bytes to the client (dropped once it is gone)."""
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def writelines(self, parts: list[bytes]) -> None:
        """Send several byte strings without joining them."""
        if not self.closed and self.transport is not None:
            self.transport.writelines(parts)

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

    # ----------------------------------------------------------------- request cycle

    def _start(self, req: Request) -> None:
        self._idle_since = None
        self._busy = True
        try:
            coro = self.dispatch(req)
        except Exception as exc:
            log.error("handler_failed", error=repr(exc), exc_info=exc)
            self.abort()
            return
        if coro is not None:
            self._task = self.loop.create_task(self._run(coro, req))
        elif self.inflight is None:
            self.request_done(req)

    def adopt(self, coro: Coroutine[Any, Any, None], req: Request) -> None:
        """Continue a callback-driven exchange as a task (fallback, retry)."""
        self.inflight = None
        if self.closed:
            coro.close()
            return
        self._task = self.loop.create_task(self._run(coro, req))

    @property
    def has_pipelined(self) -> bool:
        """Whether more requests wait behind the current one."""
        return bool(self._pipeline)

    def request_done(self, req: Request) -> None:
        """A callback-driven exchange finished: go on with the connection."""
        self.inflight = None
        self._busy = False
        self._after(req)

    async def _run(self, coro: Coroutine[Any, Any, None], req: Request) -> None:
        try:
            await coro
        except asyncio.CancelledError:
            self.abort()
            raise
        except Exception as exc:
            log.error("handler_failed", error=repr(exc), exc_info=exc)
            self.abort()
        finally:
            self._task = None
            self._busy = False
            self._after(req)

    def _after(self, req: Request) -> None:
        if self.closed:
            return
        if req.body is not None and not req.body.done:
            self._linger()
            return
        if self.close_after or not req.keep_alive or self._upgraded:
            self.close()  # after an upgrade (or CONNECT) the parser cannot go on
            return
        if self._pipeline:
            self._start(self._pipeline.popleft())
        else:
            self._idle_since = self.loop.time()
            self.resume_reading()

    def _linger(self) -> None:
        """Close after an answer given before the request body was read (413, early errors).

        Closing a socket with unread input makes the kernel send RST, and the client may lose
        the answer before reading it; so the rest of the body is read and dropped for a short
        while first (what nginx calls a lingering close).
        """
        self._lingering = True
        self.resume_reading()
        self.loop.call_later(LINGER_S, self.close)

    def _reject(self, status: int, error: str) -> None:
        """Answer a request the parser refused, then close."""
        if not self._busy and not self.closed:
            body = b'{"error":"%s"}' % error.encode()
            reason = b"Bad Request" if status == 400 else b"Request Header Fields Too Large"
            self.write(
                b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                b"x-cutover-backend: gateway\r\nconnection: close\r\n\r\n%s"
                % (status, reason, len(body), body)
            )
            self.close()
        else:
            self.abort()

    def _check_idle(self) -> None:
        self._idle_timer = None
        if self.closed:
            return
        now = self.loop.time()
        if self._idle_since is not None and now - self._idle_since >= IDLE_TIMEOUT_S:
            self.close()
            return
        since = self._idle_since if self._idle_since is not None else now
        self._idle_timer = self.loop.call_at(since + IDLE_TIMEOUT_S, self._check_idle)
