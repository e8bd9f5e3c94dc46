"""Evidence buckets: the payload codec, and the exporter that publishes
each completed bucket once."""

from __future__ import annotations

import orjson
import pytest

from migration.cluster.evidence import (
    BackendBucket,
    BucketExporter,
    RouteBucket,
    decode_bucket,
    encode_bucket,
)
from migration.metrics import MigrationMetrics
from migration.seams import RateSample
from migration.sketch import MAX_VALUE, MIN_VALUE, LatencySketch
from migration.testing import FakeClock

T0 = 1_764_000_000.0  # a bucket boundary


def sample_bucket() -> RouteBucket:
    latencies = [0.0, MIN_VALUE * 1.0000001, 0.003, 0.003, 0.2, 7.5, MAX_VALUE * 10]
    return RouteBucket(
        backends={
            "baseline": BackendBucket(9, 2, 1, 1, LatencySketch.of(latencies), RateSample(4, 1)),
            "candidate": BackendBucket(contract=RateSample(2, 2)),
        },
        shadow=RateSample(5, 3),
    )


def test_round_trip_keeps_every_count_and_sketch_bin() -> None:
    """Decoding an encoded bucket gives the same counts and the same sketch bins, extremes too."""
    bucket = sample_bucket()
    back = decode_bucket(encode_bucket(bucket))
    assert back.accuracy == bucket.accuracy
    assert back.shadow == RateSample(5, 3)
    base = back.backends["baseline"]
    assert (base.requests, base.errors, base.connect_errors, base.timeouts) == (9, 2, 1, 1)
    assert base.contract == RateSample(4, 1)
    assert base.latency.keyed_counts() == bucket.backends["baseline"].latency.keyed_counts()
    assert base.latency.count == 7
    assert back.backends["candidate"].contract == RateSample(2, 2)
    assert back.backends["candidate"].requests == 0


def test_payload_is_compact_and_leaves_out_what_is_empty() -> None:
    """No spaces; a backend and a shadow with nothing in the bucket are not written."""
    bucket = RouteBucket(backends={"baseline": BackendBucket(1, 0, 0, 0, LatencySketch.of([0.5]))})
    bucket.backend("candidate")  # present but empty
    payload = encode_bucket(bucket)
    assert " " not in payload
    assert set(orjson.loads(payload)) == {"v", "acc", "baseline"}
    assert bucket.empty is False
    assert RouteBucket().empty is True


def test_other_sketch_accuracy_does_not_merge() -> None:
    """Sketches of another relative accuracy are refused: their bucket keys mean other values."""
    ours, theirs = RouteBucket(0.01), RouteBucket(0.02)
    with pytest.raises(ValueError, match="accuracy"):
        ours.merge(theirs)
    assert decode_bucket(encode_bucket(theirs)).accuracy == 0.02


def test_merge_adds_counts_and_sketch_bins() -> None:
    """Merging adds every count, and the sketch bins as one sketch of all values would hold them."""
    a, b = sample_bucket(), sample_bucket()
    a.merge(b)
    base = a.backends["baseline"]
    assert (base.requests, base.errors, base.contract, a.shadow) == (
        18,
        4,
        RateSample(8, 2),
        RateSample(10, 6),
    )
    assert base.latency.keyed_counts() == {
        k: 2 * n for k, n in b.backends["baseline"].latency.keyed_counts().items()
    }


GOOD = {
    "v": 1,
    "acc": 0.01,
    "baseline": {
        "n": 3,
        "err": 1,
        "conn": 1,
        "tmo": 0,
        "zero": 0,
        "bins": [-230, 2],
        "cn": 0,
        "cbad": 0,
    },
}


def variant(**changes: object) -> bytes:
    doc = {**GOOD, "baseline": {**GOOD["baseline"]}}  # type: ignore[dict-item]
    for key, value in changes.items():
        target = doc["baseline"] if key in GOOD["baseline"] else doc  # type: ignore[operator]
        target[key] = value  # type: ignore[index]
    return orjson.dumps(doc)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        variant(v=2),
        variant(acc=1.5),
        variant(acc=1),
        variant(extra=1),
        variant(n=-1),
        variant(n=True),
        variant(n=2.0),
        variant(err=4),  # more errors than attempts
        variant(conn=1, tmo=1),  # more no-answers than errors
        variant(bins=[-230]),  # odd length
        variant(bins=[-230, 1, -230, 1]),  # a key twice
        variant(bins=[-230, 0]),  # an empty bin
        variant(bins=[10**6, 1]),  # outside the sketch's bounded key range
        variant(bins=[-(10**6), 1]),
        variant(bins=[-230, 4]),  # more latency samples than attempts
        variant(cn=1, cbad=2),
        orjson.dumps({**GOOD, "shadow": [1]}),
        orjson.dumps({**GOOD, "shadow": [1, 2]}),
        orjson.dumps({**GOOD, "baseline": {"n": 1}}),
    ],
)
def test_decode_is_strict(payload: bytes) -> None:
    """Anything but a well-formed version-1 bucket raises ValueError (the merger counts it)."""
    assert decode_bucket(variant()).backends["baseline"].requests == 3  # the base is valid
    with pytest.raises(ValueError, match=r"^evidence payload"):
        decode_bucket(payload)


# -- the exporter ------------------------------------------------------------------------------


def metrics_at(clock: FakeClock, **kw: int) -> MigrationMetrics:
    return MigrationMetrics(clock, **kw)


def tags(rows: list[tuple[str, int, str]]) -> list[tuple[str, int]]:
    return [(route, tag) for route, tag, _ in rows]


def test_exports_completed_buckets_once_after_acknowledgement() -> None:
    """Only buckets before the current second are exported, and none again once acknowledged."""
    clock = FakeClock(T0)
    metrics = metrics_at(clock)
    exporter = BucketExporter(metrics)
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
    exporter = BucketExporter(metrics)
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
    exporter = BucketExporter(metrics)
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
    exporter = BucketExporter(metrics)
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
