"""The HTTP/1.1 server layer: an asyncio protocol per client connection, parsed by httptools.

Why not uvicorn + ASGI: measured on this machine (server pinned to one core, wrk on the other, 32
connections, 316-byte JSON), a bare asyncio + httptools protocol answers ~78k req/s while uvicorn
(httptools, uvloop) running a minimal ASGI app answers ~23k — about 30 µs more per request before
any proxying, a third of the gateway's whole 80 µs budget. ASGI would also copy every body chunk
through ``receive``/``send`` message dicts. So the server owns the socket and gives the handler a
:class:`Request` with the raw head and a :class:`BodyStream`; the handler writes the response bytes
itself (the proxy forwards the upstream's bytes without re-encoding them).

Handled here, so no handler can get them wrong (issue #12, RFC 9112):

* Framing is decided completely at headers-complete, before dispatch, by
  :func:`gateway.framing.decide` (llhttp refuses the grossest cases while parsing, mapped to the
  same reasons). A refused request, a malformed head (400), an oversized head (431) or a bad chunk
  is answered with a JSON body and ``Connection: close`` — in order, after the requests pipelined
  before it — and never dispatched.
* A small chunked body (up to ``ClientLimits.buffer_chunked_bytes``) is read completely before the
  request is dispatched and forwarded with a ``Content-Length``, as nginx's request buffering does:
  a bad chunk in it never reaches an upstream, and the body can be replayed for fallback. A larger
  one streams; a bad chunk further on aborts the upstream exchange (the upstream sees a chunked body
  with no last chunk, never a complete request) and is answered 400 if the response has not started.
* Chunk extensions: llhttp does not buffer them and httptools exposes no callback for them, and the
  gateway re-chunks what it forwards (extensions never pass). Their bytes are bounded all the same
  (Node.js: CVE-2024-22019): framing bytes that are not chunk data, beyond a 20-byte allowance per
  chunk, may total :data:`MAX_CHUNK_OVERHEAD` per request (counted from the read after the head).
* Pipelining (§9.6): requests are answered in order; bytes after a request that ends the connection
  (``Connection: close``, HTTP/1.0 without keep-alive) are ignored once it is answered.
* Slow clients: one sweep per listener (:class:`Listener`, every ``tick`` ≤ 1 s) — not a timer per
  request or chunk — enforces the head timeout, the body's idle gap and minimum rate, and the
  keep-alive idle timeout; the connection keeps the marks, :mod:`gateway.client_timeouts` decides
  (the rules are listed there). A timeout is answered 408 when a request was started and no
  response byte was sent, then closed.
* ``ClientLimits.max_connections``: a connection beyond it is answered 503 with ``Retry-After`` and
  closed at once rather than left unanswered in the kernel backlog (measured in the README).
* ``Expect: 100-continue`` is answered when the handler first reads the body (by the gateway
  itself when it holds a small chunked body); the request body is buffered only up to a
  high-water mark before the socket stops being read (bounded memory); a client that
  disconnects cancels its handler task.

Per-request tasks are created here rather than through :class:`gateway.tasks.TaskSet`: each is
held by its connection (``_task``) until it ends and is cancelled with it, which is all the helper
would add, at a cost paid on every request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, cast

import httptools
import structlog

from gateway.client_timeouts import BODY, HEAD, IDLE, expired, phase, tick_s, too_slow
from gateway.framing import Rejection, decide, reason_for_parse_error
from gateway.request import BodyStream as BodyStream
from gateway.request import BodyTooLarge as BodyTooLarge
from gateway.request import ClientGone as ClientGone
from gateway.request import Dispatch as Dispatch
from gateway.request import Inflight as Inflight
from gateway.request import Request as Request

log = structlog.get_logger("gateway.http")

MAX_HEAD_BYTES = 64 * 1024
IDLE_TIMEOUT_S = 75.0
LINGER_S = 2.0
#: Chunk-size lines, extensions and trailers of one request beyond the per-chunk allowance.
MAX_CHUNK_OVERHEAD = 16 * 1024
CHUNK_FRAME_ALLOWANCE = 20  # 16 hex digits + two CRLFs
_FRAMING = frozenset(
    {b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"connection", b"host"}
)


class HeadTooLarge(Exception):
    """The request line plus headers exceed :data:`MAX_HEAD_BYTES`."""


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a refused request (see ``_refusal``)."""


