"""MigrationMetrics: what counts as an error, what feeds latency, bounded routes."""

from __future__ import annotations

import pytest

from migration.metrics import OTHER_ROUTE, MigrationMetrics
from migration.operations import op_key
from migration.testing import FakeClock


def test_errors_and_latency_classification() -> None:
    """5xx and error kinds are errors; only answers and timeouts feed the latency sketch."""
    clock = FakeClock(0.0)
    metrics = MigrationMetrics(clock)
    metrics.observe("r", "candidate", 200, 0.01, None)
    metrics.observe("r", "candidate", 503, 0.02, None)
    metrics.observe("r", "candidate", 0, 5.0, "timeout")
    metrics.observe("r", "candidate", 0, 0.0001, "connect")
    metrics.observe("r", "candidate", 0, 0.0001, "fault")
    stats = metrics.window("r", "candidate", 10)
    assert (stats.requests, stats.errors, stats.connect_errors, stats.timeouts) == (5, 4, 1, 1)
    assert stats.latency.count == 3
    assert metrics.recent_attempts("r", "candidate") == (5, 2)  # connect error and timeout
    assert metrics.total_requests("r", "candidate") == 5
    assert metrics.window("r", "baseline", 10).requests == 0


def test_fallback_deadline_is_a_timeout() -> None:
    """A candidate cut at its fallback deadline counts as a timeout: unreachable, with latency."""
    metrics = MigrationMetrics(FakeClock(0.0))
    metrics.observe("r", "candidate", 504, 1.0, "fallback_deadline")
    stats = metrics.window("r", "candidate", 10)
    assert (stats.errors, stats.timeouts, stats.latency.count) == (1, 1, 1)
    assert metrics.recent_attempts("r", "candidate") == (1, 1)


def test_shadow_and_contract_rates() -> None:
    """Shadow mismatches and contract violations are counted per window and in total."""
    metrics = MigrationMetrics(FakeClock(0.0))
    for i in range(10):
        metrics.observe_shadow("r", mismatched=i < 2)
        metrics.observe_contract("r", "candidate", violated=i < 1)
    assert metrics.shadow("r", 10).rate == pytest.approx(0.2)
    assert metrics.contract("r", "candidate", 10).bad == 1
    assert metrics.contract("r", "baseline", 10).rate is None
    assert metrics.total_shadow("r") == 10


def test_unknown_route_reads_empty() -> None:
    """Reading a route never observed gives empty statistics, not an error."""
    metrics = MigrationMetrics(FakeClock(0.0))
    assert metrics.window("nope", "candidate", 10).requests == 0
    assert metrics.recent_attempts("nope", "candidate") == (0, 0)
    assert metrics.shadow("nope", 10).events == 0
    assert metrics.total_requests("nope", "baseline") == 0


def test_routes_are_bounded() -> None:
    """Routes past max_routes fold into one overflow route so memory stays bounded."""
    metrics = MigrationMetrics(FakeClock(0.0), max_routes=2)
    for name in ("a", "b", "c", "d"):
        metrics.observe(name, "baseline", 200, 0.01, None)
    assert metrics.routes() == [OTHER_ROUTE, "a", "b"]
    assert metrics.window(OTHER_ROUTE, "baseline", 10).requests == 2


def test_backend_name_is_checked() -> None:
    """A backend other than baseline/candidate is a wiring bug and raises."""
    metrics = MigrationMetrics(FakeClock(0.0))
    with pytest.raises(ValueError, match="backend must be one of"):
        metrics.observe("r", "primary", 200, 0.01, None)
    with pytest.raises(ValueError, match="backend must be one of"):
        metrics.observe_contract("r", "primary", False)


def test_operations_have_windows_of_their_own() -> None:
    """An attempt with an operation counts in the route and in the operation's key."""
    clock = FakeClock()
    metrics = MigrationMetrics(clock)
    metrics.observe("api", "candidate", 500, 0.01, None, "create_task")
    metrics.observe("api", "candidate", 200, 0.01, None, "list_tasks")
    metrics.observe("api", "candidate", 200, 0.01, None)
    assert metrics.window("api", "candidate", 10).requests == 3
    assert metrics.window(op_key("api", "create_task"), "candidate", 10).errors == 1
    assert metrics.total_requests(op_key("api", "list_tasks"), "candidate") == 1
    assert metrics.routes() == ["api"]
    assert metrics.operations("api") == ["create_task", "list_tasks"]
    assert metrics.window_keys() == ["api", "api/create_task", "api/list_tasks"]


def test_operations_past_the_bound_fold_into_other() -> None:
    """More operations than max_operations share one ``other`` window."""
    metrics = MigrationMetrics(FakeClock(), max_operations=2)
    for op in ("a", "b", "c", "d"):
        metrics.observe("api", "baseline", 200, 0.01, None, op)
    assert metrics.operations("api") == ["a", "b", "other"]
    assert metrics.total_requests(op_key("api", "other"), "baseline") == 2
