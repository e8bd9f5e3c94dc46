"""The request handler of the public listener: choose a backend, forward, fall back, answer.

Policy is delegated to pure modules (``routing`` picks the backend, ``faults`` decides injected
faults, ``headers`` rewrites heads); this module moves bytes and keeps the books. Per request it
builds one upstream head, writes it (with the body when that is small: such bodies are buffered so
a fallback can replay them), waits for the response head, and then streams the body straight from
the upstream socket into the client socket.

Fallback (design page, "Fallback"; issue #12 items 1 and 3), per route ``fallback``:

* ``to_baseline`` and ``both``: an idempotent request whose *candidate* attempt fails with a
  connect error, a timeout, a reset or a 5xx is sent once to the baseline. Its candidate attempt
  also has a head deadline, ``fallback_after`` (:mod:`gateway.state`), so a hung candidate costs
  the client that long, not the read timeout.
* ``both`` (the default): an idempotent request whose *baseline* attempt fails with a connect
  error, a timeout or a reset before any response head is sent once to the candidate — a dead
  baseline must not turn into 502s while a healthy candidate idles. The baseline's own 5xx is its
  answer and stands. This is nginx's ``proxy_next_upstream error timeout`` (its default), which
  also never retries on a status unless told to.
* ``off``: no second attempt in either direction.

Only requests whose body was buffered can be replayed. The decision is taken on the response
*head*, before a byte reaches the client; once the client has bytes, a failure can only cut the
connection. Every attempt — the failed one included — is counted in the metrics and shown to each
:class:`~gateway.observer.RequestObserver`, with the request's operation (issue #14): an injected
``classify(route, method, target)`` (:class:`migration.operations.OperationClassifier`) names it
once per request, on the first attempt booked while there are observers, and every later attempt
of the request (a fallback's) reuses the name; without a classifier the operation is ``""``.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
from collections.abc import Callable, Coroutine, Sequence
from time import perf_counter
from typing import Any

import structlog

from gateway.config import GatewayConfig
from gateway.fastpath import FastExchange
from gateway.faults import abort_body, decide
from gateway.headers import client_response_head, upstream_request_head
from gateway.http import BodyTooLarge, ClientGone, HttpConnection, Request
from gateway.metrics import GatewayMetrics
from gateway.observer import BodyCopy, Exchange, RequestObserver, ResponseTap
from gateway.routing import BASELINE, CANDIDATE, RouteTable
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
from gateway.websocket import relay

log = structlog.get_logger("gateway.access")

_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")}
_JSON = [(b"content-type", b"application/json")]
_REASONS = {
    400: b"Bad Request", 404: b"Not Found", 413: b"Content Too Large",
    502: b"Bad Gateway", 504: b"Gateway Timeout",
}  # fmt: skip


class Ctx:
    """What one request carries through its attempts (a plain slotted class: built per request)."""

    __slots__ = (
        "backend", "body", "fallback_after", "fallback_methods", "fallback_ok", "method",
        "operation", "req", "request_id", "route", "sender", "tap_wanted", "too_large", "upgrade",
    )  # fmt: skip

    def __init__(
        self, req: Request, route: str, method: str, request_id: bytes, body: bytes | None,
        backend: str, fallback_methods: frozenset[str], fallback_after: float,
    ) -> None:  # fmt: skip
        self.req = req
        self.route = route
        self.method = method
        self.request_id = request_id
        self.body = body  # buffered (replayable) body; None while it streams
        self.backend = backend
        # The methods that may fall back *from this backend* (empty when the route forbids it) and
        # the head deadline of a first attempt that may (0.0: none; only candidate attempts).
        self.fallback_methods = fallback_methods
        self.fallback_after = fallback_after
        self.fallback_ok = method in fallback_methods and body is not None
        self.upgrade: bytes | None = req.upgrade
        self.too_large = False
        self.sender: asyncio.Task[None] | None = None
        self.tap_wanted: tuple[ResponseTap, ...] = ()
        self.operation: str | None = None  # classified on the first attempt an observer sees


class Proxy:
    """Forward requests to the chosen upstream; the public listener's handler."""

    def __init__(
        self,
        config: GatewayConfig,
        state: GatewayState,
        metrics: GatewayMetrics,
        pools: dict[str, UpstreamPool],
        observers: Sequence[RequestObserver] = (),
        taps: Sequence[ResponseTap] = (),
        rng: random.Random | None = None,
        classify: Callable[[str, str, str], str] | None = None,
    ) -> None:
        """``classify(route, method, target)``: a request's operation name (None: always "")."""
        self.config = config
        self.state = state
        self.metrics = metrics
        self.pools = pools
        self.observers = tuple(observers)
        self.taps = tuple(taps)
        self.rng = rng or random.Random()
        self.classify = classify
        self.table = RouteTable(config.routes, config.override)
        state.key_sketches = self.table.keys  # the admin API's distinct sticky keys per route
        self.loop = asyncio.get_running_loop()
        self._authority = {name: pool.config.authority.encode() for name, pool in pools.items()}
        self._strip = frozenset({config.override.token_header.encode("latin-1")})
        self._limits = config.limits
        self.tap_body_limit = self._limits.tap_body_limit_bytes
        self.fast_exchanges = 0  # requests served from callbacks (tests read it)
        # Per route: its name and the methods that may fall back from the candidate and from the
        # baseline (an empty set where the route's ``fallback`` forbids that direction).
        none: frozenset[str] = frozenset()
        self._routes = tuple(
            (
                r.name,
                none if r.fallback == "off" else r.fallback_methods,
                r.fallback_methods if r.fallback == "both" else none,
            )
            for r in config.routes
        )
        metrics.inflight_source = self.inflight_totals
        # Request ids: a random per-process prefix and a counter — unique across replicas and
        # restarts for all practical purposes, and ~6x cheaper than uuid4().
        self._rid_prefix = os.urandom(8).hex().encode()
        self._rid_counter = itertools.count(1)

    # ----------------------------------------------------------------- entry point

    def dispatch(self, req: Request) -> Coroutine[Any, Any, None] | None:
        """Entry point from the server layer: serve ``req`` from callbacks, or return a coroutine.

        A body-less request whose backend has an idle pooled connection and no fault is served
        entirely from protocol callbacks, response taps included (:mod:`gateway.fastpath`);
        everything else runs as a task through :meth:`handle`. ``None`` means the request is answered or in flight.
        """
        if req.body is not None or req.upgrade is not None:
            return self.handle(req)
        x = self.prepare(req)
        if x is None:
            return None
        if self.state.faults[x.backend] is not None:
            return self.run(x)
        pool = self.pools[x.backend]
        while pool.idle:
            conn = pool.idle.pop()
            if not conn.closed:
                self.fast_exchanges += 1
                FastExchange(self, x, conn).start(self.request_head(x, x.backend))
                return None
        return self.run(x)

    def prepare(self, req: Request) -> Ctx | None:
        """Match the route and choose the backend; answers 404/413 itself (then returns None)."""
        raw = req.method
        method = _METHODS.get(raw) or raw.decode("ascii", "replace")
        target = req.target
        cut = target.find(b"?")
        index = self.table.match_raw(raw, target if cut < 0 else target[:cut])
        headers = dict(req.headers)
        rid = headers.get(b"x-request-id") or b"%s%08x" % (
            self._rid_prefix,
            next(self._rid_counter),
        )
        if index is None:
            self._local(req, "unmatched", 404, "no_route", b"gateway", rid)
            return None
        name, from_candidate, from_baseline = self._routes[index]
        if req.content_length and req.content_length > self._limits.max_request_body_bytes:
            req.conn.close_after = True
            self._local(req, name, 413, "request_body_too_large", b"gateway", rid)
            return None
        choice = self.table.choose(
            index, self.state.weights[index], headers, req.client_host, self.rng.random
        )
        body = b"" if req.body is None else None
        backend = choice.backend
        if backend == CANDIDATE:
            x = Ctx(
                req,
                name,
                method,
                rid,
                body,
                backend,
                from_candidate,
                self.state.fallback_after[index],
            )
        else:
            x = Ctx(req, name, method, rid, body, backend, from_baseline, 0.0)
        if self.taps:
            x.tap_wanted = tuple(t for t in self.taps if t.wants(name, method))
        return x

    async def handle(self, req: Request) -> None:
        """Serve a request on the task path (bodies, upgrades)."""
        x = self.prepare(req)
        if x is None:
            return
        small = (req.content_length or 0) <= self._limits.replay_buffer_bytes
        if req.body is not None and not req.chunked and small:
            try:
                x.body = await req.body.read_all()
            except ClientGone:
                return
            x.fallback_ok = x.method in x.fallback_methods
        await self.run(x)

    async def run(self, x: Ctx) -> None:
        """Serve a prepared request as a task: relay an upgrade, or forward with fallback."""
        if x.upgrade is not None:
            return await relay(self, x, x.backend)
        try:
            await self.serve(x, x.backend)
        finally:
            if x.sender is not None and not x.sender.done():
                x.sender.cancel()
                x.req.conn.close_after = True
        return None

    async def serve(self, x: Ctx, backend: str) -> None:
        """One attempt on ``backend``; a failed attempt falls back when allowed."""
        t0 = perf_counter()
        try:
            result = await self.send(x, backend)
        except UpstreamError as err:
            if x.too_large:
                x.req.conn.close_after = True
                return self._local(
                    x.req, x.route, 413, "request_body_too_large", b"gateway", x.request_id
                )
            self._attempt_failed(x, backend, err, t0)
            if not (x.fallback_ok and self.falls_back(x, err)):
                return self._error(x, backend, err)
            return await self.fallback(x)
        if isinstance(result, int):
            self._aborted(x, backend, result, t0)
            if result >= 500 and x.fallback_ok and backend == CANDIDATE:
                return await self.fallback(x)
            return self._abort_reply(x, backend, result)
        if result.status >= 500 and x.fallback_ok and backend == CANDIDATE:
            self.candidate_5xx(x, result, t0)
            return await self.fallback(x)
        await self._respond(x, backend, result, t0)
        return None

    def candidate_5xx(self, x: Ctx, conn: UpstreamConnection, t0: float) -> None:
        """Book a candidate 5xx that is about to be replaced by the baseline's answer."""
        duration = perf_counter() - t0
        self.metrics.record(x.route, CANDIDATE, conn.status, duration)
        self._observe(x, CANDIDATE, conn.status, duration, None)
        conn.finish()  # closes it unless the 5xx body was already complete

    @staticmethod
    def falls_back(x: Ctx, err: UpstreamError) -> bool:
        """Whether a failed first attempt (``x.fallback_ok`` assumed) goes to the other backend.

        A candidate failure always does; a baseline one only when the baseline is unreachable or
        silent (connect error, timeout, reset before the head) — a malformed answer is an answer.
        """
        return x.backend == CANDIDATE or isinstance(
            err, (UpstreamConnectError, UpstreamTimeout, UpstreamReset)
        )

    async def fallback(self, x: Ctx) -> None:
        """Answer from the other backend after ``x.backend``'s attempt failed (one try, no deadline)."""
        other = BASELINE if x.backend == CANDIDATE else CANDIDATE
        self.metrics.fallback(x.route, other)
        t0 = perf_counter()
        try:
            result = await self.send(x, other)
        except UpstreamError as err:
            self._attempt_failed(x, other, err, t0)
            return self._error(x, other, err)
        if isinstance(result, int):
            self._aborted(x, other, result, t0)
            return self._abort_reply(x, other, result)
        await self._respond(x, other, result, t0)
        return None

    def _abort_reply(self, x: Ctx, backend: str, status: int) -> None:
        body = abort_body(backend, status, x.request_id.decode("latin-1"))
        self._reply(x.req, status, b"Injected Fault", _JSON, body, backend.encode(), x.request_id)

    # ----------------------------------------------------------------- one attempt

    async def send(self, x: Ctx, backend: str) -> UpstreamConnection | int:
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

    def request_head(self, x: Ctx, backend: str) -> bytes:
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

    async def _stream_body(self, x: Ctx, conn: UpstreamConnection) -> None:
        """Copy a large or chunked request body upstream, honouring both sides' back-pressure."""
        assert x.req.body is not None
        body, chunked = x.req.body, x.req.chunked
        limit, sent = self._limits.max_request_body_bytes, 0
        try:
            while chunk := await body.read():
                sent += len(chunk)
                if sent > limit:
                    raise BodyTooLarge()
                if chunked:
                    conn.writelines([b"%x\r\n" % len(chunk), chunk, b"\r\n"])
                else:
                    conn.write(chunk)
                await conn.drain()
            if chunked:
                conn.write(b"0\r\n\r\n")
            conn.request_sent()
        except BodyTooLarge:
            x.too_large = True
            conn.close()  # the pending head fails with a reset; the handler answers 413
        except ClientGone:
            conn.close()

    async def _respond(self, x: Ctx, backend: str, conn: UpstreamConnection, t0: float) -> None:
        """Send the upstream's response to the client, streaming its body."""
        client = x.req.conn
        status = conn.status
        length = conn.content_length
        early: list[bytes] = []
        if conn.complete:  # the whole response is here already: frame it with a length
            early = conn.take_early()
            if length is None and (conn.chunked or conn.until_close):
                length = sum(map(len, early))
        streamed = length is None and not conn.complete
        chunked = streamed and x.req.http11
        keep_alive = x.req.keep_alive and (not streamed or chunked) and not client.close_after
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
            sink = self._sink(client, chunked, capture)
            client.relay_from = conn.transport
            if client.write_paused and conn.transport is not None:
                conn.transport.pause_reading()
            conn.attach_sink(sink)
            try:
                await conn.wait_done()
            except UpstreamError as err:
                error = err.kind
                self.metrics.upstream_error(x.route, backend, err.kind)
                client.abort()
            finally:
                client.relay_from = None
            if chunked and error is None:
                client.write(b"0\r\n\r\n")
        conn.finish()
        self.booked(x, backend, status, perf_counter() - t0, error)
        if x.tap_wanted and error is None:
            self.tapped(
                x, backend, status, conn.headers, None if capture is None else capture.body()
            )

    def _sink(self, client: HttpConnection, chunked: bool, capture: BodyCopy | None) -> Sink:
        """The function that writes each upstream body chunk to the client (and copies it)."""
        if capture is None:
            if not chunked:
                return client.write

            def chunk_writer(data: bytes) -> None:
                client.writelines([b"%x\r\n" % len(data), data, b"\r\n"])

            return chunk_writer

        def capturing(data: bytes) -> None:
            if chunked:
                client.writelines([b"%x\r\n" % len(data), data, b"\r\n"])
            else:
                client.write(data)
            capture.add(data)

        return capturing

    # ----------------------------------------------------------------- in-flight evidence

    def inflight(self, route: str, backend: str, older_than_s: float) -> tuple[int, int, float]:
        """``(attempts in flight, those older than older_than_s, oldest age in s or 0.0)``.

        For the controller, once a second (O(in flight)): a hung upstream finishes no attempt, so
        only the ones still open can show it. Attempts waiting for a connection are not counted,
        nor those whose response head has arrived (a long body or a WebSocket is not a hang).
        """
        return self.pools[backend].inflight(self.loop.time(), older_than_s, route, True)

    def inflight_ages(self, route: str, backend: str, limit: int) -> tuple[int, list[float]]:
        """``(count, ages)``: attempts in flight and the ``limit`` oldest ages in s, oldest first.

        The attempts :meth:`inflight` counts; what a cluster member reports with its heartbeat
        (:func:`migration.cluster.inflight.inflight_report`), bounded whatever is in flight.
        """
        return self.pools[backend].inflight_ages(self.loop.time(), route, limit, True)

    def inflight_totals(self, backend: str) -> tuple[int, float]:
        """All routes' attempts in flight on ``backend`` and the oldest one's age (for /metrics)."""
        count, _, oldest = self.pools[backend].inflight(self.loop.time(), float("inf"), None)
        return count, oldest

    # ----------------------------------------------------------------- bookkeeping

    def booked(self, x: Ctx, backend: str, status: int, duration: float, error: str | None) -> None:
        """Metrics, observers and the sampled access log for one finished attempt."""
        self.metrics.record(x.route, backend, status, duration)
        self._observe(x, backend, status, duration, error)
        rate = self.config.access_log_sample_rate
        if rate and self.rng.random() < rate:
            log.info(
                "access",
                request_id=x.request_id.decode("latin-1"),
                route=x.route,
                backend=backend,
                method=x.method,
                target=self.config.redact.target(x.req.target.decode("latin-1")),
                status=status,
                duration_ms=round(duration * 1000, 3),
                error=error,
            )

    def tapped(
        self,
        x: Ctx,
        backend: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
    ) -> None:
        """Hand the finished exchange to the taps that wanted it (their errors are logged only)."""
        exchange = Exchange(
            route=x.route, backend=backend, method=x.method, target=x.req.target.decode("latin-1"),
            request_headers=tuple(x.req.headers), request_body=x.body, status=status,
            response_headers=tuple(headers), response_body=body,
        )  # fmt: skip
        for tap in x.tap_wanted:
            try:
                tap.on_response(exchange)
            except Exception as exc:
                log.error("tap_failed", tap=type(tap).__name__, error=repr(exc))

    def operation(self, x: Ctx) -> str:
        """``x``'s operation: classified on the first call, then kept ("" without a classifier).

        A classifier that raises costs the request its operation name (""), never its answer.
        """
        operation = x.operation
        if operation is None:
            operation = ""
            classify = self.classify
            if classify is not None:
                try:
                    operation = classify(x.route, x.method, x.req.target.decode("latin-1"))
                except Exception as exc:
                    log.error("classify_failed", route=x.route, error=repr(exc))
            x.operation = operation
        return operation

    def _observe(
        self, x: Ctx, backend: str, status: int, duration: float, kind: str | None
    ) -> None:
        """Show one attempt to every observer (their errors are logged only)."""
        observers = self.observers
        if not observers:
            return
        route, operation = x.route, self.operation(x)
        for observer in observers:
            try:
                observer.observe(route, backend, status, duration, kind, operation)
            except Exception as exc:
                log.error("observer_failed", observer=type(observer).__name__, error=repr(exc))

    def _attempt_failed(self, x: Ctx, backend: str, err: UpstreamError, t0: float) -> None:
        duration = perf_counter() - t0
        self.metrics.upstream_error(x.route, backend, err.kind)
        self.metrics.record(x.route, backend, err.status, duration)
        self._observe(x, backend, err.status, duration, err.kind)
        log.warning(
            "upstream_failed", request_id=x.request_id.decode("latin-1"), route=x.route,
            backend=backend, kind=err.kind, detail=str(err),
        )  # fmt: skip

    def _aborted(self, x: Ctx, backend: str, status: int, t0: float) -> None:
        duration = perf_counter() - t0
        self.metrics.upstream_error(x.route, backend, "fault_abort")
        self.metrics.record(x.route, backend, status, duration)
        self._observe(x, backend, status, duration, "fault_abort")

    def _error(self, x: Ctx, backend: str, err: UpstreamError) -> None:
        body = b'{"error":"%s","backend":"%s","request_id":"%s"}' % (
            err.error.encode(),
            backend.encode(),
            x.request_id,
        )
        self._reply(
            x.req, err.status, _REASONS[err.status], _JSON, body, backend.encode(), x.request_id
        )

    def _local(
        self, req: Request, route: str, status: int, error: str, backend: bytes, rid: bytes
    ) -> None:
        self.metrics.record(route, backend.decode(), status, None)
        body = b'{"error":"%s","request_id":"%s"}' % (error.encode(), rid)
        self._reply(req, status, _REASONS[status], _JSON, body, backend, rid)

    def _reply(
        self, req: Request, status: int, reason: bytes, headers: list[tuple[bytes, bytes]],
        body: bytes, backend: bytes, rid: bytes,
    ) -> None:  # fmt: skip
        keep_alive = req.keep_alive and not req.conn.close_after
        if not keep_alive:
            req.conn.close_after = True
        head = client_response_head(
            status, reason, headers, backend=backend, request_id=rid,
            content_length=len(body), chunked=False, keep_alive=keep_alive,
        )  # fmt: skip
        req.conn.writelines([head, body])
