"""One proxied exchange: the request's context through its attempts, and the books they are kept in.

Three paths serve a request — the callback fast path (:mod:`gateway.fastpath`), the task path
(:mod:`gateway.forward`) and the WebSocket relay (:mod:`gateway.websocket`) — and all three keep the
same books and answer locally in the same words. Both live here, behind public methods, so that none
of those modules reaches into another's privates and none imports :mod:`gateway.proxy`, which only
wires them together:

* :class:`Context` — what one request carries from attempt to attempt (route, backend, the
  replayable body, whether it may fall back, the taps that want it, its operation name).
* :class:`Books` — per finished attempt: the metrics, every
  :class:`~gateway.observer.RequestObserver` (with the request's operation, classified
  once, issue #14), the sampled access log; the response taps; and the replies the gateway
  writes itself (404/413, 502/504 after a failed attempt, an injected abort), all small
  JSON bodies framed with a Content-Length.

Observers, taps and the classifier are other people's code on the clients' path: their errors are
logged, never raised into the request.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from time import perf_counter

import structlog

from gateway.config import GatewayConfig
from gateway.faults import abort_body
from gateway.headers import client_response_head
from gateway.metrics import GatewayMetrics
from gateway.observer import Exchange, RequestObserver, ResponseTap
from gateway.request import Request
from gateway.upstream import UpstreamError

__all__ = ["Books", "Context"]

log = structlog.get_logger("gateway.access")

_JSON = [(b"content-type", b"application/json")]
_REASONS = {
    400: b"Bad Request",
    404: b"Not Found",
    413: b"Content Too Large",
    502: b"Bad Gateway",
    504: b"Gateway Timeout",
}


class Context:
    """What one request carries through its attempts (a plain slotted class: built per request)."""

    __slots__ = (
        "backend",
        "body",
        "fallback_after",
        "fallback_methods",
        "fallback_ok",
        "method",
        "operation",
        "req",
        "request_id",
        "route",
        "sender",
        "tap_wanted",
        "too_large",
        "upgrade",
    )

    def __init__(
        self,
        req: Request,
        route: str,
        method: str,
        request_id: bytes,
        body: bytes | None,
        backend: str,
        fallback_methods: frozenset[str],
        fallback_after: float,
    ) -> None:
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


class Books:
    """Metrics, observers, access log, taps and local replies, shared by every path of a request."""

    def __init__(
        self,
        config: GatewayConfig,
        metrics: GatewayMetrics,
        observers: Sequence[RequestObserver],
        rng: random.Random,
        classify: Callable[[str, str, str], str] | None,
    ) -> None:
        """``rng`` samples the access log; ``classify(route, method, target)`` names operations."""
        self.config = config
        self.metrics = metrics
        self.observers = tuple(observers)
        self.rng = rng
        self.classify = classify

    # ----------------------------------------------------------------- attempts

    def booked(
        self, x: Context, backend: str, status: int, duration: float, error: str | None
    ) -> None:
        """Metrics, observers and the sampled access log for one finished attempt."""
        self.metrics.record(x.route, backend, status, duration)
        self.observe(x, backend, status, duration, error)
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

    def answered(self, x: Context, backend: str, status: int, t0: float) -> None:
        """An attempt whose answer the client will not see as such (a replaced 5xx, a 101)."""
        duration = perf_counter() - t0
        self.metrics.record(x.route, backend, status, duration)
        self.observe(x, backend, status, duration, None)

    def attempt_failed(self, x: Context, backend: str, err: UpstreamError, t0: float) -> None:
        """An attempt that got no usable answer (connect error, timeout, reset, bad response)."""
        duration = perf_counter() - t0
        self.metrics.upstream_error(x.route, backend, err.kind)
        self.metrics.record(x.route, backend, err.status, duration)
        self.observe(x, backend, err.status, duration, err.kind)
        log.warning(
            "upstream_failed",
            request_id=x.request_id.decode("latin-1"),
            route=x.route,
            backend=backend,
            kind=err.kind,
            detail=str(err),
        )

    def aborted(self, x: Context, backend: str, status: int, t0: float) -> None:
        """An attempt answered by an injected abort fault instead of the upstream."""
        duration = perf_counter() - t0
        self.metrics.upstream_error(x.route, backend, "fault_abort")
        self.metrics.record(x.route, backend, status, duration)
        self.observe(x, backend, status, duration, "fault_abort")

    def cut(self, x: Context, backend: str, kind: str) -> None:
        """The upstream failed after the client got the head: only the
        error count is left to book."""
        self.metrics.upstream_error(x.route, backend, kind)

    def observe(
        self, x: Context, backend: str, status: int, duration: float, kind: str | None
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

    def operation(self, x: Context) -> str:
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

    def tapped(
        self,
        x: Context,
        backend: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes | None,
    ) -> None:
        """Hand the finished exchange to the taps that wanted it (their errors are logged only)."""
        exchange = Exchange(
            route=x.route,
            backend=backend,
            method=x.method,
            target=x.req.target.decode("latin-1"),
            request_headers=tuple(x.req.headers),
            request_body=x.body,
            status=status,
            response_headers=tuple(headers),
            response_body=body,
        )
        for tap in x.tap_wanted:
            try:
                tap.on_response(exchange)
            except Exception as exc:
                log.error("tap_failed", tap=type(tap).__name__, error=repr(exc))

    # ----------------------------------------------------------------- local replies

    def error_reply(self, x: Context, backend: str, err: UpstreamError) -> None:
        """502/504 after a failed attempt that is not retried."""
        body = b'{"error":"%s","backend":"%s","request_id":"%s"}' % (
            err.error.encode(),
            backend.encode(),
            x.request_id,
        )
        reason = _REASONS[err.status]
        self.reply(x.req, err.status, reason, _JSON, body, backend.encode(), x.request_id)

    def abort_reply(self, x: Context, backend: str, status: int) -> None:
        """The answer of an injected abort fault."""
        body = abort_body(backend, status, x.request_id.decode("latin-1"))
        self.reply(x.req, status, b"Injected Fault", _JSON, body, backend.encode(), x.request_id)

    def local(
        self, req: Request, route: str, status: int, error: str, backend: bytes, rid: bytes
    ) -> None:
        """A request the gateway answers itself (no route: 404; body too large: 413), counted."""
        self.metrics.record(route, backend.decode(), status, None)
        body = b'{"error":"%s","request_id":"%s"}' % (error.encode(), rid)
        self.reply(req, status, _REASONS[status], _JSON, body, backend, rid)

    def reply(
        self,
        req: Request,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        backend: bytes,
        rid: bytes,
    ) -> None:
        """Write a complete response with a body of known length to ``req``'s client."""
        keep_alive = req.keep_alive and not req.conn.close_after
        if not keep_alive:
            req.conn.close_after = True
        head = client_response_head(
            status,
            reason,
            headers,
            backend=backend,
            request_id=rid,
            content_length=len(body),
            chunked=False,
            keep_alive=keep_alive,
        )
        req.conn.writelines([head, body])
