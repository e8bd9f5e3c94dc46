"""Decision metrics: names, labels and values on a fresh registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from migration.analysis import BackendWindow, CheckResult, CheckStatus, Decision, Verdict
from migration.decision_metrics import DecisionMetrics
from migration.plan import Plan, Step
from migration.state import MigrationState, Phase


def test_verdict_numbers_are_exported() -> None:
    """Each check's per-backend value, its threshold and the sample counts become gauges."""
    registry = CollectorRegistry()
    metrics = DecisionMetrics(registry)
    verdict = Verdict(
        Decision.HOLD,
        ("soft failure 1/3",),
        (
            CheckResult("latency_p95", CheckStatus.FAIL, 0.09, 0.045, 0.054, 500, 4500, 1e-9),
            CheckResult("error_rate", CheckStatus.PASS, 0.002, 0.003, 0.008, 500, 4500, 0.9),
            CheckResult("shadow_mismatch", CheckStatus.INCONCLUSIVE, samples=3),
        ),
        1,
    )
    baseline = BackendWindow(4500, inflight=3)
    candidate = BackendWindow(500, inflight=12, slow_inflight=9, oldest_inflight_s=4.5)
    metrics.verdict("tasks", verdict, baseline, candidate)

    def get(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert (
        get("cutover_analysis_value", route="tasks", check="latency_p95", backend="candidate")
        == 0.09
    )
    assert (
        get("cutover_analysis_value", route="tasks", check="latency_p95", backend="baseline")
        == 0.045
    )
    assert get("cutover_analysis_threshold", route="tasks", check="latency_p95") == 0.054
    assert get("cutover_analysis_threshold", route="tasks", check="error_rate") == 0.008
    assert get("cutover_analysis_samples", route="tasks", backend="candidate") == 500
    assert get("cutover_analysis_samples", route="tasks", backend="baseline") == 4500
    assert (
        get("cutover_analysis_value", route="tasks", check="shadow_mismatch", backend="candidate")
        is None
    )
    assert get("cutover_analysis_inflight", route="tasks", backend="candidate") == 12
    assert get("cutover_analysis_inflight_slow", route="tasks", backend="candidate") == 9
    assert (
        get("cutover_analysis_inflight_oldest_seconds", route="tasks", backend="candidate") == 4.5
    )
    assert get("cutover_analysis_inflight", route="tasks", backend="baseline") == 3


def test_store_health_and_conditions() -> None:
    """Store errors count the store's running total once; failing, pending, conditions are 0/1."""
    registry = CollectorRegistry()
    metrics = DecisionMetrics(registry)
    assert registry.get_sample_value("cutover_state_store_failing") == 0
    metrics.store(True, 3, 1)
    metrics.store(True, 3, 1)
    metrics.store(False, 5, 0)
    metrics.condition("tasks", "baseline_degraded", True)
    assert registry.get_sample_value("cutover_state_store_errors_total") == 5
    assert registry.get_sample_value("cutover_state_store_failing") == 0
    assert registry.get_sample_value("cutover_state_store_pending") == 0
    labels = {"route": "tasks", "condition": "baseline_degraded"}
    assert registry.get_sample_value("cutover_migration_condition", labels) == 1


def test_state_and_counters() -> None:
    """Phase code, step index, weight, rollbacks by reason and promotions are exported."""
    registry = CollectorRegistry()
    metrics = DecisionMetrics(registry)
    plan = Plan("tasks", (Step(1000), Step(5000)))
    metrics.state(MigrationState("tasks", plan, Phase.ROLLED_BACK, 1, 0, 0.0))
    metrics.rolled_back("tasks", ["latency_p95", "error_rate", "latency_p95"])
    metrics.rolled_back("tasks", [])
    metrics.promoted("tasks")
    assert registry.get_sample_value("cutover_migration_phase", {"route": "tasks"}) == 4
    assert registry.get_sample_value("cutover_migration_step", {"route": "tasks"}) == 1
    assert registry.get_sample_value("cutover_migration_weight_bps", {"route": "tasks"}) == 0
    for reason in ("latency_p95", "error_rate", "unknown"):
        labels = {"route": "tasks", "reason": reason}
        assert registry.get_sample_value("cutover_rollbacks_total", labels) == 1
    assert registry.get_sample_value("cutover_promotions_total", {"route": "tasks"}) == 1


def test_every_metric_has_help_text() -> None:
    """Every exported family carries a help string."""
    registry = CollectorRegistry()
    DecisionMetrics(registry)
    families = list(registry.collect())
    assert {f.name for f in families} >= {
        "cutover_migration_phase",
        "cutover_migration_step",
        "cutover_analysis_value",
        "cutover_analysis_threshold",
        "cutover_analysis_samples",
        "cutover_rollbacks",
        "cutover_promotions",
    }
    assert all(f.documentation for f in families)
