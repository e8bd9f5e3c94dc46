"""How the snapshot ring thins its older evaluations, so one ring covers a multi-hour migration.

The controller writes one :class:`~migration.state.Snapshot` per evaluation (every ``interval``,
1 s by default) and the store keeps a ring of ``max_snapshots`` (2000) per route: unthinned, that is
33 minutes at 1 s — the HTML report of a three-hour migration would start in its last half hour.
Growing the ring without bound is not an option (the store is shared and read at every report), so
older evaluations are kept at a coarser resolution, as Prometheus' downsampling or RRDtool's
consolidated archives do:

* the newest 15 minutes: every evaluation;
* older than 15 minutes: the first evaluation of each 10-second bucket;
* older than 2 hours: the first of each minute.

At a 1 s interval the 2000-row ring then spans about 9¾ hours (900 + 630 + 470 rows at 1 a minute);
at 5 s, about a day. The HTML report knows the tiers (:func:`spacing`): a thinned stretch is drawn
as a line, and only a spacing over three times what thinning leaves counts as a gap.

:func:`keep` is the rule over plain times (the in-memory store uses it); the SQL stores run the
same rule as one ``DELETE`` per tier (:data:`THIN_SQL`), keyed on the new snapshot's own time, so no
host clock is involved. PostgreSQL's ``CAST`` rounds where SQLite's truncates, which shifts its
buckets by half a bucket: the same thinning, differently aligned.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["THIN_SQL", "TIERS", "keep", "spacing"]

#: ``(age in seconds beyond which, one snapshot per this many seconds)``, finest first.
TIERS: tuple[tuple[float, float], ...] = ((15 * 60, 10), (2 * 3600, 60))

#: Drops the snapshots of a route older than a cutoff but the first of each bucket.
#: Parameters: route, cutoff, route, cutoff, bucket seconds.
THIN_SQL = (
    "DELETE FROM migration_snapshot WHERE route = ? AND at < ? AND id NOT IN"
    " (SELECT MIN(id) FROM migration_snapshot WHERE route = ? AND at < ?"
    " GROUP BY CAST(at / ? AS INTEGER))"
)


def keep(ats: Sequence[float], now: float) -> list[bool]:
    """Which of ``ats`` (oldest first) survive thinning at ``now``: the :data:`TIERS` rule."""
    result = [True] * len(ats)
    for older, bucket in TIERS:
        seen: set[int] = set()
        for i, at in enumerate(ats):
            if not result[i] or at >= now - older:
                continue
            key = int(at // bucket)
            if key in seen:
                result[i] = False
            seen.add(key)
    return result


def spacing(age_s: float, interval_s: float) -> float:
    """The spacing thinning leaves between snapshots ``age_s`` older than the newest one."""
    return max([interval_s, *(bucket for older, bucket in TIERS if age_s > older)])
