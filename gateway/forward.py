"""The task path: forward one request as a coroutine — faults, attempts,
fallback, the streamed answer.

Requests the callback fast path (:mod:`gateway.fastpath`) does not take — bodies, faults, no idle
pooled connection — and those it hands back mid-way (a candidate 5xx or failure that falls back, a
stale keep-alive connection) run here. Per attempt :meth:`Forwarder.send` builds one upstream head,
writes it (with the body when that is small: such bodies are buffered so a fallback can replay them)
and waits for the response head; :meth:`Forwarder.respond` then streams the body straight from the
upstream socket into the client socket. Fallback is described in :mod:`gateway.proxy`; every attempt
(first, fallback, a WebSocket handshake) is settled by :meth:`Forwarder.attempt`, and the decision
whether a failed first attempt goes to the other backend is :func:`falls_back`.

The books and the local replies are :class:`gateway.exchange.Books`'s, shared with the other paths.
"""

from __future__ import annotations

import asyncio
import random
from time import perf_counter

from gateway.exchange import Books, Context
from gateway.faults import decide
from gateway.framing import LAST_CHUNK, chunk, response_framing
from gateway.headers import client_response_head, upstream_request_head
from gateway.observer import BodyCopy
from gateway.request import BodyTooLarge, ClientConnection, ClientGone
from gateway.routing import BASELINE, CANDIDATE
from gateway.state import GatewayState
from gateway.upstream import (
    Sink,
    UpstreamConnectError,
    UpstreamConnection,
    UpstreamError,
    UpstreamPool,
    UpstreamReset,
    UpstreamTimeout,
)

__all__ = ["Forwarder", "falls_back"]


def falls_back(x: Context, err: UpstreamError) -> bool:
    """Whether a failed first attempt (``x.fallback_ok`` assumed) goes to the other backend.

    A candidate failure always does; a baseline one only when the baseline is unreachable or
    silent (connect error, timeout, reset before the head) — a malformed answer is an answer.
    """
    return x.backend == CANDIDATE or isinstance(
        err, (UpstreamConnectError, UpstreamTimeout, UpstreamReset)
    )


