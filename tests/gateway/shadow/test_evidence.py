"""Shadow evidence: outcomes, noise suppression, metrics and the memory bound."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry

from contracts.compare import Comparison, Difference
from gateway.shadow.config import ShadowSettings
from gateway.shadow.evidence import ShadowEvidence
from gateway.shadow.metrics import ShadowMetrics
from gateway.shadow.samples import ResponseView, Sample


def make(settings: ShadowSettings | None = None) -> tuple[ShadowEvidence, CollectorRegistry]:
    registry = CollectorRegistry()
    settings = settings or ShadowSettings(noise_min_probes=3)
    metrics = ShadowMetrics(registry, settings.metric_fields_per_route)
    return ShadowEvidence(settings, metrics, clock=lambda: 1000.0), registry


def diffs(*paths: str) -> Comparison:
    return Comparison(tuple(Difference(p, "value", "1", "2") for p in paths))


def sample(_: tuple[Difference, ...]) -> Sample:
    view = ResponseView("baseline", 200, (), "{}")
    return Sample(0.0, "GET", "/x", (), None, view, view, ())


def test_only_expected_differences_is_expected_not_matched() -> None:
    """A comparison emptied of documented differences is ``expected``: compared, not mismatched."""
    evidence, registry = make()
    assert evidence.record_comparison("r", False, diffs(), sample, expected=2) == "expected"
    assert evidence.record_comparison("r", False, diffs("status"), sample, 1) == "mismatched"
    assert evidence.record_comparison("r", False, diffs(), sample) == "matched"
    summary = evidence.summary("r")
    assert (summary["compared"], summary["mismatch_rate"]) == (3, 1 / 3)
    assert evidence.window("r", 60) == (3, 1)
    value = registry.get_sample_value
    assert value("cutover_shadow_total", {"route": "r", "outcome": "expected"}) == 1


def test_outcomes_and_noise_after_probes() -> None:
    """Once probes show a field always differs, shadows differing only there count as noise."""
    evidence, registry = make()
    for _ in range(3):
        assert evidence.record_comparison("r", True, diffs("$.at"), sample) == "probe"
    assert evidence.record_comparison("r", False, diffs("$.at"), sample) == "noise"
    assert evidence.record_comparison("r", False, diffs("$.at", "$.name"), sample) == "mismatched"
    assert evidence.record_comparison("r", False, diffs(), sample) == "matched"
    assert evidence.record_comparison("r", False, diffs("$.at", "status"), sample) == "mismatched"
    summary = evidence.summary("r")
    assert summary["outcomes"] == {
        "matched": 1,
        "mismatched": 2,
        "noise": 1,
        "expected": 0,
        "errored": 0,
        "dropped": 0,
    }
    assert summary["real_fields"] == ["$.name", "status"] or set(summary["real_fields"]) == {
        "$.name",
        "status",
    }
    assert summary["noise_fields"] == ["$.at"]
    value = registry.get_sample_value
    assert value("cutover_shadow_total", {"route": "r", "outcome": "noise"}) == 1
    assert value("cutover_shadow_total", {"route": "r", "outcome": "mismatched"}) == 2
    assert value("cutover_shadow_field_mismatches_total", {"route": "r", "field": "$.name"}) == 1
    assert value("cutover_shadow_field_mismatches_total", {"route": "r", "field": "$.at"}) is None
    assert value("cutover_shadow_noise_probes_total", {"route": "r", "result": "compared"}) == 3


def test_without_probes_every_difference_counts() -> None:
    """Before the noise floor exists, a timestamp difference is a mismatch (unknown is suspect)."""
    evidence, _ = make()
    assert evidence.record_comparison("r", False, diffs("$.at"), sample) == "mismatched"


def test_errors_and_drops_are_counted() -> None:
    """Errored and dropped shadows have their own outcomes; probe drops count as drops too."""
    evidence, registry = make()
    evidence.record_error("r", False, "timeout")
    evidence.record_drop("r", False)
    evidence.record_drop("r", True)
    detail = evidence.detail("r")
    assert detail["outcomes"]["errored"] == 1
    assert detail["outcomes"]["dropped"] == 1
    assert detail["noise_probes"]["dropped"] == 1
    assert detail["errors"] == {"timeout": 1}
    assert registry.get_sample_value("cutover_shadow_dropped_total", {"route": "r"}) == 2
    assert (
        registry.get_sample_value("cutover_shadow_total", {"route": "r", "outcome": "errored"}) == 1
    )


def test_windowed_counts() -> None:
    """The window reports cross-backend comparisons and mismatches, not probes."""
    evidence, _ = make()
    evidence.record_comparison("r", True, diffs("$.a"), sample)
    evidence.record_comparison("r", False, diffs("$.a"), sample)
    evidence.record_comparison("r", False, diffs(), sample)
    assert evidence.window("r", 60) == (2, 1)
    assert evidence.window("unknown", 60) == (0, 0)


def test_memory_stays_bounded_after_100k_comparisons() -> None:
    """100k comparisons with ever-new field names keep fields, samples and metric labels bounded."""
    settings = ShadowSettings(
        max_fields_per_route=16, samples_per_field=5, metric_fields_per_route=8
    )
    evidence, registry = make(settings)
    started = time.perf_counter()
    for i in range(100_000):
        route = f"r{i % 4}"
        comparison = diffs(f"$.field_{i}", f"$.other_{i % 50}")
        evidence.record_comparison(route, i % 10 == 0, comparison, sample)
    elapsed = time.perf_counter() - started
    size = evidence.size()
    assert size["routes"] == 4
    assert size["fields"] <= 4 * (16 + 1)
    assert size["samples"] <= size["fields"] * 5
    labels = {
        s.labels["field"]
        for metric in registry.collect()
        if metric.name == "cutover_shadow_field_mismatches"
        for s in metric.samples
        if s.labels.get("route") == "r1"
    }
    assert len(labels) <= 8 + 1
    assert "other" in labels
    detail = evidence.detail("r1")
    assert sum(f["differences"] for f in detail["fields"]) > 0
    assert elapsed < 20, f"100k comparisons took {elapsed:.1f}s"


def test_contract_window_per_backend_with_a_fake_clock() -> None:
    """Violation rates per backend over a window; old checks fall out as the clock moves."""
    from contracts.validators import Violation
    from gateway.shadow.contract_check import ContractEvidence

    now = [5000.0]
    registry = CollectorRegistry()
    settings = ShadowSettings(window_bucket_s=10, window_horizon_s=600)
    evidence = ContractEvidence(settings, ShadowMetrics(registry), clock=lambda: now[0])
    bad = [Violation("schema", "health", 200, "1 is not of type 'string'", "$.status")]
    evidence.record("r", "candidate", bad, lambda details: sample(()))
    evidence.record("r", "candidate", [], lambda details: sample(()))
    evidence.record("r", "baseline", [], lambda details: sample(()))
    assert evidence.window("r", 60, "candidate") == (2, 1)
    assert evidence.window("r", 60) == (3, 1)
    now[0] += 120
    evidence.record("r", "candidate", [], lambda details: sample(()))
    assert evidence.window("r", 60, "candidate") == (1, 0)
    assert evidence.window("r", 600, "candidate") == (3, 1)
    labels = {"route": "r", "backend": "candidate", "kind": "schema"}
    assert registry.get_sample_value("cutover_contract_violations_total", labels) == 1
    assert evidence.detail("r")["samples"]["schema"][0]["request"]["path"] == "/x"
