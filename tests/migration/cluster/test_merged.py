"""MergedWindows: every replica's buckets read as one process' windows, exactly."""

from __future__ import annotations

import random

import pytest

from migration.cluster.evidence import BackendBucket, RouteBucket, decode_bucket, encode_bucket
from migration.cluster.exporter import BucketExporter
from migration.cluster.inflight import MergedInflight
from migration.cluster.merged import MergedWindows
from migration.cluster.seams import EvidenceRow
from migration.evidence import read_windows
from migration.metrics import MigrationMetrics
from migration.policy import Policy
from migration.seams import BACKENDS, RateSample
from migration.sketch import LatencySketch
from migration.testing import FakeClock

T0 = 1_764_000_000.0  # a bucket boundary
ROUTES = ("api", "web")
KINDS = [None] * 12 + ["connect", "timeout", "fault", "fallback_deadline"]


class Cluster:
    """Replicas' metrics with their exporters, publishing into a list standing in for the store."""

    def __init__(self, clock: FakeClock, replicas: int, rng: random.Random) -> None:
        self.members = {f"r{i}": MigrationMetrics(clock) for i in range(replicas)}
        self.exporters = {name: BucketExporter(m) for name, m in self.members.items()}
        self.stored: list[EvidenceRow] = []
        self.rng = rng
        self.failures = 0

    def publish(self, now: float, fail_rate: float = 0.0) -> None:
        for name, exporter in self.exporters.items():
            rows = exporter.export(now)
            if self.rng.random() < fail_rate:
                self.failures += 1
                continue  # the store was unreachable: no acknowledge, the rows come again
            for route, tag, payload in rows:
                self.stored.append(EvidenceRow(len(self.stored) + 1, name, route, tag, payload))
            exporter.acknowledge()


def drive(seed: int) -> tuple[FakeClock, MigrationMetrics, Cluster, MergedWindows]:
    """The same random traffic into one process and, split at random, into three replicas."""
    rng = random.Random(seed)
    clock = FakeClock(T0)
    single = MigrationMetrics(clock)
    cluster = Cluster(clock, 3, rng)
    merged = MergedWindows(clock)
    read = 0
    next_publish = T0 + 1.0
    for _ in range(4000):
        clock.advance(rng.expovariate(400.0))  # ~10 s of traffic
        member = cluster.members[rng.choice(list(cluster.members))]
        route = rng.choice(ROUTES)
        what, backend = rng.random(), rng.choice(BACKENDS)
        for target in (single, member):
            if what < 0.8:
                kind = KINDS[int(what * 100) % len(KINDS)]
                status = 503 if what < 0.05 else (0 if kind else 200)
                target.observe(route, backend, status, what * 0.4, kind)
            elif what < 0.9:
                target.observe_shadow(route, mismatched=what < 0.83)
            else:
                target.observe_contract(route, backend, violated=what > 0.97)
        if clock.now >= next_publish:
            cluster.publish(clock.now, fail_rate=0.3)
            merged.ingest(cluster.stored[read:])
            read = len(cluster.stored)
            next_publish = clock.now + rng.uniform(0.5, 2.0)
    clock.now = float(int(clock.now) + 1)  # the last bucket completes
    cluster.publish(clock.now)
    merged.ingest(cluster.stored[read:])
    return clock, single, cluster, merged


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_three_replicas_merge_to_exactly_one_process(seed: int) -> None:
    """Split across 3 replicas (with failed publishes, partials superseded by newer ones and by the
    completed buckets), the merged windows equal one process'."""
    clock, single, cluster, merged = drive(seed)
    assert merged.rejected == merged.outside == 0
    assert cluster.failures > 0  # publishes did fail, and their rows came again
    assert sum(decode_bucket(r.payload).partial for r in cluster.stored) > 10
    end = clock.now
    for route in ROUTES:
        for backend in BACKENDS:
            assert merged.total_requests(route, backend) == single.total_requests(route, backend)
        assert merged.total_shadow(route) == single.total_shadow(route)
        for span in (1, 3, 5, 10, 30, 60):
            # Both spans end in the bucket in progress, read just before it ends (every replica's
            # completed row is in by then: the last publish came after the boundary).
            clock.now = end - 0.001
            got = merged.window(route, "candidate", span), merged.window(route, "baseline", span)
            shadow = merged.shadow(route, span)
            contracts = [merged.contract(route, b, span) for b in BACKENDS]
            want = single.window(route, "candidate", span), single.window(route, "baseline", span)
            assert shadow == single.shadow(route, span)
            assert contracts == [single.contract(route, b, span) for b in BACKENDS]
            for g, w in zip(got, want, strict=True):
                assert (g.requests, g.errors, g.connect_errors, g.timeouts) == (
                    w.requests,
                    w.errors,
                    w.connect_errors,
                    w.timeouts,
                )
                assert g.latency.keyed_counts() == w.latency.keyed_counts()
                assert g.latency.count == w.latency.count
                for q in (0.5, 0.95, 0.99):
                    assert g.p(q) == w.p(q)
                assert g.span_s == w.span_s
    clock.now = end
    assert merged.routes() == sorted(ROUTES)
    assert merged.replicas("api") == set(cluster.members)


