"""The noise verdict per field, and the time-bucketed counters."""

from __future__ import annotations

import pytest

from gateway.shadow.noise import FieldRates, NoiseThresholds, classify, is_real
from gateway.shadow.windows import CounterRing

T = NoiseThresholds(relative=0.5, absolute=0.05, min_probes=5)


@pytest.mark.parametrize(
    ("field", "rates", "real"),
    [
        ("$.generated_at", FieldRates(100, 100, 10, 10), False),  # differs everywhere: noise
        ("$.name", FieldRates(100, 100, 0, 10), True),  # only across backends: real
        ("$.x", FieldRates(60, 100, 5, 10), False),  # 60 % vs 50 % floor: under the relative margin
        ("$.x", FieldRates(90, 100, 5, 10), True),  # 90 % vs 50 %: both margins passed
        ("$.x", FieldRates(3, 100, 0, 10), False),  # 3 %: under the absolute margin
        ("$.x", FieldRates(100, 100, 10, 4), True),  # too few probes: no floor yet, counts
        ("status", FieldRates(1, 100, 10, 10), True),  # status is never noise
        ("header:content-type", FieldRates(1, 100, 10, 10), True),
        ("$.x", FieldRates(0, 100, 0, 10), False),
    ],
)
def test_field_verdict(field: str, rates: FieldRates, real: bool) -> None:
    """A field is real only above its same-backend rate by both margins; status/headers always."""
    assert is_real(field, rates, T) is real


def test_classify_outcomes() -> None:
    """No differences: matched; any real one: mismatched; only noise: noise."""
    assert classify([]) == "matched"
    assert classify([False, True]) == "mismatched"
    assert classify([False, False]) == "noise"


def test_counter_ring_windows_with_a_fake_clock() -> None:
    """Counts fall out of a window as the injected clock moves past them, and the ring wraps."""
    now = [1000.0]
    ring = CounterRing(bucket_s=10, horizon_s=60, clock=lambda: now[0])
    ring.add("compared", 3)
    now[0] += 30
    ring.add("compared")
    ring.add("mismatched")
    assert ring.totals(("compared", "mismatched"), 60) == {"compared": 4, "mismatched": 1}
    assert ring.total("compared", 10) == 1
    now[0] += 40  # the first add is 70 s old now
    assert ring.total("compared", 60) == 1
    now[0] += 1000  # far past the horizon: slots are stale, not reused
    assert ring.total("compared", 60) == 0
    ring.add("compared")
    assert ring.total("compared", 3600) == 1  # clamped to the horizon
