"""GatewayState: the in-process API the migration controller calls, and the metrics it exports."""

from __future__ import annotations

from bisect import bisect_left

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from gateway.config import build_config
from gateway.faults import FaultSpec
from gateway.metrics import DURATION_BUCKETS, GatewayMetrics, _bucket, code_class
from gateway.state import (
    AUTO_FALLBACK_AFTER_S,
    GatewayState,
    UnknownBackend,
    UnknownRoute,
    WeightChange,
    percent_to_bps,
)


def make_state(registry: CollectorRegistry | None = None) -> GatewayState:
    config = build_config(
        {
            "routes": [
                {"name": "tasks", "paths": ["/api/v1/tasks*"], "weight_bps": 100},
                {"name": "default", "paths": ["/*"]},
            ]
        }
    )
    return GatewayState(config, GatewayMetrics(registry) if registry is not None else None)


def test_weights_and_listeners() -> None:
    """set_weight returns the old value, notifies listeners, and get_weights reflects it."""
    state = make_state()
    seen: list[WeightChange] = []
    unsubscribe = state.on_weight_change(seen.append)
    assert state.get_weights() == {"tasks": 100, "default": 0}
    assert state.set_weight("default", 5000, actor="controller") == 0
    unsubscribe()
    state.set_weight("default", 6000)
    assert seen == [WeightChange("default", 0, 5000, "controller", None)]
    assert state.get_weight("default") == 6000


@pytest.mark.parametrize("bad", [-1, 10_001])
def test_weight_bounds(bad: int) -> None:
    """Weights outside 0..10000 bps are refused and change nothing."""
    state = make_state()
    with pytest.raises(ValueError, match=r"0\.\.10000"):
        state.set_weight("tasks", bad)
    assert state.get_weight("tasks") == 100


def test_unknown_names() -> None:
    """Unknown routes and backends raise distinct errors."""
    state = make_state()
    with pytest.raises(UnknownRoute):
        state.set_weight("nope", 1)
    with pytest.raises(UnknownBackend):
        state.set_fault("primary", FaultSpec(delay_ms=1))


def test_a_failing_listener_does_not_undo_the_change() -> None:
    """A listener that raises is logged; the weight stays changed."""
    state = make_state()

    def failing(_: object) -> None:
        raise ZeroDivisionError

    state.on_weight_change(failing)
    state.set_weight("tasks", 200)
    assert state.get_weight("tasks") == 200


def test_inactive_fault_is_stored_as_none() -> None:
    """A fault spec that does nothing clears the backend's faults."""
    state = make_state()
    state.set_fault("candidate", FaultSpec())
    assert state.get_fault("candidate") is None


def test_metrics_exposition() -> None:
    """Per-request families read back through a fresh registry; weights export as ratios."""
    registry = CollectorRegistry()
    state = make_state(registry)
    assert registry.get_sample_value("cutover_candidate_weight", {"route": "tasks"}) == 0.01
    state.set_weight("tasks", 2500)
    assert registry.get_sample_value("cutover_candidate_weight", {"route": "tasks"}) == 0.25


def test_request_counter_and_histogram() -> None:
    """record() feeds cutover_requests_total and the duration histogram per Prometheus semantics."""
    registry = CollectorRegistry()
    metrics = GatewayMetrics(registry)
    for status, seconds in [(200, 0.0004), (204, 0.001), (503, 0.2), (404, None)]:
        metrics.record("tasks", "candidate", status, seconds)
    get = registry.get_sample_value
    assert (
        get(
            "cutover_requests_total",
            {"route": "tasks", "backend": "candidate", "code_class": "2xx"},
        )
        == 2
    )
    assert (
        get(
            "cutover_requests_total",
            {"route": "tasks", "backend": "candidate", "code_class": "5xx"},
        )
        == 1
    )
    labels = {"route": "tasks", "backend": "candidate"}
    assert get("cutover_request_duration_seconds_count", labels) == 3
    assert get("cutover_request_duration_seconds_bucket", {**labels, "le": "0.0005"}) == 1
    assert get("cutover_request_duration_seconds_bucket", {**labels, "le": "0.001"}) == 2
    assert get("cutover_request_duration_seconds_bucket", {**labels, "le": "+Inf"}) == 3
    assert get("cutover_request_duration_seconds_sum", labels) == pytest.approx(0.2014)


@pytest.mark.parametrize(
    ("status", "klass"),
    [(101, "1xx"), (200, "2xx"), (302, "3xx"), (499, "4xx"), (503, "5xx"), (999, "5xx")],
)
def test_code_class(status: int, klass: str) -> None:
    """Status codes map to bounded classes."""
    assert code_class(status) == klass


def test_percent_to_bps() -> None:
    """Percent (float) converts to the nearest basis point."""
    assert [percent_to_bps(p) for p in (0, 0.01, 12.345, 100)] == [0, 1, 1234, 10_000]


@given(st.one_of(st.floats(0.0, 60.0), st.sampled_from(DURATION_BUCKETS)))
def test_bucket_index_is_bisect_left(duration: float) -> None:
    """A duration lands in the histogram bucket ``bisect_left`` picks, bounds included (``le``)."""
    assert _bucket(duration) == bisect_left(DURATION_BUCKETS, duration)


def test_fallback_deadlines_are_clamped_and_fixed_ones_kept() -> None:
    """A published deadline is bounded by the floor and the read timeout; a fixed one ignores it."""
    registry = CollectorRegistry()
    config = build_config(
        {
            "upstreams": {"candidate": {"url": "http://127.0.0.1:8002", "read_timeout_s": 10.0}},
            "routes": [
                {"name": "auto", "paths": ["/a*"], "fallback_after_floor_s": 0.5},
                {"name": "fixed", "paths": ["/*"], "fallback_after_s": 2.5},
            ],
        }
    )
    state = GatewayState(config, GatewayMetrics(registry))
    assert state.get_fallback_after() == {"auto": AUTO_FALLBACK_AFTER_S, "fixed": 2.5}
    for published, expected in (
        (0.01, 0.5),
        (1.2, 1.2),
        (99.0, 10.0),
        (None, AUTO_FALLBACK_AFTER_S),
    ):
        state.set_fallback_after("auto", published)
        state.set_fallback_after("fixed", published)
        assert state.fallback_after == [expected, 2.5]
    assert registry.get_sample_value("cutover_fallback_after_seconds", {"route": "fixed"}) == 2.5
    with pytest.raises(ValueError, match="positive"):
        state.set_fallback_after("auto", 0.0)
    with pytest.raises(UnknownRoute):
        state.set_fallback_after("nope", 1.0)
