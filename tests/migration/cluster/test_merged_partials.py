"""MergedWindows with partials: the bucket in progress counts at once, once, and settles early."""

from __future__ import annotations

from migration.cluster.evidence import BackendBucket, RouteBucket, encode_bucket
from migration.cluster.exporter import BucketExporter
from migration.cluster.merged import MergedWindows
from migration.cluster.seams import EvidenceRow
from migration.cluster.testing import InMemoryClusterStore
from migration.metrics import MigrationMetrics
from migration.sketch import LatencySketch
from migration.testing import FakeClock

T0 = 1_764_000_000.0  # a bucket boundary
NOW = int(T0)


def part(n: int, *, partial: bool = True, latency: float = 0.01) -> RouteBucket:
    sketch = LatencySketch.of([latency] * n)
    return RouteBucket(backends={"candidate": BackendBucket(n, 0, 0, 0, sketch)}, partial=partial)


class Rows:
    """Evidence rows with growing ids, as a store hands them out."""

    def __init__(self) -> None:
        self.id = 0

    def __call__(self, replica: str, tag: int, bucket: RouteBucket) -> EvidenceRow:
        self.id += 1
        return EvidenceRow(self.id, replica, "api", tag, encode_bucket(bucket))


def test_a_newer_partial_replaces_the_older_and_the_completed_bucket_replaces_both() -> None:
    """Counts are the newest partial's until the completed bucket comes; never a sum of them."""
    clock = FakeClock(T0 + 0.5)
    merged, row = MergedWindows(clock), Rows()
    assert merged.ingest([row("r1", NOW, part(3))]) == 1
    assert merged.window("api", "candidate", 1).requests == 3
    assert merged.ingest([row("r1", NOW, part(7))]) == 1
    assert merged.window("api", "candidate", 1).requests == 7
    assert merged.total_requests("api", "candidate") == 7
    clock.advance(0.6)
    assert merged.ingest([row("r1", NOW, part(9, partial=False))]) == 1
    assert merged.window("api", "candidate", 2).requests == 9
    assert merged.total_requests("api", "candidate") == 9
    assert merged.replicas("api") == {"r1"}


def test_an_older_partial_or_one_after_the_completed_bucket_is_ignored() -> None:
    """A partial no larger than the one held (a replay, or the store's copy of a row the leader
    merged locally first), or any row after the completed one, changes nothing."""
    clock = FakeClock(T0 + 0.5)
    merged, row = MergedWindows(clock), Rows()
    merged.ingest([row("r1", NOW, part(7))])
    assert merged.ingest([row("r1", NOW, part(3)), row("r1", NOW, part(7))]) == 0
    assert merged.window("api", "candidate", 1).requests == 7
    merged.ingest([row("r1", NOW, part(8, partial=False))])
    assert merged.ingest([row("r1", NOW, part(20)), row("r1", NOW, part(8, partial=False))]) == 0
    assert merged.duplicates == 4
    assert merged.window("api", "candidate", 1).requests == 8
    assert merged.total_requests("api", "candidate") == 8


def test_partials_of_several_replicas_add_up_beside_completed_buckets() -> None:
    """Each replica's newest partial adds to the completed buckets of the others."""
    clock = FakeClock(T0 + 0.9)
    merged, row = MergedWindows(clock), Rows()
    merged.ingest([row("r1", NOW, part(4)), row("r2", NOW, part(5, partial=False))])
    merged.ingest([row("r3", NOW, part(6)), row("r1", NOW, part(5))])
    stats = merged.window("api", "candidate", 1)
    assert (stats.requests, stats.latency.count) == (16, 16)
    assert merged.recent_attempts("api", "candidate") == (16, 0)


def test_a_replica_killed_mid_bucket_stays_counted_once() -> None:
    """Its last partial is never superseded: it counts in the windows, the totals and, once the
    bucket settles by age, the step's evidence — once."""
    clock = FakeClock(T0 + 0.5)
    merged, row = MergedWindows(clock), Rows()
    merged.ingest([row("dead", NOW, part(6)), row("live", NOW, part(2))])
    _, mark = merged.settled("api", "candidate", None)
    mark -= 1  # the step started before this bucket
    clock.advance(1.0)
    merged.ingest([row("live", NOW, part(3, partial=False)), row("live", NOW + 1, part(1))])
    assert merged.settled_through("api") == NOW - 1  # "dead" is not past NOW
    clock.advance(1.0)  # two buckets on: settled by age
    stats, mark = merged.settled("api", "candidate", mark)
    assert (stats.requests, mark) == (6 + 3, NOW)
    assert merged.total_requests("api", "candidate") == 6 + 3 + 1
    assert merged.window("api", "candidate", 3).requests == 6 + 3 + 1


