"""Prometheus metrics of the data path, on an injected registry.

Labels are bounded: route *names* from the config (``unmatched`` when no route matched), backend
(``baseline``, ``candidate``, or ``gateway`` for answers the gateway gives itself: 404, 413),
status class (``2xx``..``5xx``) and error kind. ``cutover_candidate_weight`` is a ratio 0..1.

The two per-request families (``cutover_requests_total`` and ``cutover_request_duration_seconds``)
are kept in plain dicts and exposed by a custom collector: prometheus-client's own ``Counter.inc``
and ``Histogram.observe`` take a lock and walk the buckets in Python, ~5 µs per request together,
which this keeps under 1 µs. Everything is updated from the event-loop thread only; a scrape reads a
consistent-enough snapshot. The rare families (errors, fallbacks, gauges) are ordinary metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString

#: Upstream latencies of a gateway: sub-millisecond to tens of seconds. Typed as a variable-length
#: tuple on purpose: mypyc keeps a fixed-length ``tuple[float, float, ...]`` unboxed and boxed all
#: fifteen floats into a new tuple on every ``bisect_left`` call (callgrind: 16 float allocations
#: per request).
DURATION_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip
#: prometheus-client's formatting of a bucket bound as its own histograms write ``le`` (``0.005``,
#: ``+Inf``, Go's exponent form), which the library leaves unannotated: named here with the type it
#: has, so the call in :meth:`collect` is checked instead of being an untyped call.
_go_float: Callable[[float], str] = floatToGoString
_CLASSES = ("1xx", "1xx", "2xx", "3xx", "4xx", "5xx")
REQUESTS_HELP = "Upstream attempts (and gateway-local answers) by route, backend and status class."
DURATION_HELP = "Time from sending to the upstream to the end of its response, per attempt."
INFLIGHT_HELP = "Upstream attempts in flight (request sent or being sent, response not complete)."
OLDEST_HELP = (
    "Age of the oldest upstream attempt in flight, 0 when none: a hung upstream shows here long"
    " before any attempt finishes."
)


def code_class(status: int) -> str:
    """``2xx``-style class of a status code."""
    return _CLASSES[status // 100] if 100 <= status < 600 else "5xx"


def _bucket(duration_s: float) -> int:
    """Index of the first bucket whose bound is >= ``duration_s``
    (``bisect_left``), in native floats."""
    index = 0
    for bound in DURATION_BUCKETS:  # most requests stop at the first or second bound
        if duration_s <= bound:
            return index
        index += 1
    return index


class _Series:
    """One (route, backend): request counts by status class and the duration histogram."""

    __slots__ = ("by_class", "counts", "timed", "total")

    def __init__(self) -> None:
        self.by_class = [0] * 6  # index status // 100; index 0 is unused ("5xx" goes to 5)
        self.counts = [0] * (len(DURATION_BUCKETS) + 1)
        self.total = 0.0
        self.timed = False


class GatewayMetrics:
    """The gateway's metric families; :meth:`record` is the per-request entry point."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._series: dict[tuple[str, str], _Series] = {}
        registry.register(self)
        self.upstream_errors = Counter(
            "cutover_upstream_errors_total",
            "Upstream attempts that failed below HTTP: connect, timeout, reset, protocol, "
            "fault_abort.",
            ["route", "backend", "kind"],
            registry=registry,
        )
        self.fallbacks = Counter(
            "cutover_fallbacks_total",
            "Failed attempts answered by the other backend instead; `to` is the backend that "
            "answered (baseline: the candidate failed; candidate: the baseline was unreachable "
            "or timed out).",
            ["route", "to"],
            registry=registry,
        )
        self.fallback_after = Gauge(
            "cutover_fallback_after_seconds",
            "Deadline for a candidate response head before an idempotent request falls back.",
            ["route"],
            registry=registry,
        )
        #: ``backend -> (attempts in flight, age of the oldest in seconds)``, read at scrape time;
        #: set by the proxy (:meth:`gateway.proxy.Proxy.inflight_totals`).
        self.inflight_source: Callable[[str], tuple[int, float]] | None = None
        self.candidate_weight = Gauge(
            "cutover_candidate_weight",
            "Share of the route's traffic sent to the candidate, as a ratio 0..1.",
            ["route"],
            registry=registry,
        )
        self.websockets = Gauge(
            "cutover_websocket_connections",
            "Open relayed WebSocket connections.",
            ["route", "backend"],
            registry=registry,
        )
        # Client side (gateway.http, issue #12): rare events, so ordinary metrics. ``listener`` is
        # public or admin.
        self.client_timeouts = Counter(
            "cutover_client_timeouts",
            "Client connections closed for sending too slowly: phase head (the request head took"
            " longer than limits.header_timeout_s) or body (an idle gap or below the minimum"
            " rate).",
            ["listener", "phase"],
            registry=registry,
        )
        self.requests_rejected = Counter(
            "cutover_requests_rejected",
            "Requests answered 400/431/501 by the gateway and never forwarded, for their framing"
            " (RFC 9112): reason names the fault (bad_transfer_encoding, missing_host,"
            " bad_chunk...).",
            ["listener", "reason"],
            registry=registry,
        )
        self.connections_refused = Counter(
            "cutover_connections_refused",
            "Client connections answered 503 and closed because limits.max_connections were open.",
            ["listener"],
            registry=registry,
        )
        self.client_connections = Gauge(
            "cutover_client_connections",
            "Open client connections per listener (read at scrape time).",
            ["listener"],
            registry=registry,
        )

    # ----------------------------------------------------------------- data path

    def record(self, route: str, backend: str, status: int, duration_s: float | None) -> None:
        """Count one attempt (or local answer) and, when timed, its duration."""
        series = self._series.get((route, backend))
        if series is None:
            series = self._series[(route, backend)] = _Series()
        series.by_class[status // 100 if 100 <= status < 600 else 5] += 1
        if duration_s is not None:
            series.counts[_bucket(duration_s)] += 1
            series.total += duration_s
            series.timed = True

    def upstream_error(self, route: str, backend: str, kind: str) -> None:
        """Count an attempt that failed below HTTP."""
        self.upstream_errors.labels(route, backend, kind).inc()

    def fallback(self, route: str, to: str = "baseline") -> None:
        """Count a request answered by ``to`` after the other backend failed."""
        self.fallbacks.labels(route, to).inc()

    def set_fallback_after(self, route: str, seconds: float) -> None:
        """Export a route's fallback deadline."""
        self.fallback_after.labels(route).set(seconds)

    def client_timeout(self, listener: str, phase: str) -> None:
        """Count a client connection closed for slowness (``phase``: head or body)."""
        self.client_timeouts.labels(listener, phase).inc()

    def request_rejected(self, listener: str, reason: str) -> None:
        """Count a request refused for its framing (a :data:`gateway.framing.REASONS` value)."""
        self.requests_rejected.labels(listener, reason).inc()

    def connection_refused(self, listener: str) -> None:
        """Count a connection refused at ``limits.max_connections``."""
        self.connections_refused.labels(listener).inc()

    def watch_connections(self, listener: str, count: Callable[[], int]) -> None:
        """Export ``count()`` (the listener's open connections) at scrape time."""
        self.client_connections.labels(listener).set_function(lambda: float(count()))

    def set_weight(self, route: str, weight_bps: int) -> None:
        """Export a route's candidate weight as a ratio."""
        self.candidate_weight.labels(route).set(weight_bps / 10_000)

    # ----------------------------------------------------------------- reading back

    def request_counts(self) -> dict[tuple[str, str, str], int]:
        """``(route, backend, code_class) -> count`` snapshot."""
        return {
            (route, backend, _CLASSES[i]): count
            for (route, backend), series in self._series.items()
            for i, count in enumerate(series.by_class)
            if count
        }

    def describe(self) -> Iterator[Metric]:
        """Names for the registry's duplicate check (no samples)."""
        yield CounterMetricFamily(
            "cutover_requests", REQUESTS_HELP, labels=["route", "backend", "code_class"]
        )
        yield HistogramMetricFamily(
            "cutover_request_duration_seconds", DURATION_HELP, labels=["route", "backend"]
        )
        yield GaugeMetricFamily("cutover_upstream_inflight", INFLIGHT_HELP, labels=["backend"])
        yield GaugeMetricFamily(
            "cutover_upstream_inflight_oldest_seconds", OLDEST_HELP, labels=["backend"]
        )

    def collect(self) -> Iterator[Metric]:
        """The per-request families as Prometheus metric families."""
        requests = CounterMetricFamily(
            "cutover_requests", REQUESTS_HELP, labels=["route", "backend", "code_class"]
        )
        for key, value in sorted(self.request_counts().items()):
            requests.add_metric(list(key), value)
        yield requests
        durations = HistogramMetricFamily(
            "cutover_request_duration_seconds", DURATION_HELP, labels=["route", "backend"]
        )
        bounds = [_go_float(b) for b in DURATION_BUCKETS] + ["+Inf"]
        for (route, backend), hist in sorted(self._series.items()):
            if not hist.timed:
                continue
            cumulative, buckets = 0, []
            for bound, count in zip(bounds, hist.counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            durations.add_metric([route, backend], buckets, hist.total)
        yield durations
        source = self.inflight_source  # None before the proxy exists: nothing is in flight
        inflight = GaugeMetricFamily("cutover_upstream_inflight", INFLIGHT_HELP, labels=["backend"])
        oldest = GaugeMetricFamily(
            "cutover_upstream_inflight_oldest_seconds", OLDEST_HELP, labels=["backend"]
        )
        for backend in ("baseline", "candidate"):
            count, age = (0, 0.0) if source is None else source(backend)
            inflight.add_metric([backend], count)
            oldest.add_metric([backend], age)
        yield inflight
        yield oldest