@dataclass(frozen=True, slots=True)
class ClientLimits:
    """What a listener tolerates from its clients (``limits.*`` in the config)."""

    header_timeout_s: float = 10.0
    body_idle_timeout_s: float = 10.0
    body_min_rate_bytes_s: float = 500.0
    body_grace_s: float = 10.0
    idle_timeout_s: float = IDLE_TIMEOUT_S
    max_connections: int | None = None
    #: Chunked bodies up to this size are read before dispatch and forwarded with a length.
    buffer_chunked_bytes: int = 0

    @property
    def tick_s(self) -> float:
        """Sweep period: a quarter of the shortest timeout, at most a second."""
        return tick_s(self.header_timeout_s, self.body_idle_timeout_s)


class ClientEvents(Protocol):
    """Where a listener reports what its clients did wrong
    (:class:`gateway.metrics.GatewayMetrics`)."""

    def client_timeout(self, listener: str, phase: str) -> None: ...

    def request_rejected(self, listener: str, reason: str) -> None: ...

    def connection_refused(self, listener: str) -> None: ...


_ERRORS = {400: "bad_request", 431: "header_too_large", 501: "not_implemented"}


def error_response(status: int, error: str, extra: bytes = b"", reason: str = "") -> bytes:
    """A complete JSON error answer that closes the connection (``reason``: why, when refused)."""
    body = b'{"error":"%s"}' % error.encode()
    if reason:
        body = b'{"error":"%s","reason":"%s"}' % (error.encode(), reason.encode())
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"x-cutover-backend: gateway\r\n%sconnection: close\r\n\r\n%s"
        % (status, HTTPStatus(status).phrase.encode(), len(body), extra, body)
    )


class Listener:
    """The connections of one listening socket, their limits, and the one sweep that times them.

    ``protocol`` is the factory for ``loop.create_server``. The sweep runs every ``limits.tick_s``
    while the listener has connections; each pass is O(open connections), which is why it runs at
    most a few times a second and why nothing per request reads the clock.
    """

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
        self.connections: set[HttpConnection] = set()
        self.tick_s = self.limits.tick_s
        self._sweeper: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def protocol(self) -> HttpConnection:
        """A protocol for one new connection."""
        return HttpConnection(self)

    def admit(self, conn: HttpConnection) -> bool:
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