def test_a_bucket_settles_as_soon_as_every_replica_is_past_it() -> None:
    """The completed bucket before now settles once every replica that published the route
    recently has its completed row in or a row of a later bucket; not before."""
    clock = FakeClock(T0 + 0.5)
    merged, row = MergedWindows(clock), Rows()
    merged.ingest([row("r1", NOW, part(2)), row("r2", NOW, part(2)), row("r3", NOW - 2, part(1))])
    _, mark = merged.settled("api", "candidate", None)
    assert mark == NOW
    clock.advance(0.6)  # NOW + 1.1: NOW is over; r1, r2 have not published since
    assert merged.settled_through("api") == NOW - 1
    merged.ingest([row("r1", NOW, part(4, partial=False)), row("r1", NOW + 1, part(1))])
    assert merged.settled_through("api") == NOW - 1  # r2 (and r3, two buckets ago) not yet
    merged.ingest([row("r2", NOW + 1, part(1))])  # r2 had nothing more in NOW: past it
    assert merged.settled_through("api") == NOW - 1  # r3 published NOW - 2: still expected
    merged.ingest([row("r3", NOW + 1, part(1))])
    assert merged.settled_through("api") == NOW
    # The step started at NOW - 1 (its mark), so NOW is its first settled bucket.
    stats, newest = merged.settled("api", "candidate", NOW - 1)
    assert (stats.requests, newest) == (4 + 2, NOW)


def test_a_replica_silent_for_three_buckets_is_not_waited_for() -> None:
    """Only replicas seen in the bucket or the two before are expected; with nobody seen the
    bucket waits for its age (a row may still come)."""
    clock = FakeClock(T0 + 0.2)
    merged, row = MergedWindows(clock), Rows()
    merged.ingest([row("gone", NOW - 4, part(1, partial=False))])
    assert merged.settled_through("api") == NOW - 2  # nobody seen in NOW - 3 .. NOW - 1
    merged.ingest([row("r1", NOW - 1, part(2, partial=False))])
    assert merged.settled_through("api") == NOW - 1


def test_a_replica_whose_clock_runs_behind_only_brings_back_the_age_rule() -> None:
    """Skew never settles a bucket before a replica is past it, and never later than by age."""
    clock = FakeClock(T0 + 0.3)
    merged, row = MergedWindows(clock), Rows()
    merged.ingest([row("ahead", NOW, part(3)), row("behind", NOW - 1, part(3))])
    clock.advance(1.0)  # the leader's NOW is over; "behind" still fills its NOW - 1
    merged.ingest([row("ahead", NOW, part(3, partial=False)), row("ahead", NOW + 1, part(1))])
    assert merged.settled_through("api") == NOW - 1
    clock.advance(1.0)
    assert merged.settled_through("api") == NOW  # by age, "behind" or not


def test_a_partial_outside_the_kept_buckets_is_ignored() -> None:
    """Too old or too far ahead, a partial counts nowhere: its completed row will count."""
    clock = FakeClock(T0)
    merged, row = MergedWindows(clock), Rows()
    assert merged.ingest([row("r1", NOW - 61, part(5)), row("r1", NOW + 3, part(7))]) == 0
    assert merged.outside == 2
    assert merged.total_requests("api", "candidate") == 0
    assert merged.ingest([row("r1", NOW + 3, part(7, partial=False))]) == 1
    assert merged.total_requests("api", "candidate") == 7


def test_partials_per_bucket_are_capped() -> None:
    """A flood of replica names cannot grow one bucket's partials without bound."""
    clock = FakeClock(T0 + 0.5)
    merged, row = MergedWindows(clock, max_partials=2), Rows()
    merged.ingest([row(f"r{i}", NOW, part(1)) for i in range(4)])
    assert merged.rejected == 2
    assert merged.window("api", "candidate", 1).requests == 2


def test_exporters_through_the_fake_store_equal_one_process_at_every_read() -> None:
    """Three exporters publishing four times a second through the shipped fake store (which
    replaces a row under a new id): at every read the leader's totals are one process' minus
    at most the last quarter second, and the settled evidence equals it exactly."""
    clock = FakeClock(T0)
    store = InMemoryClusterStore(clock)
    single = MigrationMetrics(clock)
    members = {f"r{i}": MigrationMetrics(clock) for i in range(3)}
    exporters = {name: BucketExporter(m) for name, m in members.items()}
    merged = MergedWindows(clock)
    mark = merged.settled("api", "candidate", None)[1]
    settled_total = 0
    for quarter in range(40):
        for i, metrics in enumerate(members.values()):
            for _ in range(1 + (quarter + i) % 3):
                for target in (single, metrics):
                    target.observe("api", "candidate", 200, 0.001 * (1 + quarter % 7), None)
        clock.advance(0.25)
        for name, exporter in exporters.items():
            store.publish_evidence(name, exporter.export(clock.now))
            exporter.acknowledge()
        merged.ingest(store.evidence_after(merged.last_id))
        assert merged.total_requests("api", "candidate") == single.total_requests(
            "api", "candidate"
        )
        stats, mark = merged.settled("api", "candidate", mark)
        settled_total += stats.requests
        assert mark <= int(clock.now) - 1  # never ahead of one process' completed buckets
    want, _ = single.settled("api", "candidate", int(T0) - 1)
    assert settled_total == want.requests
    assert merged.rejected == merged.outside == 0