class Forwarder:
    """Send requests to the upstream pools as tasks, falling back when the route allows it."""

    def __init__(
        self,
        books: Books,
        state: GatewayState,
        pools: dict[str, UpstreamPool],
        rng: random.Random,
        strip: frozenset[bytes],
        tap_body_limit: int,
        max_request_body: int,
    ) -> None:
        """``strip``: request header names never forwarded (the override token's)."""
        self.books = books
        self.state = state
        self.pools = pools
        self.rng = rng
        self.loop = asyncio.get_running_loop()
        self.tap_body_limit = tap_body_limit
        self._authority = {name: pool.config.authority.encode() for name, pool in pools.items()}
        self._strip = strip
        self._max_body = max_request_body

    async def serve(self, x: Context, backend: str) -> None:
        """One attempt on ``backend``; a failed attempt falls back when allowed."""
        t0 = perf_counter()
        conn = await self.attempt(x, backend, t0, x.fallback_ok)
        if conn is not None:
            await self.respond(x, backend, conn, t0)

    async def fallback(self, x: Context) -> None:
        """Answer from the other backend after ``x.backend``'s attempt
        failed (one try, no deadline)."""
        other = BASELINE if x.backend == CANDIDATE else CANDIDATE
        self.books.metrics.fallback(x.route, other)
        t0 = perf_counter()
        conn = await self.attempt(x, other, t0, False)
        if conn is not None:
            await self.respond(x, other, conn, t0)

    async def attempt(
        self, x: Context, backend: str, t0: float, may_fall_back: bool
    ) -> UpstreamConnection | None:
        """Send ``x`` to ``backend`` and settle a failure: the one shape of an upstream attempt.

        Returns the connection holding a response head for the caller to answer with (the task
        path streams it, the WebSocket relay switches protocols on a 101), or ``None`` once the
        request is settled here. A body over the limit is answered 413 (the client's fault, not
        booked against the backend). Any other failure — an :class:`UpstreamError`, an injected
        abort, a candidate 5xx — is booked against ``backend``, then handed to the other backend
        when ``may_fall_back`` and the failure allows it (:func:`falls_back`; an abort or a 5xx
        only from the candidate, as a 5xx is an answer), else answered as a failure.
        """
        books = self.books
        try:
            result = await self.send(x, backend)
        except UpstreamError as err:
            if x.too_large:
                x.req.conn.close_after = True
                books.local(x.req, x.route, 413, "request_body_too_large", b"gateway", x.request_id)
                return None
            books.attempt_failed(x, backend, err, t0)
            if may_fall_back and falls_back(x, err):
                await self.fallback(x)
            else:
                books.error_reply(x, backend, err)
            return None
        if isinstance(result, int):
            books.aborted(x, backend, result, t0)
            if may_fall_back and result >= 500 and backend == CANDIDATE:
                await self.fallback(x)
            else:
                books.abort_reply(x, backend, result)
            return None
        if may_fall_back and result.status >= 500 and backend == CANDIDATE:
            self.candidate_5xx(x, result, t0)
            await self.fallback(x)
            return None
        return result

    def candidate_5xx(self, x: Context, conn: UpstreamConnection, t0: float) -> None:
        """Book a candidate 5xx that is about to be replaced by the baseline's answer."""
        self.books.answered(x, CANDIDATE, conn.status, t0)
        conn.finish()  # closes it unless the 5xx body was already complete

    # ----------------------------------------------------------------- one attempt

    async def send(self, x: Context, backend: str) -> UpstreamConnection | int:
        """Apply faults, then send the request and wait for the response head.

        Returns the connection holding the head, or an injected abort status; raises
        :class:`UpstreamError`. A reused keep-alive connection that turns out to be closed is
        replaced once, transparently, when the body can be replayed.
        """
        spec = self.state.faults[backend]
        if spec is not None:
            action = decide(spec, self.rng, x.method, x.req.target)
            if action.delay_s > 0:
                await asyncio.sleep(action.delay_s)
            if action.abort_status is not None:
                return action.abort_status
        pool = self.pools[backend]
        total = pool.config.total_timeout_s
        start = self.loop.time()
        deadline = None if total is None else start + total
        # The head deadline of a first candidate attempt that may fall back counts from now,
        # connecting included (a hung upstream's full backlog stalls the connect instead).
        after = x.fallback_after if x.fallback_ok and backend == x.backend else 0.0
        head_by = start + after if after > 0.0 else 0.0
        head = self.request_head(x, backend)
        while True:
            if head_by:
                now = self.loop.time()
                conn, reused = await pool.acquire(max(head_by - now, 0.001))
            else:
                conn, reused = await pool.acquire()
            conn.begin(x.method == "HEAD", deadline, None, x.route, head_by)
            if x.body is not None:
                conn.writelines([head, x.body]) if x.body else conn.write(head)
                conn.request_sent()
            else:
                conn.write(head)
                x.sender = self.loop.create_task(self._stream_body(x, conn))
            try:
                await conn.wait_head()
            except UpstreamError as err:
                conn.finish()
                if reused and not conn.got_bytes and x.body is not None and err.kind == "reset":
                    continue
                raise
            except BaseException:
                conn.finish()
                raise
            return conn

    def request_head(self, x: Context, backend: str) -> bytes:
        """The request head for ``backend`` (its own ``Host``)."""
        req = x.req
        return upstream_request_head(
            req.method,
            req.target,
            req.headers,
            authority=self._authority[backend],
            client_host=req.client_host,
            request_id=x.request_id,
            content_length=req.content_length if not req.chunked else None,
            chunked=req.chunked,
            upgrade=x.upgrade,
            strip=self._strip,
        )

    async def _stream_body(self, x: Context, conn: UpstreamConnection) -> None:
        """Copy a large or chunked request body upstream, honouring both sides' back-pressure."""
        assert x.req.body is not None
        body, chunked = x.req.body, x.req.chunked
        limit, sent = self._max_body, 0
        try:
            while data := await body.read():
                sent += len(data)
                if sent > limit:
                    raise BodyTooLarge()
                if chunked:
                    conn.writelines(chunk(data))
                else:
                    conn.write(data)
                await conn.drain()
            if chunked:
                conn.write(LAST_CHUNK)
            conn.request_sent()
        except BodyTooLarge:
            x.too_large = True
            conn.close()  # the pending head fails with a reset; the handler answers 413
        except ClientGone:
            conn.close()

    async def respond(self, x: Context, backend: str, conn: UpstreamConnection, t0: float) -> None:
        """Send the upstream's response to the client, streaming its body, and book the attempt."""
        client = x.req.conn
        status = conn.status
        length = conn.content_length
        early: list[bytes] = []
        if conn.complete:  # the whole response is here already: frame it with a length
            early = conn.take_early()
            if length is None and (conn.chunked or conn.until_close):
                length = sum(map(len, early))
        chunked, keep_alive = response_framing(
            length, conn.complete, x.req.http11, x.req.keep_alive and not client.close_after
        )
        if not keep_alive:
            client.close_after = True
        head = client_response_head(
            status, conn.reason, conn.headers, backend=backend.encode(), request_id=x.request_id,
            content_length=length, chunked=chunked, keep_alive=keep_alive,
        )  # fmt: skip
        capture: BodyCopy | None = None
        if x.tap_wanted and (length is None or length <= self.tap_body_limit):
            capture = BodyCopy(self.tap_body_limit)
        error: str | None = None
        if conn.complete and not chunked:
            client.writelines([head, *early])
            if capture is not None:
                for data in early:
                    capture.add(data)
        else:
            client.write(head)
            sink = _sink(client, chunked, capture)
            client.relay_from = conn.transport
            if client.write_paused and conn.transport is not None:
                conn.transport.pause_reading()
            conn.attach_sink(sink)
            try:
                await conn.wait_done()
            except UpstreamError as err:
                error = err.kind
                self.books.cut(x, backend, err.kind)
                client.abort()
            finally:
                client.relay_from = None
            if chunked and error is None:
                client.write(LAST_CHUNK)
        conn.finish()
        self.books.booked(x, backend, status, perf_counter() - t0, error)
        if x.tap_wanted and error is None:
            body = None if capture is None else capture.body()
            self.books.tapped(x, backend, status, conn.headers, body)


def _sink(client: ClientConnection, chunked: bool, capture: BodyCopy | None) -> Sink:
    """The function that writes each upstream body chunk to the client (and copies it)."""
    if capture is None:
        if not chunked:
            return client.write

        def chunk_writer(data: bytes) -> None:
            client.writelines(chunk(data))

        return chunk_writer

    def capturing(data: bytes) -> None:
        if chunked:
            client.writelines(chunk(data))
        else:
            client.write(data)
        capture.add(data)

    return capturing
