"""The exporter: completed buckets published once, the bucket in progress as a partial."""

from __future__ import annotations

import pytest

from migration.cluster.evidence import decode_bucket
from migration.cluster.exporter import BucketExporter, Row
from migration.metrics import MigrationMetrics, RouteSlots
from migration.seams import RateSample
from migration.testing import FakeClock

T0 = 1_764_000_000.0  # a bucket boundary


def metrics_at(clock: FakeClock, **kw: int) -> MigrationMetrics:
    return MigrationMetrics(clock, **kw)


def tags(rows: list[Row]) -> list[tuple[str, int]]:
    return [(route, tag) for route, tag, _ in rows]


def test_exports_completed_buckets_once_after_acknowledgement() -> None:
    """Only buckets before the current second are exported, and none again once acknowledged."""
    clock = FakeClock(T0)
    metrics = metrics_at(clock)
    exporter = BucketExporter(metrics, partials=False)
    tag = int(T0)
    metrics.observe("api", "candidate", 200, 0.01, None)
    assert exporter.export(clock.now) == []  # the current bucket is still filling
    clock.advance(1.0)
    metrics.observe("api", "baseline", 503, 0.02, None)
    rows = exporter.export(clock.now)
    assert tags(rows) == [("api", tag)]
    exporter.acknowledge()
    clock.advance(1.0)
    metrics.observe_shadow("web", mismatched=True)
    clock.advance(1.0)
    rows = exporter.export(clock.now)
    assert tags(rows) == [("api", tag + 1), ("web", tag + 2)]
    exporter.acknowledge()
    assert exporter.export(clock.now + 0.5) == []  # same second: nothing new
    assert decode_bucket(rows[1][2]).shadow == RateSample(1, 1)


def test_failed_publish_is_resent_with_newer_rows() -> None:
    """Without an acknowledgement the next export repeats the rows, plus the newer buckets."""
    clock = FakeClock(T0)
    metrics = metrics_at(clock)
    exporter = BucketExporter(metrics, partials=False)
    metrics.observe("api", "candidate", 200, 0.01, None)
    clock.advance(1.0)
    first = exporter.export(clock.now)  # the publish fails: no acknowledge()
    metrics.observe("api", "candidate", 200, 0.01, None)
    clock.advance(1.0)
    second = exporter.export(clock.now)
    assert second[:1] == first
    assert tags(second) == [("api", int(T0)), ("api", int(T0) + 1)]
    exporter.acknowledge()
    clock.advance(5.0)
    assert exporter.export(clock.now) == []
    assert exporter.dropped == 0


def test_rows_older_than_the_window_are_dropped_and_counted() -> None:
    """After an outage longer than the window, the unpublished buckets that left it are counted."""
    clock = FakeClock(T0)
    metrics = metrics_at(clock, window_buckets=5)
    exporter = BucketExporter(metrics, partials=False)
    for _ in range(3):
        metrics.observe("api", "baseline", 200, 0.01, None)
        clock.advance(1.0)
    assert len(exporter.export(clock.now)) == 3  # tags T0..T0+2; the publish fails
    clock.advance(3.0)
    metrics.observe("api", "baseline", 200, 0.01, None)  # bucket T0+6
    clock.advance(1.0)
    rows = exporter.export(clock.now)  # the window is now T0+3 .. T0+7: T0..T0+2 left it
    assert tags(rows) == [("api", int(T0) + 6)]
    assert exporter.dropped == 3
    exporter.acknowledge()
    assert exporter.dropped == 3


def test_export_reads_at_most_the_window_back() -> None:
    """The first export of a long-running process starts at the window, not at the beginning."""
    clock = FakeClock(T0)
    metrics = metrics_at(clock, window_buckets=4)
    exporter = BucketExporter(metrics, partials=False)
    for _ in range(10):
        metrics.observe("api", "baseline", 200, 0.01, None)
        clock.advance(1.0)
    assert [tag - int(T0) for _, tag, _ in exporter.export(clock.now)] == [7, 8, 9]


def test_exported_bucket_carries_all_windows_of_the_route() -> None:
    """Attempts, latency, contract checks and shadow comparisons of one second go in one row."""
    clock = FakeClock(T0)
    metrics = metrics_at(clock)
    metrics.observe("api", "candidate", 0, 5.0, "timeout")
    metrics.observe("api", "candidate", 0, 0.001, "connect")
    metrics.observe("api", "candidate", 200, 0.05, None)
    metrics.observe_contract("api", "candidate", violated=True)
    metrics.observe_contract("api", "baseline", violated=False)
    metrics.observe_shadow("api", mismatched=False)
    clock.advance(1.0)
    [(_, _, payload)] = BucketExporter(metrics).export(clock.now)
    bucket = decode_bucket(payload)
    cand = bucket.backends["candidate"]
    assert (cand.requests, cand.errors, cand.connect_errors, cand.timeouts) == (3, 2, 1, 1)
    assert cand.latency.count == 2  # the connect error carries no latency
    assert cand.contract == RateSample(1, 1)
    assert bucket.backends["baseline"].contract == RateSample(1, 0)
    assert bucket.backends["baseline"].requests == 0
    assert bucket.shadow == RateSample(1, 0)