class HttpConnection(asyncio.Protocol):
    """One client connection: parse, dispatch requests in order, enforce limits.

    Slotted, like :class:`gateway.upstream.UpstreamConnection`: attribute reads on the
    hot path are slot loads rather than instance-dict lookups (callgrind: a few
    thousand instructions per request).
    """

    __slots__ = (
        "_active", "_begun", "_busy", "_chunk_bytes", "_chunk_state", "_chunks", "_deferred",
        "_done_count", "_head_bytes", "_head_epoch", "_head_mark", "_head_t0", "_headers",
        "_idle_mark", "_idle_t0", "_in_head", "_lingering", "_parser", "_parsing", "_pending",
        "_pending_answer", "_pipeline", "_reading_paused", "_ready", "_refusal", "_stopped",
        "_task", "_upgraded", "_url", "_wrote", "client_host", "close_after", "closed", "dispatch",
        "inflight", "listener", "loop", "relay_from", "timed_body", "transport", "tunnel",
        "write_paused",
    )  # fmt: skip

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.dispatch = listener.dispatch
        self.loop = asyncio.get_running_loop()
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
        self._active: Request | None = None
        self._deferred: Request | None = None
        self._ready = False  # _deferred's body is complete: dispatch once the read is parsed
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self.inflight: Inflight | None = None
        self._reading_paused = False
        self._upgraded = False
        self._lingering = False
        self._stopped = False  # no more input is parsed (after a close request or a refusal)
        self._pending: list[bytes] = []
        self._pending_answer: bytes | None = None
        self._refusal: Rejection | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_bytes = 0
        self._wrote = False
        self.timed_body: BodyStream | None = None
        # Sweep state: counters the data path bumps, marks and times the sweep keeps.
        self._in_head = True  # a connection's first head is timed from the accept
        self._begun = False
        self._head_epoch = 0
        self._head_mark = -1
        self._head_t0 = 0.0
        self._done_count = 0
        self._idle_mark = -1
        self._idle_t0 = 0.0
        # Chunk framing bytes of a chunked body in flight: 0 not counting, 1 the read carrying the
        # head (its split is unknown: not counted), 2 counting, 3 the body ended in this read
        # (counted, then 0).
        self._chunk_state = 0
        self._chunk_bytes = 0
        self._chunks = 0

    # ----------------------------------------------------------------- transport callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(
            asyncio.Transport, transport
        )  # uvloop's TCPTransport is not a subclass
        peer = transport.get_extra_info("peername")
        self.client_host = str(peer[0]) if isinstance(peer, tuple) else ""
        if not self.listener.admit(self):
            # Over max_connections: say so at once (a client can retry elsewhere) rather than
            # leave it in the backlog with no answer; see the README's measurements.
            self._answer_and_close(
                error_response(503, "too_many_connections", b"retry-after: 1\r\n")
            )

    def data_received(self, data: bytes) -> None:
        if self._upgraded:
            if self.tunnel is not None:
                self.tunnel(data)
            else:
                self._pending.append(data)
            return
        if self._lingering or self._stopped:
            return  # after a close: ignored (§9.6), drained so the answer is not reset away
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._release_ready()
            self._upgraded = True
            tail = data[exc.args[0] :]
            if self._parsing is not None:
                self._parsing.upgrade_tail = tail
        except httptools.HttpParserCallbackError:
            # Refused in a callback (framing, HeadTooLarge); read from our own state, not from the
            # error's __context__, which compiled callbacks do not set.
            self._release_ready()  # a complete request before the refused one goes first
            if not self._stopped:
                refusal = self._refusal
                if refusal is None:
                    refusal = Rejection(400, "bad_request", "callback failed")
                self._refuse(refusal.status, refusal.reason)
        except httptools.HttpParserError as exc:
            self._release_ready()
            if not self._stopped:  # not the bytes after a request that closes the connection
                self._refuse(400, reason_for_parse_error(str(exc)))
        else:
            if self._chunk_state:
                self._count_chunk_framing(len(data))
            self._release_ready()

    def _release_ready(self) -> None:
        """Dispatch a held chunked request whose body ended in the read just parsed.

        Held until the read is parsed so that its chunk framing is counted first.
        """
        if self._ready:
            self._ready = False
            if self._deferred is not None:
                self._release(self._deferred)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.listener.connections.discard(self)
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

    def on_message_begin(self) -> None:
        self._in_head = True
        self._begun = True

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_bytes += len(url)
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refusal = Rejection(431, "header_too_large", "head over the limit")
            raise HeadTooLarge()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > MAX_HEAD_BYTES:
            self._refusal = Rejection(431, "header_too_large", "head over the limit")
            raise HeadTooLarge()

    def on_headers_complete(self) -> None:
        parser = self._parser
        self._in_head = False
        self._head_epoch += 1
        req = Request(self, parser.get_method(), self._url, self._headers)
        self._url, self._headers, self._head_bytes = b"", [], 0  # ready for the next message
        req.keep_alive = keep_alive = bool(parser.should_keep_alive())
        expect = connection = False
        te: bytes | None = None
        cl: bytes | None = None
        host: bytes | None = None
        cls = hosts = 0
        for name, value in req.headers:
            if name not in _FRAMING:  # one set probe for the common header instead of six ==
                continue
            if name == b"host":
                host = value
                hosts += 1
            elif name == b"connection":
                connection = True
            elif name == b"content-length":
                cl = value if cl is None else cl
                cls += 1
            elif name == b"transfer-encoding":
                te = value if te is None else te + b"," + value
            elif name == b"expect":
                expect = value.lower() == b"100-continue"
            elif name == b"upgrade" and parser.should_upgrade():
                req.upgrade = value
        # Without a Connection header llhttp keeps a request alive exactly when its version is
        # 1.1 (1.0 needs "keep-alive"); get_http_version() formats a string, ~2k instructions.
        req.http11 = keep_alive if not connection else parser.get_http_version() == "1.1"
        framing = decide(req.http11, te, cl, cls, host, hosts)
        if isinstance(framing, Rejection):
            self._refusal = framing
            raise _Refused()
        req.content_length = framing.content_length
        req.chunked = framing.chunked
        if framing.chunked or framing.content_length:
            req.body = BodyStream(self, expect and req.http11)
            if framing.chunked:
                self._chunk_state = 1
        self._parsing = req
        if not self._busy:
            self._start(req)
        else:
            self._pipeline.append(req)

    def on_body(self, body: bytes) -> None:
        req = self._parsing
        if req is not None and req.body is not None:
            req.body.feed(body)
            if self._chunk_state:
                self._chunk_bytes -= len(body)
                if (
                    req is self._deferred
                    and req.body.received > self.listener.limits.buffer_chunked_bytes
                ):
                    self._release(req)

    def on_chunk_header(self) -> None:
        self._chunks += 1

    def on_message_complete(self) -> None:
        req = self._parsing
        if req is not None:
            if req.body is not None:
                req.body.finish()
                self._chunk_state = 3 if self._chunk_state == 2 else 0  # count this read, then stop
                if req is self._deferred:
                    req.chunked, req.content_length = False, req.body.received
                    self._ready = True
            if not req.keep_alive and req.upgrade is None:
                self._stopped = True  # §9.6: anything after a closing request is not read

    # ----------------------------------------------------------------- writing

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

    # ----------------------------------------------------------------- request cycle

    def _start(self, req: Request) -> None:
        self._busy = True
        self._active = req
        self._wrote = False
        body = req.body
        if req.chunked and body is not None and not body.done:
            limit = self.listener.limits.buffer_chunked_bytes
            if limit and body.received <= limit:
                # Read a small chunked body before dispatching it (see the module docstring);
                # the gateway asks for the body itself, so it answers 100-continue itself.
                self._deferred = req
                body.send_continue()
                body.start_timing()
                return
        self._dispatch(req)

    def _release(self, req: Request) -> None:
        """Dispatch a request whose chunked body was held back (now complete, or too big)."""
        self._deferred = None
        self._dispatch(req)

    def _dispatch(self, req: Request) -> None:
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
        return bool(self._pipeline) or self._pending_answer is not None

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
        self._active = None
        self._done_count += 1
        if self.timed_body is req.body:
            self.timed_body = None
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
        elif self._pending_answer is not None:
            self._answer_and_close(self._pending_answer)
        else:
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

    def _answer_and_close(self, answer: bytes) -> None:
        """Send a final gateway answer, then close with a lingering close (input is drained)."""
        transport = self.transport
        if self.closed or transport is None:
            return
        self._wrote = True
        transport.write(answer)
        self.closed = True  # later writes (a cancelled handler's) are dropped
        self._lingering = True
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        if transport.can_write_eof():
            transport.write_eof()  # the client sees the end at once; we still drain its input
        self.loop.call_later(LINGER_S, transport.close)

    # ----------------------------------------------------------------- refusals and timeouts

    def _refuse(self, status: int, reason: str) -> None:
        """A request the gateway will not forward: count it, answer it in order, close."""
        self.listener.rejected(reason)
        self._fail(error_response(status, _ERRORS.get(status, "bad_request"), reason=reason))

    def _fail(self, answer: bytes) -> None:
        """Stop reading; answer the request at fault after those before it, then close."""
        self._stopped = True
        self._refusal = None
        req = self._parsing
        if req is not None and req.body is not None and not req.body.done:
            # The fault is in this request's body (a bad chunk, a stalled upload).
            if req is self._deferred:
                self._deferred = self._active = None  # never dispatched: answered at once
                self._busy = False
            elif req is self._active:
                req.body.abort(ClientGone())  # the handler stops forwarding the body
                if self._wrote:
                    self.abort()  # the response has started: only a reset can say it failed
                else:
                    self._answer_and_close(answer)
                if self._task is not None and not self._task.done():
                    # The client's fault, not the upstream's: stop the handler. Next loop pass,
                    # so a task created in this read has started (and awaits its handler).
                    self.loop.call_soon(self._task.cancel)
                if self.inflight is not None:
                    self.inflight.cancel()
                    self.inflight = None
                return
            elif req in self._pipeline:
                self._pipeline.remove(req)
        if self._busy:
            self._pending_answer = answer  # after the requests before it (§9.6 order)
            self.pause_reading()
        else:
            self._answer_and_close(answer)

    def _count_chunk_framing(self, size: int) -> None:
        """Bound chunk-size lines, extensions and trailers (see :data:`MAX_CHUNK_OVERHEAD`)."""
        if self._chunk_state == 1:  # the read that carried the head: start counting afresh
            self._chunk_state, self._chunk_bytes, self._chunks = 2, 0, 0
            return
        self._chunk_bytes += size
        self._chunk_state = 2 if self._chunk_state == 2 else 0
        if self._chunk_bytes - self._chunks * CHUNK_FRAME_ALLOWANCE > MAX_CHUNK_OVERHEAD:
            self._chunk_state = 0
            if self._ready:  # the held request ended in this read: refused, never dispatched
                self._ready = False
                self._deferred = self._active = None
                self._busy = False
            self._refuse(400, "chunk_extension_too_large")

    def check_timeouts(self, now: float, tick: float) -> None:
        """The listener's sweep: keep this connection's marks;
        :mod:`gateway.client_timeouts` decides."""
        if self.closed or self._lingering:
            return
        limits = self.listener.limits
        body = self.timed_body
        reading_body = body is not None and not body.done
        timer = phase(self._in_head, self._stopped, reading_body, self._busy)
        if timer == HEAD:
            if self._head_mark != self._head_epoch:
                self._head_mark, self._head_t0 = self._head_epoch, now
            elif expired(now, self._head_t0, limits.header_timeout_s):
                self.listener.timed_out("head")
                if not self._begun:
                    self.close()  # never sent a byte: nothing to answer
                else:
                    self._fail(error_response(408, "request_timeout"))
        elif timer == BODY and body is not None:
            if body.seen != body.received or self._reading_paused:
                body.seen, body.last_data = body.received, now  # paused: the gateway's doing
            elif body.last_data < 0:
                body.last_data = now
            elif expired(now, body.last_data, limits.body_idle_timeout_s):
                self._body_timeout(body)
                return
            if not self._reading_paused:
                body.active_s += tick
                rate, grace = limits.body_min_rate_bytes_s, limits.body_grace_s
                if too_slow(body.active_s, body.received, rate, grace):
                    self._body_timeout(body)
        elif timer == IDLE:
            if self._idle_mark != self._done_count:
                self._idle_mark, self._idle_t0 = self._done_count, now
            elif expired(now, self._idle_t0, limits.idle_timeout_s):
                self.close()

    def _body_timeout(self, body: BodyStream) -> None:
        self.listener.timed_out("body")
        self.timed_body = None
        self._fail(error_response(408, "request_timeout"))
