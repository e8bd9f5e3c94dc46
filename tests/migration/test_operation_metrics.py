"""Per-operation families on /metrics, read from the windows at scrape time."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from migration.metrics import MigrationMetrics
from migration.operation_metrics import register_operation_metrics
from migration.testing import FakeClock


def test_each_operation_and_backend_is_exported() -> None:
    """Counts, error ratio, p95 per route x operation x backend; routes alone are not repeated."""
    clock = FakeClock()
    metrics = MigrationMetrics(clock)
    registry = CollectorRegistry()
    register_operation_metrics(registry, metrics, window_s=10.0)
    metrics.observe("tasks", "candidate", 500, 0.2, None, "create_task")
    metrics.observe("tasks", "candidate", 200, 0.2, None, "create_task")
    metrics.observe("tasks", "baseline", 200, 0.05, None, "create_task")
    metrics.observe("tasks", "baseline", 200, 0.05, None)
    labels = {"route": "tasks", "operation": "create_task", "backend": "candidate"}
    assert registry.get_sample_value("cutover_operation_requests_total", labels) == 2.0
    assert registry.get_sample_value("cutover_operation_window_requests", labels) == 2.0
    assert registry.get_sample_value("cutover_operation_window_error_ratio", labels) == 0.5
    p95 = registry.get_sample_value("cutover_operation_window_p95_seconds", labels)
    assert p95 is not None
    assert 0.18 < p95 < 0.22
    assert b'operation="create_task"' in generate_latest(registry)


def test_nothing_without_operations() -> None:
    """A gateway that classifies nothing exports no per-operation series."""
    metrics = MigrationMetrics(FakeClock())
    registry = CollectorRegistry()
    register_operation_metrics(registry, metrics, window_s=10.0)
    metrics.observe("tasks", "candidate", 200, 0.1, None)
    assert b"cutover_operation_window_requests{" not in generate_latest(registry)
