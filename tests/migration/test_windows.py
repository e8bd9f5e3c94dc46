"""SlidingWindow and RecentAttempts with a fake clock: expiry, spans, bounded memory."""

from __future__ import annotations

import pytest

from migration.testing import FakeClock
from migration.windows import RecentAttempts, SlidingWindow


def test_buckets_expire_as_the_clock_moves() -> None:
    """Counts older than the window disappear; newer ones stay."""
    clock = FakeClock(1000.0)
    window = SlidingWindow(clock, size=10)
    for _ in range(5):
        window.record(error=False, kind=None, duration_s=0.01)
    clock.advance(5)
    window.record(error=True, kind=None, duration_s=0.02)
    assert window.stats().requests == 6
    clock.advance(5)  # the first five are now 10 s old: out of a 10-bucket window
    stats = window.stats()
    assert (stats.requests, stats.errors) == (1, 1)
    clock.advance(10)
    assert window.stats().requests == 0


def test_span_reads_only_recent_buckets() -> None:
    """stats(span) merges only the last ``span`` seconds, the current bucket included."""
    clock = FakeClock(2000.0)
    window = SlidingWindow(clock, size=60)
    for second in range(30):
        clock.now = 2000.0 + second
        window.record(error=False, kind=None, duration_s=0.01 * (second + 1))
    clock.now = 2029.5
    recent = window.stats(10)
    assert recent.requests == 10
    assert recent.span_s == pytest.approx(9.5)
    assert recent.throughput == pytest.approx(10 / 9.5)
    assert window.stats().requests == 30


def test_recycled_slot_forgets_old_values() -> None:
    """A slot reused for a new second starts from zero, sketch included."""
    clock = FakeClock(0.0)
    window = SlidingWindow(clock, size=2)
    window.record(error=True, kind="connect", duration_s=None)
    clock.advance(2)  # same slot index, new second
    window.record(error=False, kind=None, duration_s=0.5)
    stats = window.stats(1)
    assert (stats.requests, stats.errors, stats.connect_errors) == (1, 0, 0)
    assert stats.latency.count == 1


def test_error_kinds_are_counted() -> None:
    """Connect errors and timeouts are tallied apart from other errors."""
    clock = FakeClock(0.0)
    window = SlidingWindow(clock)
    window.record(error=True, kind="connect", duration_s=None)
    window.record(error=True, kind="timeout", duration_s=2.0)
    window.record(error=True, kind="reset", duration_s=None)
    stats = window.stats()
    assert (stats.errors, stats.connect_errors, stats.timeouts) == (3, 1, 1)
    assert stats.error_rate == 1.0


def test_invalid_window_shape_raises() -> None:
    """A window needs at least one bucket of positive length."""
    with pytest.raises(ValueError, match="size"):
        SlidingWindow(FakeClock(), size=0)
    with pytest.raises(ValueError, match="bucket_s"):
        SlidingWindow(FakeClock(), bucket_s=0)


def test_recent_attempts_keep_last_n_and_age_out() -> None:
    """Only the last N attempts count, and none older than max_age_s."""
    clock = FakeClock(0.0)
    recent = RecentAttempts(clock, size=5, max_age_s=10.0)
    for _ in range(3):
        recent.record(False)
    for _ in range(5):
        recent.record(True)
    assert recent.counts() == (5, 5)
    clock.advance(11)
    assert recent.counts() == (0, 0)
