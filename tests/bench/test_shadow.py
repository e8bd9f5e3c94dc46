"""The shadow bench's report, from plain values: per-round ratios, their medians, targets judged."""

from __future__ import annotations

from bench.shadow import ratios, summarise, table

MODES = ("plain", "tapped", "shadowed", "inline")


def runs(values: dict[str, list[float]], key: str) -> dict[str, list[dict[str, float]]]:
    return {mode: [{key: v, "p50_ms": v} for v in values[mode]] for mode in MODES}


SATURATED = runs(
    {"plain": [100, 200], "tapped": [90, 180], "shadowed": [80, 100], "inline": [40, 80]}, "rps"
)
FIXED = runs(
    {"plain": [1.0, 2.0], "tapped": [1.0, 2.0], "shadowed": [1.2, 2.0], "inline": [3, 4]}, "p99_ms"
)
COMPONENTS = {
    "handoff_us": 1.0,
    "tap_us_unsampled": 0.5,
    "tap_us_sampled": 2.0,
    "worker_us_per_shadow_identical": 20.0,
    "worker_us_per_shadow_differing": 200.0,
    "validation_us": 12.0,
}


def test_ratios_are_taken_within_each_round() -> None:
    """Each round's mode figure is divided by the same round's plain figure."""
    assert ratios(SATURATED, "shadowed", "rps") == [0.8, 0.5]


def test_summarise_takes_the_median_of_the_round_ratios() -> None:
    """The judged figures are medians of per-round ratios, not ratios of medians."""
    result = summarise(SATURATED, FIXED, 500.0)
    assert result["throughput_ratio"] == 0.65
    assert result["p99_ratio"] == 1.1
    assert result["saturated_rps"]["plain"] == 150
    assert result["offered_rps"] == 500.0


def test_the_table_marks_met_and_missed_targets() -> None:
    """Throughput 0.65x meets >= 0.5x; validation at 12 us misses <= 10 us."""
    result = summarise(SATURATED, FIXED, 500.0)
    result["setup"] = {"connections": 32}
    result["shadow_outcomes"] = {"saturated": {"matched": 3}, "fixed_rate": {"dropped": 1}}
    text = table(result, COMPONENTS)
    assert ">= 0.5x (met)" in text
    assert "<= 10 (MISSED)" in text
    assert "| 3 / 0 |" in text


def test_without_gateway_runs_only_the_component_rows_are_printed() -> None:
    """``--component-only``: the table has the component rows and no gateway rows."""
    text = table({}, COMPONENTS)
    assert "saturated req/s" not in text
    assert "contract validation" in text