def row(
    id_: int, tag: int, bucket: RouteBucket, replica: str = "r1", route: str = "api"
) -> EvidenceRow:
    return EvidenceRow(id_, replica, route, tag, encode_bucket(bucket))


def attempts(n: int, failed: int = 0, latency: float = 0.01) -> RouteBucket:
    sketch = LatencySketch.of([latency] * (n - failed))
    return RouteBucket(backends={"candidate": BackendBucket(n, failed, failed, 0, sketch)})


def test_span_ends_in_the_bucket_in_progress() -> None:
    """A span of n s merges the n buckets up to the current one, as one process' window does;
    span_s counts the current bucket's elapsed part."""
    clock = FakeClock(T0 + 0.5)
    merged = MergedWindows(clock)
    now = int(T0)
    merged.ingest([row(i, now - i, attempts(1), route="api") for i in range(0, 5)])
    assert merged.window("api", "candidate", 1).requests == 1  # now only
    assert merged.window("api", "candidate", 3).requests == 3
    assert merged.window("api", "candidate", 3).span_s == 2.5
    assert merged.window("api", "candidate", 0).requests == 1  # at least one bucket
    assert merged.window("api", "candidate", 600).span_s == 59.5  # at most the window
    assert merged.window("nowhere", "baseline", 10).requests == 0


def test_recent_attempts_take_newest_buckets_until_twenty() -> None:
    """Newest buckets first, until they hold 20 attempts or 10 buckets were read."""
    clock = FakeClock(T0)
    merged = MergedWindows(clock)
    now = int(T0)
    merged.ingest(
        [
            row(1, now - 1, attempts(12, failed=12)),
            row(2, now - 2, attempts(12)),
            row(3, now - 3, attempts(50)),
        ]
    )
    assert merged.recent_attempts("api", "candidate") == (24, 12)
    assert merged.recent_attempts("api", "baseline") == (0, 0)
    clock.advance(8.0)  # only now - 1 is still within the 10 newest buckets
    assert merged.recent_attempts("api", "candidate") == (12, 12)
    clock.advance(1.0)
    assert merged.recent_attempts("api", "candidate") == (0, 0)


def test_memory_is_bounded_by_the_window_whatever_the_tags() -> None:
    """Ingesting an hour of buckets from many replicas keeps only the window's; totals keep all."""
    clock = FakeClock(T0)
    merged = MergedWindows(clock, window_buckets=60, max_ahead_buckets=2)
    id_ = 0
    for second in range(3600):
        clock.now = T0 + second
        rows = []
        for replica in ("r1", "r2", "r3"):
            for route in ROUTES:
                id_ += 1
                rows.append(row(id_, int(clock.now) - 1, attempts(2), replica, route))
        assert merged.ingest(rows) == 6
        assert merged.bucket_count <= len(ROUTES) * (60 + 2 + 1)
    assert merged.total_requests("api", "candidate") == 3600 * 3 * 2
    assert merged.last_id == id_
    assert merged.replicas("web") == {"r1", "r2", "r3"}


def test_rows_outside_the_kept_tags_count_in_totals_only() -> None:
    """Too old for the window, or further ahead than clock skew: in the totals, in no window."""
    clock = FakeClock(T0)
    merged = MergedWindows(clock)
    now = int(T0)
    assert merged.ingest([row(1, now - 61, attempts(5)), row(2, now + 3, attempts(7))]) == 2
    assert merged.outside == 2
    assert merged.total_requests("api", "candidate") == 12
    assert merged.bucket_count == 0
    assert merged.replicas("api") == set()


def test_malformed_payload_is_rejected_and_counted() -> None:
    """A row that does not decode, or has another sketch accuracy, is skipped; the rest merge."""
    clock = FakeClock(T0)
    merged = MergedWindows(clock)
    now = int(T0)
    bad = EvidenceRow(1, "r9", "api", now - 1, "{broken")
    other = row(2, now - 1, RouteBucket(0.02, {"candidate": BackendBucket(1)}), replica="r8")
    assert merged.ingest([bad, other, row(3, now - 1, attempts(4))]) == 1
    assert merged.rejected == 2
    assert merged.last_rejection is not None
    assert "r8" in merged.last_rejection
    assert merged.window("api", "candidate", 5).requests == 4
    assert merged.replicas("api") == {"r1"}
    assert merged.last_id == 3


