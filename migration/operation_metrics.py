"""Per-operation numbers on ``/metrics``, read from the windows at scrape time.

The gateway's own request families carry ``route`` and ``backend`` only (they are counted on the hot
path, and a label more would multiply every series). The break-down by operation comes from the
migration's windows instead (:class:`~migration.metrics.MigrationMetrics`, which keeps one window
per operation, bounded by ``max_operations`` per route): a collector asked at each scrape, so the
hot path pays nothing more. Families, labelled ``route``, ``operation`` and ``backend``:

* ``cutover_operation_requests_total`` — attempts seen by this process (a counter);
* ``cutover_operation_window_requests`` / ``cutover_operation_window_error_ratio`` /
  ``cutover_operation_window_p95_seconds`` — over the whole window the migration keeps (60 s; the
  runtime passes it): long enough that a scrape, and a dashboard, still see a quiet operation.

The Grafana dashboard's "Operations" row and ``cutover report`` read them. On a host with workers
each worker exports its own (the supervisor adds ``worker``); dashboards take ``max by`` for the
window gauges and ``sum by`` for the counter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from migration.operations import op_key
from migration.seams import BACKENDS
from migration.windows import WindowStats

__all__ = ["OperationCollector", "register_operation_metrics"]

_LABELS = ["route", "operation", "backend"]


class OperationWindows(Protocol):
    """What the collector reads (MigrationMetrics implements it)."""

    def routes(self) -> list[str]: ...

    def operations(self, route: str) -> list[str]: ...

    def window(self, route: str, backend: str, span_s: float) -> WindowStats: ...

    def total_requests(self, route: str, backend: str) -> int: ...


class OperationCollector:
    """A prometheus-client collector over every route's operations."""

    def __init__(self, windows: OperationWindows, window_s: float) -> None:
        self.windows = windows
        self.window_s = window_s

    def describe(self) -> list[Metric]:
        """No fixed series: described at scrape time (keeps the registry from calling collect)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """One sample per route x operation x backend and family."""
        total = CounterMetricFamily(
            "cutover_operation_requests", "Upstream attempts per operation.", labels=_LABELS
        )
        requests = GaugeMetricFamily(
            "cutover_operation_window_requests",
            "Attempts per operation over the last window (60 s).",
            labels=_LABELS,
        )
        errors = GaugeMetricFamily(
            "cutover_operation_window_error_ratio",
            "Failed attempts per attempt, per operation, over the last window (60 s).",
            labels=_LABELS,
        )
        p95 = GaugeMetricFamily(
            "cutover_operation_window_p95_seconds",
            "p95 latency per operation over the last window (60 s).",
            labels=_LABELS,
        )
        for route in self.windows.routes():
            for operation in self.windows.operations(route):
                key = op_key(route, operation)
                for backend in BACKENDS:
                    labels = [route, operation, backend]
                    total.add_metric(labels, self.windows.total_requests(key, backend))
                    stats = self.windows.window(key, backend, self.window_s)
                    requests.add_metric(labels, stats.requests)
                    if stats.error_rate is not None:
                        errors.add_metric(labels, stats.error_rate)
                    quantile = stats.p(0.95)
                    if quantile is not None:
                        p95.add_metric(labels, quantile)
        yield from (total, requests, errors, p95)


def register_operation_metrics(
    registry: CollectorRegistry, windows: OperationWindows, window_s: float
) -> OperationCollector:
    """Register the per-operation families on ``registry``."""
    collector = OperationCollector(windows, window_s)
    registry.register(collector)
    return collector
