"""Prometheus exposition of the legacy stack (seed 000, "Day 20-21: Monitoring").

The registry belongs to the app (injected, never the global one) so tests and several apps in one
process do not share counters. It carries the process collector, whose
``process_resident_memory_bytes`` the migration's MigrationMetrics scrape to compare the memory of
both stacks, and one request counter with bounded labels: the method (unknown verbs fold into
``OTHER``) and the status class (``2xx``...).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, ProcessCollector
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def status_class(status: int) -> str:
    """``404`` → ``4xx``: the bounded label value of a status code."""
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


def method_label(method: str) -> str:
    """The method itself when it is a standard verb, else ``OTHER`` (labels must stay bounded)."""
    return method if method in KNOWN_METHODS else "OTHER"


class HttpMetrics:
    """The app's metrics, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        ProcessCollector(registry=registry)
        self.requests = Counter(
            "llmstruct_http_requests",
            "HTTP requests answered by the llmstruct API, by method and status class.",
            ["method", "status_class"],
            registry=registry,
        )

    def observe(self, method: str, status: int) -> None:
        """Count one answered request."""
        self.requests.labels(method_label(method), status_class(status)).inc()

    async def endpoint(self, request: Request) -> Response:
        """``GET /metrics``: the text exposition format (no auth, not in the OpenAPI document)."""
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
