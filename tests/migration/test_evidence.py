"""The analysis' inputs read through the seams: windows plus the attempts still in flight."""

from __future__ import annotations

from migration.evidence import read_windows
from migration.metrics import MigrationMetrics
from migration.policy import Policy
from migration.testing import FakeClock, FakeInflight

POLICY = Policy()


def test_finished_attempts_only_without_an_inflight_source() -> None:
    """Counts, errors and "no answer" attempts come from the windows; nothing is in flight."""
    clock = FakeClock()
    metrics = MigrationMetrics(clock)
    metrics.observe("api", "candidate", 200, 0.01, None)
    metrics.observe("api", "candidate", 0, 5.0, "timeout")
    base, cand = read_windows(metrics, None, "api", POLICY)
    assert (base.requests, cand.requests, cand.errors) == (0, 2, 1)
    assert (cand.recent_attempts, cand.recent_connect_errors) == (2, 1)
    assert (cand.inflight, cand.slow_inflight, cand.stuck) == (0, 0, 0)


def test_inflight_attempts_are_slow_then_stuck_with_age() -> None:
    """Past the latency limit (200 ms) an attempt is slow; past 1 s it is stuck too."""
    clock = FakeClock()
    inflight = FakeInflight(clock)
    inflight.start("api", "candidate", 6)
    clock.advance(0.1)
    inflight.start("api", "baseline")
    clock.advance(0.4)
    metrics = MigrationMetrics(clock)
    base, cand = read_windows(metrics, inflight, "api", POLICY)
    assert (cand.inflight, cand.slow_inflight, cand.stuck) == (6, 6, 0)
    assert cand.oldest_inflight_s == 0.5
    assert (base.inflight, base.slow_inflight) == (1, 1)
    clock.advance(1.0)
    _, cand = read_windows(metrics, inflight, "api", POLICY)
    assert cand.stuck == 6
