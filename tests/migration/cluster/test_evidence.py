"""Evidence buckets: the counts one bucket carries and their strict payload codec."""

from __future__ import annotations

import orjson
import pytest

from migration.cluster.evidence import (
    BackendBucket,
    RouteBucket,
    decode_bucket,
    encode_bucket,
)
from migration.seams import RateSample
from migration.sketch import MAX_VALUE, MIN_VALUE, LatencySketch


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
        orjson.dumps({**GOOD, "partial": False}),  # only ever written as true
        orjson.dumps({**GOOD, "partial": 1}),
    ],
)
def test_decode_is_strict(payload: bytes) -> None:
    """Anything but a well-formed version-1 bucket raises ValueError (the merger counts it)."""
    assert decode_bucket(variant()).backends["baseline"].requests == 3  # the base is valid
    with pytest.raises(ValueError, match=r"^evidence payload"):
        decode_bucket(payload)


def test_partial_travels_and_a_completed_payload_is_unchanged() -> None:
    """A partial is marked in its payload; a completed bucket's payload has no new field, so a
    leader of the previous release still reads it."""
    bucket = sample_bucket()
    assert "partial" not in orjson.loads(encode_bucket(bucket))
    assert decode_bucket(encode_bucket(bucket)).partial is False
    bucket.partial = True
    assert orjson.loads(encode_bucket(bucket))["partial"] is True
    assert decode_bucket(encode_bucket(bucket)).partial is True


def test_events_count_attempts_contract_checks_and_shadow_comparisons() -> None:
    """A bucket's size (what orders two partials of it) is everything counted in it."""
    assert sample_bucket().events == 9 + 4 + 2 + 5
    assert RouteBucket().events == 0
