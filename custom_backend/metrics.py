"""Prometheus exposition owned by the app: a private ``CollectorRegistry`` with the process collector.

The gateway reads each backend's memory from ``process_resident_memory_bytes`` on its ``/metrics`` (design
"MigrationMetrics"), so the process collector is registered on the app's own registry rather than relying on
the global default one; tests pass a fresh registry. Labels stay bounded: the method is one of the HTTP
methods (anything else is ``OTHER``) and the status is a class (``2xx`` ... ``5xx``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, Metric

from custom_backend.responses import Response

_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
METRICS_CONTENT_TYPE: Final = CONTENT_TYPE_LATEST.encode("ascii")


def status_class(status: int) -> str:
    """``404 -> "4xx"``; a status outside 100..599 is ``other`` (the baseline's labels)."""
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


class _RequestCounter:
    """A collector over plain counts: the hot path adds to a dict, the scrape builds the family.

    ``prometheus_client.Counter.inc`` takes a lock and ``labels()`` builds a tuple per call; one event loop
    thread updates these counts, so a dict increment is enough and the cost moves to the (rare) scrape.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], int] = {}

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "llmstruct_http_requests",
            "HTTP requests answered by the llmstruct API, by method and status class.",
            labels=("method", "status_class"),
        )
        totals: dict[tuple[str, str], int] = {}
        for (method, status), count in list(self.counts.items()):
            key = (method, status_class(status))
            totals[key] = totals.get(key, 0) + count
        for labels, count in sorted(totals.items()):
            family.add_metric(labels, count)
        yield family


class AppMetrics:
    """The metrics one app instance exports, on the registry it was given."""

    def __init__(self, registry: CollectorRegistry | None = None, *, process: bool = True) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        if process:
            ProcessCollector(registry=self.registry)
        self._requests = _RequestCounter()
        self.registry.register(self._requests)
        self._counts = self._requests.counts

    def observe(self, method: str, status: int) -> None:
        """Count one answered request (unknown methods fold into ``OTHER``: labels stay bounded)."""
        key = (method if method in _METHODS else "OTHER", status)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1

    def exposition(self) -> Response:
        """The text exposition of the registry as a 200 response."""
        body = generate_latest(self.registry)
        return Response(200, body, ((b"content-type", METRICS_CONTENT_TYPE),))
