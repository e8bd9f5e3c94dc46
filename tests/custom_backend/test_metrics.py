"""The app-owned registry: process metrics and the bounded request counter."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from custom_backend.metrics import AppMetrics, status_class


def test_counts_by_method_and_status_class() -> None:
    """Requests fold into method and status class; unknown methods become OTHER."""
    registry = CollectorRegistry()
    metrics = AppMetrics(registry, process=False)
    for method, status in [("GET", 200), ("GET", 204), ("GET", 404), ("BREW", 405), ("POST", 201)]:
        metrics.observe(method, status)

    def value(method: str, cls: str) -> float | None:
        return registry.get_sample_value(
            "llmstruct_http_requests_total", {"method": method, "status_class": cls}
        )

    assert value("GET", "2xx") == 2
    assert value("GET", "4xx") == 1
    assert value("OTHER", "4xx") == 1
    assert value("POST", "2xx") == 1
    assert value("BREW", "4xx") is None


def test_exposition_includes_process_memory() -> None:
    """The /metrics body is the text format with process_resident_memory_bytes."""
    response = AppMetrics(CollectorRegistry()).exposition()
    assert response.status == 200
    assert b"process_resident_memory_bytes" in response.body
    assert dict(response.headers)[b"content-type"].startswith(b"text/plain")


def test_status_class_labels() -> None:
    """Classes are 1xx..5xx; anything else is ``other`` (the baseline's labels)."""
    assert [status_class(s) for s in (101, 200, 307, 422, 599, 600, 42)] == [
        "1xx", "2xx", "3xx", "4xx", "5xx", "other", "other",
    ]  # fmt: skip
