"""The request handler of the public listener: match the route, choose a backend, pick a path.

Policy is delegated to pure modules (``routing`` picks the backend, ``faults`` decides injected
faults, ``headers`` rewrites heads, ``framing`` frames bodies). This module only wires the paths a
request can take: the callback fast path (:mod:`gateway.fastpath`), the task path
(:mod:`gateway.forward`) and the WebSocket relay (:mod:`gateway.websocket`); all of them keep the
books and answer locally through :class:`gateway.exchange.Books`, and none imports this module.

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
from typing import Any

from gateway.config import GatewayConfig
from gateway.exchange import Books, Context
from gateway.fastpath import FastExchange
from gateway.forward import Forwarder
from gateway.http import ClientGone, Request
from gateway.metrics import GatewayMetrics
from gateway.observer import RequestObserver, ResponseTap
from gateway.routing import CANDIDATE, RouteTable
from gateway.state import GatewayState
from gateway.upstream import UpstreamPool
from gateway.websocket import relay

__all__ = ["Proxy"]

_METHODS = {m.encode(): m for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")}


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
        self.taps = tuple(taps)
        self.rng = rng or random.Random()
        self.table = RouteTable(config.routes, config.override)
        state.key_sketches = self.table.keys  # the admin API's distinct sticky keys per route
        self.loop = asyncio.get_running_loop()
        self._limits = config.limits
        self.books = Books(config, metrics, observers, self.rng, classify)
        self.forwarder = Forwarder(
            self.books,
            state,
            pools,
            self.rng,
            frozenset({config.override.token_header.encode("latin-1")}),
            self._limits.tap_body_limit_bytes,
            self._limits.max_request_body_bytes,
        )
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
        everything else runs as a task through :meth:`handle`. ``None`` means the request is
        answered or in flight.
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
                forwarder = self.forwarder
                FastExchange(forwarder, x, conn).start(forwarder.request_head(x, x.backend))
                return None
        return self.run(x)

    def prepare(self, req: Request) -> Context | None:
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
            self.books.local(req, "unmatched", 404, "no_route", b"gateway", rid)
            return None
        name, from_candidate, from_baseline = self._routes[index]
        if req.content_length and req.content_length > self._limits.max_request_body_bytes:
            req.conn.close_after = True
            self.books.local(req, name, 413, "request_body_too_large", b"gateway", rid)
            return None
        choice = self.table.choose(
            index, self.state.weights[index], headers, req.client_host, self.rng.random
        )
        body = b"" if req.body is None else None
        backend = choice.backend
        if backend == CANDIDATE:
            x = Context(
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
            x = Context(req, name, method, rid, body, backend, from_baseline, 0.0)
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

    async def run(self, x: Context) -> None:
        """Serve a prepared request as a task: relay an upgrade, or forward with fallback."""
        if x.upgrade is not None:
            return await relay(self.forwarder, x, x.backend)
        try:
            await self.forwarder.serve(x, x.backend)
        finally:
            if x.sender is not None and not x.sender.done():
                x.sender.cancel()
                x.req.conn.close_after = True
        return None

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
