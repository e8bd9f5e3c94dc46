"""The callback fast path: a body-less request on a pooled connection, with no task at all.

Measured on this machine, an asyncio task per request plus the futures it awaits cost ~10 µs of
the 80 µs budget, and one extra event-loop pass of latency. Most API traffic is a ``GET`` on a warm
keep-alive connection, so :meth:`gateway.proxy.Proxy.dispatch` serves exactly that case from the
protocol callbacks: the request head is written upstream while the client's bytes are still being
parsed, and the upstream's head and body are written to the client from the upstream's
``data_received`` — one ``writelines`` per upstream read, so a small response leaves in one syscall.

Response taps (shadowing, contract checks, the recorder) ride along: when a tap wants the exchange,
the body chunks written to the client are also kept (up to ``limits.tap_body_limit_bytes``) and the
taps get the exchange once the response is complete, as on the task path.

Anything unusual leaves the fast path for the task path (:mod:`gateway.forward`) at a point where
that is still safe: a candidate 5xx or failure that may fall back (a hung candidate's included: the
pool's sweep fails the exchange at its fallback deadline), a dead or silent baseline on a route
with ``fallback: both``, or a reused connection that turns out to be closed before answering
(retried on a fresh connection). The bookkeeping — metrics, observers, access log — and the local
replies are :class:`gateway.exchange.Books`'s, shared with the task path; the upstream connection
calls :class:`FastExchange` through its native base :class:`gateway.upstream.ResponseListener`.
"""

from __future__ import annotations

from collections.abc import Coroutine
from time import perf_counter
from typing import Any

from gateway.exchange import Context
from gateway.forward import Forwarder, falls_back
from gateway.framing import LAST_CHUNK, chunk, response_framing
from gateway.headers import client_response_head
from gateway.observer import BodyCopy
from gateway.routing import BASELINE, CANDIDATE
from gateway.upstream import ResponseListener, UpstreamConnection, UpstreamError

__all__ = ["FastExchange"]

_BACKEND_BYTES = {BASELINE: BASELINE.encode(), CANDIDATE: CANDIDATE.encode()}


class FastExchange(ResponseListener):
    """One request/response driven by :class:`UpstreamConnection` callbacks."""

    __slots__ = (
        "capture",
        "chunked",
        "committed",
        "conn",
        "forwarder",
        "pending",
        "t0",
        "x",
    )

    def __init__(self, forwarder: Forwarder, x: Context, conn: UpstreamConnection) -> None:
        self.forwarder = forwarder
        self.x = x
        self.conn = conn
        self.pending: list[bytes] = []
        self.committed = False
        self.chunked = False
        self.t0 = 0.0
        self.capture: BodyCopy | None = None  # the body copied for the taps

    def start(self, head: bytes) -> None:
        """Send the request on the (reused) connection and wait for callbacks."""
        conn = self.conn
        total = conn.pool.config.total_timeout_s
        # Durations use perf_counter: uvloop's loop.time() has millisecond resolution, too coarse
        # for the latency histograms of sub-millisecond upstreams. Deadlines stay on the loop clock.
        self.t0 = perf_counter()
        t0 = self.forwarder.loop.time()
        x = self.x
        after = x.fallback_after if x.fallback_ok else 0.0
        conn.begin(
            x.method == "HEAD",
            None if total is None else t0 + total,
            t0,
            x.route,
            t0 + after if after > 0.0 else 0.0,
        )
        conn.listener = self
        x.req.conn.inflight = self
        conn.write(head)
        conn.request_sent(t0)

    # ----------------------------------------------------------------- upstream callbacks

    def on_head(self) -> None:
        conn, x = self.conn, self.x
        if conn.status >= 500 and x.fallback_ok and x.backend == CANDIDATE:
            conn.listener = None
            self.forwarder.candidate_5xx(x, conn, self.t0)
            self._to_task(self.forwarder.fallback(x))
            return
        client = x.req.conn
        length = conn.content_length
        chunked, keep_alive = response_framing(
            length, conn.complete, x.req.http11, x.req.keep_alive and not client.close_after
        )
        self.chunked = chunked
        if not keep_alive:
            client.close_after = True
        self.pending.append(
            client_response_head(
                conn.status,
                conn.reason,
                conn.headers,
                backend=_BACKEND_BYTES[x.backend],
                request_id=x.request_id,
                content_length=length,
                chunked=chunked,
                keep_alive=keep_alive,
            )
        )
        self.committed = True
        client.relay_from = conn.transport
        if client.write_paused and conn.transport is not None:
            conn.transport.pause_reading()
        limit = self.forwarder.tap_body_limit
        if x.tap_wanted and (length is None or length <= limit):
            self.capture = BodyCopy(limit)
            conn.attach_sink(self._chunk_kept if chunked else self._kept)
        else:
            conn.attach_sink(self._chunk if chunked else self.pending.append)

    def _chunk(self, data: bytes) -> None:
        self.pending += chunk(data)

    def _kept(self, data: bytes) -> None:
        self.pending.append(data)
        self.capture.add(data)  # type: ignore[union-attr]  # set with this sink

    def _chunk_kept(self, data: bytes) -> None:
        self._chunk(data)
        self.capture.add(data)  # type: ignore[union-attr]  # set with this sink

    def flush(self) -> None:
        if self.pending:
            self.x.req.conn.writelines(self.pending)
            self.pending.clear()  # in place: the sink is bound to this list's append

    def on_done(self) -> None:
        conn, x, books = self.conn, self.x, self.forwarder.books
        if self.chunked:
            self.pending.append(LAST_CHUNK)
        self.flush()
        conn.listener = None
        x.req.conn.relay_from = None
        status, headers = conn.status, conn.headers
        conn.finish()
        books.booked(x, x.backend, status, perf_counter() - self.t0, None)
        if x.tap_wanted:
            capture = self.capture
            books.tapped(x, x.backend, status, headers, None if capture is None else capture.body())
        self._release()

    def on_error(self, error: UpstreamError) -> None:
        conn, x, forwarder = self.conn, self.x, self.forwarder
        books = forwarder.books
        conn.listener = None
        conn.finish()
        if self.committed:
            self.flush()
            books.cut(x, x.backend, error.kind)
            books.booked(x, x.backend, conn.status, perf_counter() - self.t0, error.kind)
            x.req.conn.relay_from = None
            x.req.conn.abort()
            self._release()
        elif error.kind == "reset" and not conn.got_bytes:
            self._to_task(forwarder.serve(x, x.backend))  # a stale keep-alive connection: retry
        elif x.fallback_ok and falls_back(x, error):
            books.attempt_failed(x, x.backend, error, self.t0)
            self._to_task(forwarder.fallback(x))
        else:
            books.attempt_failed(x, x.backend, error, self.t0)
            books.error_reply(x, x.backend, error)
            self._release()

    # ----------------------------------------------------------------- client side

    def cancel(self) -> None:
        """The client went away: drop the upstream exchange."""
        if self.conn.listener is self:
            self.conn.listener = None
            self.conn.close()
            self.conn.finish()

    def _to_task(self, coro: Coroutine[Any, Any, None]) -> None:
        self.x.req.conn.adopt(coro, self.x.req)

    def _release(self) -> None:
        client = self.x.req.conn
        client.inflight = None
        if client.has_pipelined:
            # Deferred one loop pass: the next pipelined request must not reuse this upstream
            # connection while its parser is still inside ``feed_data``.
            self.forwarder.loop.call_soon(client.request_done, self.x.req)
        else:
            client.request_done(self.x.req)