def test_a_repeated_row_counts_once() -> None:
    """The same replica's bucket of a route ingested twice (an overlapping read) counts once."""
    clock = FakeClock(T0)
    merged = MergedWindows(clock)
    now = int(T0)
    first = row(1, now - 1, attempts(3))
    assert merged.ingest([first, row(2, now - 1, attempts(3), replica="r2")]) == 2
    assert merged.ingest([first]) == 0
    assert merged.duplicates == 1
    assert merged.total_requests("api", "candidate") == 6
    assert merged.window("api", "candidate", 5).requests == 6


def test_routes_past_the_cap_are_rejected() -> None:
    """A flood of route names cannot grow the merger without bound."""
    merged = MergedWindows(FakeClock(T0), max_routes=2)
    rows = [row(i, int(T0) - 1, attempts(1), route=f"r{i}") for i in range(4)]
    assert merged.ingest(rows) == 2
    assert (merged.rejected, merged.routes()) == (2, ["r0", "r1"])


def test_shadow_and_contract_over_the_span() -> None:
    """Shadow and contract counts add up over the span's buckets."""
    clock = FakeClock(T0 - 0.5)
    merged = MergedWindows(clock)
    now = int(T0)
    bucket = RouteBucket(shadow=RateSample(4, 1))
    bucket.backend("baseline").contract = RateSample(3, 2)
    merged.ingest([row(1, now - 1, bucket), row(2, now - 2, bucket, replica="r2")])
    assert merged.shadow("api", 1) == RateSample(4, 1)
    assert merged.shadow("api", 10) == RateSample(8, 2)
    assert merged.contract("api", "baseline", 10) == RateSample(6, 4)
    assert merged.contract("api", "candidate", 10) == RateSample(0, 0)
    assert merged.total_shadow("api") == 8


def test_read_windows_runs_unchanged_on_the_merged_sources() -> None:
    """The controller's read_windows takes MergedWindows and MergedInflight as they are."""
    clock = FakeClock(T0)
    merged = MergedWindows(clock)
    now = int(T0)
    merged.ingest([row(1, now - 1, attempts(30, failed=3)), row(2, now - 2, attempts(10), "r2")])
    inflight = MergedInflight()
    inflight.update(
        {
            "r1": {"api": {"candidate": {"n": 2, "ages": [9.0, 0.1]}}},
            "r2": {"api": {"candidate": {"n": 1, "ages": [4.0]}}},
        }
    )
    base, cand = read_windows(merged, inflight, "api", Policy())
    assert (cand.requests, cand.errors, cand.recent_attempts, cand.recent_connect_errors) == (
        40,
        3,
        30,
        3,
    )
    assert cand.latency is not None
    assert cand.latency.count == 37
    assert (cand.inflight, cand.stuck, cand.oldest_inflight_s) == (3, 2, 9.0)
    assert (base.requests, base.inflight) == (0, 0)


def test_settled_buckets_wait_two_seconds_for_every_replica() -> None:
    """The step's evidence starts after the bucket in progress and takes buckets two back from
    now, each once, from every replica."""
    clock = FakeClock(T0 + 0.5)
    merged = MergedWindows(clock)
    now = int(T0)
    stats, mark = merged.settled("api", "candidate", None)
    assert (stats.requests, mark) == (0, now)
    merged.ingest([row(i, now - 1 + i, attempts(1)) for i in range(3)])  # now - 1 .. now + 1
    merged.ingest([row(9, now + 1, attempts(4), replica="r2")])
    stats, mark = merged.settled("api", "candidate", mark)
    assert (stats.requests, mark) == (0, now)  # nothing settled after the mark yet
    clock.advance(3.0)
    stats, mark = merged.settled("api", "candidate", mark)
    assert (stats.requests, mark) == (1 + 4, now + 1)  # now - 1 and now were the step's before
    assert merged.settled("api", "candidate", mark)[0].requests == 0


def test_operation_keys_are_listed_apart_from_routes() -> None:
    """Rows for ``route/operation`` keys merge like a route's and list under operations()."""
    clock = FakeClock(T0 + 0.5)
    merged = MergedWindows(clock)
    now = int(T0)
    merged.ingest(
        [
            row(1, now - 1, attempts(3)),
            row(2, now - 1, attempts(2), route="api/create_task"),
            row(3, now - 1, attempts(1), route="api/GET api"),
        ]
    )
    assert merged.routes() == ["api"]
    assert merged.operations("api") == ["GET api", "create_task"]
    assert merged.window("api/create_task", "candidate", 5).requests == 2
