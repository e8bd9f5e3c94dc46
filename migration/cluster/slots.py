"""One route's bucket numbers on the leader: what each replica sent, and when a bucket is settled.

Pure bookkeeping under :class:`~migration.cluster.merged.MergedWindows` (which reads windows out of
it): a :class:`Slot` per bucket number holds the completed buckets added up and, beside them, the
newest partial of each replica whose completed bucket is not in yet; :func:`settled_through` says
up to which bucket number no more rows are expected. The rules, and why:

* **A partial is replaced, never added.** A bucket only grows while it fills, so of two partials of
  one replica the one that counts more is the newer; a smaller or equal one is a replay, or the
  store's copy of a row the leader merged locally first, and changes nothing. The completed bucket
  replaces the partial for good; anything of that replica after it is a repeat.
* **Settled when everyone is past it.** A member publishes its completed buckets with, or before,
  any row of a later bucket (one export, one transaction: :mod:`migration.cluster.exporter`), so a
  replica is past bucket ``n`` once its completed row for ``n`` is in, or any row of a later bucket.
  Bucket ``n`` settles when every replica seen on the route in ``n`` or the ``settle_buckets``
  before it is past it — and in any case ``settle_buckets`` back from now, so a replica killed
  mid-bucket (its last partial stays, and counts) or one whose clock runs behind only brings back
  that wait. With nobody seen, the bucket waits for its age too: a row may still come.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from migration.cluster.evidence import RouteBucket

__all__ = ["Slot", "settled_through"]


@dataclass
class Slot:
    """One route at one bucket number: the completed buckets added up, and the newest partial of
    each replica whose completed bucket is not in yet."""

    done: RouteBucket
    finished: set[str] = field(default_factory=set)
    partials: dict[str, RouteBucket] = field(default_factory=dict)

    def parts(self) -> Iterator[RouteBucket]:
        """What the slot counts: the completed sum, then each partial."""
        yield self.done
        yield from self.partials.values()

    @property
    def replicas(self) -> set[str]:
        """Replicas with any row here."""
        return self.finished | self.partials.keys()

    def take(
        self, replica: str, bucket: RouteBucket, max_partials: int
    ) -> tuple[bool, RouteBucket | None]:
        """Offer ``replica``'s ``bucket``: ``(True, the partial it replaced or None)`` when taken;
        ``(False, what is held)`` for a repeat or an older partial, ``(False, None)`` for a new
        partial past ``max_partials`` (the memory bound a flood of replica names meets)."""
        held = self.partials.get(replica)
        if replica in self.finished:
            return False, self.done
        if bucket.partial:
            if held is not None and bucket.events <= held.events:
                return False, held
            if held is None and len(self.partials) >= max_partials:
                return False, None
            self.partials[replica] = bucket
        else:
            self.partials.pop(replica, None)
            self.done.merge(bucket)
            self.finished.add(replica)
        return True, held


def settled_through(
    slots: Mapping[int, Slot], now_tag: int, settle_buckets: int, ahead_buckets: int
) -> int:
    """The newest bucket number (below ``now_tag``, the bucket in progress) that has settled."""
    newest = now_tag - settle_buckets
    for tag in range(newest + 1, now_tag):
        expected: set[str] = set()
        for t in range(tag - settle_buckets, tag + 1):
            if t in slots:
                expected |= slots[t].replicas
        past = set(slots[tag].finished) if tag in slots else set()
        for t in range(tag + 1, now_tag + ahead_buckets + 1):
            if t in slots:
                past |= slots[t].replicas
        if not expected or not expected <= past:
            break  # nobody seen (a row may still come), or someone not past it yet
        newest = tag
    return newest
