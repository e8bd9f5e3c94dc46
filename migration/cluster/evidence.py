"""One replica's window buckets as evidence rows: what a bucket carries, and its wire format.

Every data-plane process publishes its per-second buckets to the shared store as rows ``(route, tag,
payload)`` (:mod:`migration.cluster.exporter`): each completed bucket once, and the bucket in
progress as a *partial* that a newer partial, then the completed bucket, supersedes. The leader
merges every replica's rows into one window source (:mod:`migration.cluster.merged`). What a bucket
carries is what the analysis reads: per backend the attempts, errors, connect errors, timeouts and
latency sketch (bucket counts, never a quantile: only counts merge exactly, an average of p95s is no
p95), contract checks and violations; and the route's shadow comparisons and mismatches.

The payload is compact JSON (orjson), format version 1::

    {"v": 1, "acc": 0.01,
     "baseline": {"n": 40, "err": 1, "conn": 0, "tmo": 1, "zero": 0, "bins": [k1, c1, k2, c2, ...],
                  "cn": 3, "cbad": 0},
     "candidate": {...},
     "shadow": [events, bad], "partial": true}

``partial`` is written only for a bucket still filling (a completed bucket's payload is exactly what
it was before partials existed, so a leader of the previous release reads it; such a leader refuses
a partial as an unknown field, counts it as rejected, and merges the completed bucket when it comes,
as it always did). A backend or the shadow with nothing in the bucket is left out. ``acc`` is the
sketch's relative accuracy: sketches of another accuracy do not merge, so :meth:`RouteBucket.merge`
refuses them. Decoding is strict — a payload from a newer format, a broken writer or a hostile store
raises :class:`ValueError` (the merger skips and counts it): counts are non-negative integers,
errors and latency samples never exceed attempts, bad events never exceed events, and sketch keys
lie in the sketch's bounded key range (so a payload cannot make a merger allocate without bound).

What is lost on the wire: a sketch's exact sum (:attr:`LatencySketch.total`) — the decoded sketch
sums its buckets' representative values instead (within the accuracy); nothing in the analysis reads
it. Tags are the metrics clock's bucket numbers, so a clustered member must run its
:class:`MigrationMetrics` on the wall clock (the runtime's default, ``time.time``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import orjson

from migration.seams import BACKENDS, RateSample
from migration.sketch import DEFAULT_RELATIVE_ACCURACY, MAX_VALUE, MIN_VALUE, LatencySketch

__all__ = [
    "FORMAT_VERSION",
    "BackendBucket",
    "RouteBucket",
    "bucket_doc",
    "bucket_from_doc",
    "decode_bucket",
    "encode_bucket",
]

FORMAT_VERSION = 1
_NO_EVENTS = RateSample(0, 0)  # frozen: safe as a dataclass default


@dataclass
class BackendBucket:
    """One backend's counts in one bucket of one route (mutable: a merger adds into it)."""

    requests: int = 0
    errors: int = 0
    connect_errors: int = 0
    timeouts: int = 0
    latency: LatencySketch = field(default_factory=LatencySketch)
    contract: RateSample = _NO_EVENTS

    @property
    def empty(self) -> bool:
        """Nothing was recorded."""
        return not (self.requests or self.contract.events)

    def add(self, other: BackendBucket) -> None:
        """Add ``other``'s counts (the sketches must share their accuracy)."""
        self.latency.merge(other.latency)
        self.requests += other.requests
        self.errors += other.errors
        self.connect_errors += other.connect_errors
        self.timeouts += other.timeouts
        self.contract = _sum(self.contract, other.contract)


@dataclass
class RouteBucket:
    """Both backends and the shadow comparisons of one route in one bucket.

    ``partial``: the bucket was still filling when it was read (a later row of the same replica,
    route and bucket number supersedes it).
    """

    accuracy: float = DEFAULT_RELATIVE_ACCURACY
    backends: dict[str, BackendBucket] = field(default_factory=dict)
    shadow: RateSample = _NO_EVENTS
    partial: bool = False

    def backend(self, name: str) -> BackendBucket:
        """``name``'s counts, created empty (with this bucket's accuracy) on first use."""
        found = self.backends.get(name)
        if found is None:
            found = self.backends[name] = BackendBucket(latency=LatencySketch(self.accuracy))
        return found

    @property
    def empty(self) -> bool:
        """Nothing was recorded: such a bucket is never published."""
        return not self.shadow.events and all(b.empty for b in self.backends.values())

    @property
    def events(self) -> int:
        """Everything counted in it (attempts, contract checks, shadow comparisons): a bucket
        only grows while it fills, so of two partials of one bucket the larger is the newer."""
        counted = sum(b.requests + b.contract.events for b in self.backends.values())
        return counted + self.shadow.events

    def merge(self, other: RouteBucket) -> None:
        """Add ``other`` into this bucket; :class:`ValueError` if its sketch accuracy differs."""
        if other.accuracy != self.accuracy:
            raise ValueError(
                f"sketch accuracy {other.accuracy!r} cannot merge with {self.accuracy!r}"
            )
        for name, counts in other.backends.items():
            self.backend(name).add(counts)
        self.shadow = _sum(self.shadow, other.shadow)


def _sum(a: RateSample, b: RateSample) -> RateSample:
    return RateSample(a.events + b.events, a.bad + b.bad)


# -- the codec ---------------------------------------------------------------------------------


def encode_bucket(bucket: RouteBucket) -> str:
    """The compact JSON payload of ``bucket`` (see the module docstring for the format)."""
    return orjson.dumps(bucket_doc(bucket)).decode()