def test_metrics_expose_raw_buckets_by_number() -> None:
    """MigrationMetrics.buckets lists a window's slots in a bucket-number range, oldest first."""
    clock = FakeClock(T0)
    metrics = metrics_at(clock)
    assert metrics.buckets("api", 0, 10**10) is None
    for _ in range(3):
        metrics.observe("api", "baseline", 200, 0.01, None)
        clock.advance(2.0)
    slots = metrics.buckets("api", int(T0) + 1, int(T0) + 4)
    assert slots is not None
    assert [b.tag - int(T0) for b in slots.windows["baseline"]] == [2, 4]
    assert slots.windows["candidate"] == []
    assert slots.shadow == []
    assert (metrics.bucket_s, metrics.window_buckets) == (1.0, 60)


def test_bucket_in_progress_goes_out_as_a_growing_partial_then_completed() -> None:
    """Each export carries the bucket in progress as a partial (what it holds so far); once the
    second is over, the completed bucket follows, and the new second's partial only if it has
    anything."""
    clock = FakeClock(T0 + 0.1)
    metrics = metrics_at(clock)
    exporter = BucketExporter(metrics)
    metrics.observe("api", "candidate", 200, 0.01, None)
    [(route, tag, payload)] = exporter.export(clock.now)
    first = decode_bucket(payload)
    assert (route, tag, first.partial, first.events) == ("api", int(T0), True, 1)
    exporter.acknowledge()  # a partial needs no acknowledgement: it is sent again anyway
    clock.advance(0.25)
    metrics.observe("api", "candidate", 200, 0.01, None)
    [(_, tag, payload)] = exporter.export(clock.now)
    assert (tag, decode_bucket(payload).partial, decode_bucket(payload).events) == (
        int(T0),
        True,
        2,
    )
    clock.advance(0.7)  # T0 + 1.05: the bucket is over, nothing in the new one yet
    [(_, tag, payload)] = exporter.export(clock.now)
    assert (tag, decode_bucket(payload).partial, decode_bucket(payload).events) == (
        int(T0),
        False,
        2,
    )
    exporter.acknowledge()
    metrics.observe("web", "baseline", 200, 0.01, None)
    rows = exporter.export(clock.now)
    assert [(r, t - int(T0), decode_bucket(p).partial) for r, t, p in rows] == [("web", 1, True)]


def test_unacknowledged_completed_rows_are_not_encoded_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the store is down an export reads only the new buckets and the one in progress, not
    the whole unpublished window again (bounded work per beat however long the outage)."""
    clock = FakeClock(T0)
    metrics = metrics_at(clock)
    read: list[tuple[int, int]] = []
    buckets = metrics.buckets

    def spy(route: str, oldest: int, newest: int) -> RouteSlots | None:
        read.append((oldest - int(T0), newest - int(T0)))
        return buckets(route, oldest, newest)

    monkeypatch.setattr(metrics, "buckets", spy)
    exporter = BucketExporter(metrics)
    for _ in range(5):
        metrics.observe("api", "baseline", 200, 0.01, None)
        clock.advance(1.0)
    metrics.observe("api", "baseline", 200, 0.01, None)
    first = exporter.export(clock.now)  # never acknowledged
    read.clear()
    clock.advance(0.5)
    again = exporter.export(clock.now)
    assert read == [(5, 5)]  # the partial only
    assert again[:5] == first[:5]
    assert [t - int(T0) for _, t, _ in again] == [0, 1, 2, 3, 4, 5]


def test_no_partial_for_a_bucket_already_exported_completed() -> None:
    """A wall clock stepped back never makes a partial follow its completed bucket (the store
    would replace the completed row with less)."""
    clock = FakeClock(T0 + 0.5)
    metrics = metrics_at(clock)
    exporter = BucketExporter(metrics)
    metrics.observe("api", "candidate", 200, 0.01, None)
    clock.advance(1.0)
    assert [decode_bucket(p).partial for _, _, p in exporter.export(clock.now)] == [False]
    exporter.acknowledge()
    clock.now = T0 + 0.6  # NTP stepped the clock back into the exported bucket
    metrics.observe("api", "candidate", 200, 0.01, None)
    assert exporter.export(clock.now) == []


def test_unsent_partials_are_not_counted_as_dropped() -> None:
    """Only completed rows that left the window unpublished count as dropped; a partial is
    superseded, not lost."""
    clock = FakeClock(T0)
    metrics = metrics_at(clock, window_buckets=3)
    exporter = BucketExporter(metrics)
    metrics.observe("api", "baseline", 200, 0.01, None)
    assert len(exporter.export(clock.now)) == 1  # a partial; the publish fails
    clock.advance(1.0)
    assert len(exporter.export(clock.now)) == 1  # the completed bucket; the publish fails
    clock.advance(10.0)
    assert exporter.export(clock.now) == []
    assert exporter.dropped == 1
