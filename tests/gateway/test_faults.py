"""Fault decisions are pure: a seeded random source gives exact, checkable outcomes."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from gateway.faults import NO_FAULT, FaultRequest, FaultSpec, decide, draw_delay_ms


def test_no_spec_no_fault() -> None:
    """Without a spec (or an inactive one) nothing happens."""
    assert decide(None, random.Random(1)) is NO_FAULT
    assert decide(FaultSpec(), random.Random(1)) is NO_FAULT


def test_fixed_delay() -> None:
    """A fixed delay is exactly the configured milliseconds."""
    action = decide(FaultSpec(delay_ms=250), random.Random(1))
    assert action.delay_s == 0.25
    assert action.abort_status is None


def test_abort_share_matches_percent() -> None:
    """About ``abort_percent`` % of decisions abort with the configured status."""
    rng = random.Random(42)
    spec = FaultSpec(abort_percent=30, abort_status=502)
    actions = [decide(spec, rng) for _ in range(5000)]
    aborted = [a for a in actions if a.abort_status is not None]
    assert abs(len(aborted) / 5000 - 0.30) < 0.03
    assert {a.abort_status for a in aborted} == {502}


@pytest.mark.parametrize(
    ("spec", "low", "high", "mean"),
    [
        (FaultSpec(delay_ms=100, delay_distribution="uniform", delay_max_ms=300), 100, 300, 200),
        (FaultSpec(delay_ms=100, delay_distribution="normal", delay_stddev_ms=10), 40, 160, 100),
        (FaultSpec(delay_ms=100, delay_distribution="lognormal", delay_sigma=0.5), 0, 10_000, None),
    ],
)
def test_delay_distributions(spec: FaultSpec, low: float, high: float, mean: float | None) -> None:
    """Each distribution stays in its range, never negative, with the expected centre."""
    rng = random.Random(7)
    draws = [draw_delay_ms(spec, rng) for _ in range(3000)]
    assert all(low <= d <= high for d in draws)
    if mean is not None:
        assert abs(sum(draws) / len(draws) - mean) < mean * 0.05
    else:
        assert abs(sorted(draws)[1500] - 100) < 10  # lognormal: the median is delay_ms


def test_normal_is_clipped_at_zero() -> None:
    """A wide normal never yields a negative delay."""
    rng = random.Random(3)
    spec = FaultSpec(delay_ms=1, delay_distribution="normal", delay_stddev_ms=100)
    assert min(draw_delay_ms(spec, rng) for _ in range(500)) == 0.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"abort_percent": 101}, "abort_percent"),
        ({"abort_status": 200}, "abort_status"),
        ({"delay_ms": -1}, "delay_ms"),
        ({"delay_distribution": "pareto"}, "delay_distribution"),
        ({"delay_ms": 10, "delay_max_ms": 5}, ""),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_fault_request_validation(body: dict[str, object], field: str) -> None:
    """The admin body is validated field by field."""
    with pytest.raises(ValidationError) as info:
        FaultRequest.model_validate(body)
    assert field in str(info.value)