def bucket_doc(bucket: RouteBucket) -> dict[str, Any]:
    """``bucket`` as the payload's JSON object (for a document that nests buckets, such as a
    step's saved evidence, :meth:`~migration.step_evidence.StepEvidence.to_data`)."""
    doc: dict[str, Any] = {"v": FORMAT_VERSION, "acc": bucket.accuracy}
    for name in BACKENDS:
        counts = bucket.backends.get(name)
        if counts is None or counts.empty:
            continue
        keyed = counts.latency.keyed_counts()
        zero = keyed.pop(None, 0)
        bins = [n for key in sorted(k for k in keyed if k is not None) for n in (key, keyed[key])]
        doc[name] = {
            "n": counts.requests,
            "err": counts.errors,
            "conn": counts.connect_errors,
            "tmo": counts.timeouts,
            "zero": zero,
            "bins": bins,
            "cn": counts.contract.events,
            "cbad": counts.contract.bad,
        }
    if bucket.shadow.events:
        doc["shadow"] = [bucket.shadow.events, bucket.shadow.bad]
    if bucket.partial:
        doc["partial"] = True
    return doc


def decode_bucket(payload: str | bytes) -> RouteBucket:
    """The bucket in ``payload``; :class:`ValueError` for anything but a valid version-1 payload."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"evidence payload is not JSON: {exc}") from None
    return bucket_from_doc(doc)


def bucket_from_doc(doc: object) -> RouteBucket:
    """The bucket in a decoded payload object (:func:`bucket_doc`'s inverse), checked as strictly
    as :func:`decode_bucket`."""
    if not isinstance(doc, dict):
        raise ValueError("evidence payload is not a JSON object")
    if doc.get("v") != FORMAT_VERSION:
        raise ValueError(f"evidence payload version {doc.get('v')!r}, expected {FORMAT_VERSION}")
    unknown = set(doc) - {"v", "acc", "shadow", "partial", *BACKENDS}
    if unknown:
        raise ValueError(f"evidence payload has unknown fields {sorted(unknown)}")
    accuracy = doc.get("acc")
    if not isinstance(accuracy, float) or not 0.0 < accuracy < 1.0:
        raise ValueError(f"evidence payload accuracy {accuracy!r} is not in (0, 1)")
    partial = doc.get("partial", False)
    if partial is not True and "partial" in doc:
        raise ValueError(f"evidence payload partial is {partial!r}, not true")
    bucket = RouteBucket(accuracy, partial=partial)
    for name in BACKENDS:
        if name in doc:
            bucket.backends[name] = _decode_backend(name, doc[name], accuracy)
    if "shadow" in doc:
        bucket.shadow = _rate("shadow", doc["shadow"])
    return bucket


def _count(where: str, value: object) -> int:
    if type(value) is not int or value < 0:  # bool is an int subclass: refused too
        raise ValueError(f"evidence payload {where} is {value!r}, not a count")
    return value


def _rate(where: str, value: object) -> RateSample:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"evidence payload {where} is not [events, bad]")
    events, bad = _count(where, value[0]), _count(where, value[1])
    if bad > events:
        raise ValueError(f"evidence payload {where}: {bad} bad of {events} events")
    return RateSample(events, bad)


def _decode_backend(name: str, raw: object, accuracy: float) -> BackendBucket:
    if not isinstance(raw, dict) or set(raw) != {
        "n",
        "err",
        "conn",
        "tmo",
        "zero",
        "bins",
        "cn",
        "cbad",
    }:
        raise ValueError(f"evidence payload {name} is not a backend bucket")
    n, errors = _count(f"{name}.n", raw["n"]), _count(f"{name}.err", raw["err"])
    connect, timeouts = _count(f"{name}.conn", raw["conn"]), _count(f"{name}.tmo", raw["tmo"])
    if errors > n or connect + timeouts > errors:
        raise ValueError(f"evidence payload {name}: more errors than attempts")
    sketch = _decode_sketch(name, raw["zero"], raw["bins"], accuracy)
    if sketch.count > n:
        raise ValueError(f"evidence payload {name}: more latency samples than attempts")
    contract = _rate(f"{name}.contract", [raw["cn"], raw["cbad"]])
    return BackendBucket(n, errors, connect, timeouts, sketch, contract)


def _decode_sketch(name: str, zero: object, bins: object, accuracy: float) -> LatencySketch:
    """A sketch with exactly these bucket counts, rebuilt through the sketch's public ``add``.

    Each key is added as a value inside its bucket (the representative value, or just above
    :data:`~migration.sketch.MIN_VALUE` for the lowest bucket, whose representative falls below
    it), and the key it lands in is checked: a key outside the sketch's bounded range is refused.
    """
    sketch = LatencySketch(accuracy)
    if not isinstance(bins, list) or len(bins) % 2:
        raise ValueError(f"evidence payload {name}.bins is not [key, count, ...]")
    sketch.add(0.0, _count(f"{name}.zero", zero))
    seen: set[int] = set()
    for i in range(0, len(bins), 2):
        key, count = bins[i], _count(f"{name}.bins", bins[i + 1])
        if type(key) is not int or key in seen or count == 0:
            raise ValueError(f"evidence payload {name}.bins: bad key {key!r} or count {count}")
        seen.add(key)
        sketch.add(_inside(sketch, key, name), count)
    return sketch


def _inside(sketch: LatencySketch, key: int, name: str) -> float:
    try:
        value = min(sketch.value_of(key), MAX_VALUE)
    except OverflowError:
        raise ValueError(f"evidence payload {name}.bins: key {key} out of range") from None
    if value <= MIN_VALUE:
        value = math.nextafter(MIN_VALUE, math.inf)
    if sketch.key(value) != key:
        raise ValueError(f"evidence payload {name}.bins: key {key} out of range")
    return value
