"""One client connection's request cycle: requests answered in order, failure answers, closing, and
the marks the listener's sweep times.

What :class:`gateway.connection.HttpConnection` parses arrives here as :class:`Request` objects:
:meth:`RequestCycle._start` dispatches one at a time, later ones wait in the pipeline (RFC 9112
§9.6), and a request the gateway refuses is answered after those before it, then the connection
closes (with a lingering close, so the answer is not reset away). The slow-client rules themselves
are pure functions in :mod:`gateway.client_timeouts`; :meth:`RequestCycle.check_timeouts` keeps the
marks they read.

The connection talks to its listener through :class:`ConnectionOwner`, a narrow Protocol, so this
module (and the connection) need no import of :mod:`gateway.listener`, which makes connections: the
listener imports downwards only. Its calls are per connection or per refusal, never per request
(the dispatcher is read once, when the connection is made).

Per-request tasks are created here rather than through :class:`gateway.tasks.TaskSet`: each is
held by its connection (``_task``) until it ends and is cancelled with it, which is all the helper
would add, at a cost paid on every request.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Coroutine
from typing import Any, Protocol, cast

import structlog

from gateway.client_limits import ClientLimits, error_response, refusal_response
from gateway.client_timeouts import BODY, HEAD, IDLE, expired, phase, too_slow
from gateway.request import BodyStream, ClientConnection, ClientGone, Dispatch, Request

log = structlog.get_logger("gateway.http")

LINGER_S = 2.0


class ConnectionOwner(Protocol):
    """What a connection needs of its listener (:class:`gateway.listener.Listener`)."""

    @property
    def dispatch(self) -> Dispatch: ...

    @property
    def limits(self) -> ClientLimits: ...

    def admit(self, conn: RequestCycle) -> bool:
        """Track a new connection; False when the listener is full (it is answered 503)."""
        ...

    def release(self, conn: RequestCycle) -> None:
        """The connection is gone."""
        ...

    def timed_out(self, phase: str) -> None:
        """Count a client closed for slowness."""
        ...

    def rejected(self, reason: str) -> None:
        """Count a request refused for its framing."""
        ...


class RequestCycle(ClientConnection):
    """Dispatch a connection's requests in order, answer its failures, time it, close it."""

    __slots__ = (
        "_active", "_begun", "_busy", "_deferred", "_done_count", "_head_epoch", "_head_mark",
        "_head_t0", "_idle_mark", "_idle_t0", "_in_head", "_lingering", "_parsing",
        "_pending_answer", "_pipeline", "_ready", "_stopped", "_task", "_upgraded", "dispatch",
        "listener",
    )  # fmt: skip

    def __init__(self, listener: ConnectionOwner) -> None:
        super().__init__()
        self.listener = listener
        self.dispatch = listener.dispatch
        self._pipeline: deque[Request] = deque()
        self._parsing: Request | None = None  # the request whose head or body is being parsed
        self._active: Request | None = None
        self._deferred: Request | None = None
        self._ready = False  # _deferred's body is complete: dispatch once the read is parsed
        self._task: asyncio.Task[None] | None = None
        self._busy = False
        self._upgraded = False
        self._lingering = False
        self._stopped = False  # no more input is parsed (after a close request or a refusal)
        self._pending_answer: bytes | None = None
        # Sweep state: counters the data path bumps, marks and times the sweep keeps.
        self._in_head = True  # a connection's first head is timed from the accept
        self._begun = False
        self._head_epoch = 0
        self._head_mark = -1
        self._head_t0 = 0.0
        self._done_count = 0
        self._idle_mark = -1
        self._idle_t0 = 0.0

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

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.listener.release(self)
        for req in (self._parsing, *self._pipeline):
            if req is not None and req.body is not None:
                req.body.abort(ClientGone())
        if self.inflight is not None:
            self.inflight.cancel()
            self.inflight = None
        if self._task is not None and not self._task.done():
            self._task.cancel()

    # ----------------------------------------------------------------- request cycle

    def _start(self, req: Request) -> None:
        self._busy = True
        self._active = req
        self._wrote = False
        body = req.body
        if req.chunked and body is not None and not body.done:
            limit = self.listener.limits.buffer_chunked_bytes
            if limit and body.received <= limit:
                # Read a small chunked body before dispatching it (see gateway.http's docstring);
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
        self._fail(refusal_response(status, reason))

    def _fail(self, answer: bytes) -> None:
        """Stop reading; answer the request at fault after those before it, then close."""
        self._stopped = True
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
