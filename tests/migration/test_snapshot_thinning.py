"""Snapshot thinning: the bounded ring covers hours, the stores agree on what they keep."""

from __future__ import annotations

from pathlib import Path

from migration.plan import Plan, Step
from migration.snapshot_thinning import keep, spacing
from migration.state import MigrationState, Phase, Snapshot
from migration.store import SQLiteStore
from migration.testing import InMemoryStore

STATE = MigrationState("tasks", Plan("tasks", (Step(1000),)), Phase.RUNNING, 0, 1000, 0.0)


def test_the_newest_quarter_hour_is_kept_whole() -> None:
    """Every evaluation of the last 15 minutes survives; older ones keep one per 10 s bucket."""
    ats = [float(t) for t in range(0, 1200)]
    kept = [at for at, k in zip(ats, keep(ats, 1199.0), strict=True) if k]
    assert kept[-900:] == ats[-900:]
    # 299 is exactly 900 s old (kept whole); before it, the first of each 10 s bucket.
    assert kept[:-900] == [float(t) for t in range(0, 299, 10)] + [299.0]


def test_beyond_two_hours_one_per_minute_remains() -> None:
    """Snapshots over two hours old keep the first of each minute."""
    ats = [float(t) for t in range(0, 3 * 3600)]
    survivors = [at for at, k in zip(ats, keep(ats, ats[-1]), strict=True) if k]
    old = [at for at in survivors if at < ats[-1] - 2 * 3600]
    assert old == [float(t) for t in range(0, 3600 - 1, 60)]


def test_the_spacing_thinning_leaves() -> None:
    """The interval while young, 10 s past 15 minutes, 60 s past two hours."""
    assert spacing(60.0, 1.0) == 1.0
    assert spacing(1000.0, 1.0) == 10
    assert spacing(8000.0, 1.0) == 60
    assert spacing(8000.0, 90.0) == 90.0


def test_a_one_second_migration_of_three_hours_fits_the_default_ring(tmp_path: Path) -> None:
    """At 5 s over 3 h (and so at 1 s over ~10 h) SQLite keeps the start; both stores agree."""
    sqlite, memory = SQLiteStore(tmp_path / "m.db"), InMemoryStore()
    ats = [float(t) for t in range(0, 3 * 3600, 5)]
    for at in ats:
        snap = Snapshot("tasks", at, 1000, "hold")
        sqlite.commit(STATE, (), snap)
        memory.commit(STATE, (), snap)
    kept = [s.at for s in sqlite.snapshots("tasks", 100_000)]
    assert kept[0] == 0.0
    assert kept == [s.at for s in memory.snapshots("tasks", 100_000)]
    assert len(kept) < sqlite.max_snapshots
    sqlite.close()
