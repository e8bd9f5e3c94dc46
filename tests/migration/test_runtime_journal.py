"""The runtime and the state journals: the setting, a crashed process' rollback and a member's own
lowering replayed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gateway.config import ConfigError
from migration.cluster.follower import set_weight_in
from migration.cluster.local_journal import local_entry
from migration.cluster.seams import Role
from migration.journal import Journal, commit_entry
from migration.plan import Plan, Step
from migration.runtime import CutoverRuntime, parse_migration_settings
from migration.state import Event, MigrationState, Phase
from migration.store import SQLiteStore, open_store
from tests.gateway.conftest import config_for, upstreams  # noqa: F401 - fixture
from tests.gateway.upstreams import Upstream

ROUTES = ["default"]
PLAN = Plan("default", (Step(5000), Step(10000)))


def test_the_journal_defaults_beside_the_snapshot_cache(tmp_path: Path) -> None:
    """No setting: state-journal.jsonl beside the state file's snapshot cache."""
    settings = parse_migration_settings({"state_db": "s/m.db"}, ROUTES, base_dir=tmp_path)
    assert settings.journal == tmp_path / "s" / "state-journal.jsonl"
    settings = parse_migration_settings({"journal": "j.jsonl"}, ROUTES, base_dir=tmp_path)
    assert settings.journal == tmp_path / "j.jsonl"


def test_a_set_snapshot_cache_is_read_beside_the_config_and_carries_the_journal(
    tmp_path: Path,
) -> None:
    """A relative snapshot_cache is under the config's directory; the journal follows it."""
    settings = parse_migration_settings({"snapshot_cache": "c/s.json"}, ROUTES, base_dir=tmp_path)
    assert settings.snapshot_cache == tmp_path / "c" / "s.json"
    assert settings.journal == tmp_path / "c" / "state-journal.jsonl"


@pytest.mark.parametrize("field", ["journal", "snapshot_cache"])
@pytest.mark.parametrize("value", ["", "  ", 3, ["a"]])
def test_a_bad_path_setting_names_the_field(field: str, value: Any) -> None:
    """Anything but a file path stops start-up naming the field."""
    with pytest.raises(ConfigError, match=rf"^migration\.{field}: expected a file path"):
        parse_migration_settings({field: value}, ROUTES)


def _config(tmp_path: Path, baseline: Upstream, candidate: Upstream) -> Any:
    return config_for(
        baseline.url,
        candidate.url,
        routes=[{"name": "default", "paths": ["/*"]}],
        migration={
            "state_db": str(tmp_path / "migration.db"),
            "interval_s": 0.05,
            "contract": "none",
            "memory_scrape": False,
        },
    )


def _crashed_during_an_outage(tmp_path: Path) -> None:
    """The store says 50 %; the journal holds the rollback the store refused before a kill -9."""
    db = tmp_path / "migration.db"
    store = open_store(db)
    running = MigrationState("default", PLAN, Phase.RUNNING, 0, 5000, 1.0, migration_id="m1")
    store.commit(running, [Event("default", 1.0, "started", Phase.RUNNING, 0, 5000)])
    store.close()
    rolled = running.with_(phase=Phase.ROLLED_BACK, weight_bps=0)
    event = Event("default", 2.0, "rolled_back", Phase.ROLLED_BACK, 0, 0, ("p95",), {}, "m1")
    journal = Journal(tmp_path / "state-journal.jsonl", str(db.resolve()))
    journal.append(commit_entry(rolled, [event], None))


async def test_a_replayed_rollback_is_in_force_before_the_first_request(
    upstreams: tuple[Upstream, Upstream],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    """Restart after a crash: weight 0 from the journal at once, then the event stored once."""
    _crashed_during_an_outage(tmp_path)
    registry = CollectorRegistry()
    rt = CutoverRuntime(_config(tmp_path, *upstreams), registry)
    assert registry.get_sample_value("cutover_state_journal_pending") == 1
    await rt.start()
    try:
        assert rt.gateway.state.get_weight("default") == 0
        async with asyncio.timeout(5.0):
            while (tmp_path / "state-journal.jsonl").exists():  # noqa: ASYNC110 - polls the tick
                await asyncio.sleep(0.02)
        kinds = [e.kind for e in rt.store.events("default")]
        assert kinds == ["started", "rolled_back"]
        stored = rt.store.load("default")
        assert stored is not None
        assert (stored.phase, stored.weight_bps) == (Phase.ROLLED_BACK, 0)
        assert registry.get_sample_value("cutover_state_journal_pending") == 0
    finally:
        await rt.stop()


def test_an_unreadable_journal_stops_start_up_naming_it(
    upstreams: tuple[Upstream, Upstream],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    """A journal that cannot be read is a config error naming migration.journal and the file."""
    (tmp_path / "state-journal.jsonl").mkdir()
    with pytest.raises(ConfigError, match=r"^migration\.journal: cannot read .*state-journal"):
        CutoverRuntime(_config(tmp_path, *upstreams), CollectorRegistry())


def _member_crashed_during_an_outage(tmp_path: Path, *weights: int) -> None:
    """The store's snapshot says 50 %; the member's local journal holds its own lowerings."""
    db = tmp_path / "migration.db"
    store = open_store(db)
    assert isinstance(store, SQLiteStore)  # a cluster store
    store.update_config(lambda d: set_weight_in(d, "default", 5000, "alice", None))
    store.close()
    journal = Journal(tmp_path / "state-journal-local.jsonl", str(db.resolve()), ops=("local",))
    for at, bps in enumerate(weights, start=1):
        journal.append(local_entry("weight", "default", bps, "alice", float(at)))


@pytest.mark.parametrize(("journaled", "served"), [(1000, 1000), (8000, 5000)])
async def test_a_members_journaled_lowering_is_in_force_and_published_once(
    upstreams: tuple[Upstream, Upstream],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    journaled: int,
    served: int,
) -> None:
    """Store answering at start: a lower journaled weight is served, then published with one
    event; a higher one is dropped."""
    _member_crashed_during_an_outage(tmp_path, journaled)
    rt = CutoverRuntime(_config(tmp_path, *upstreams), CollectorRegistry(), role=Role.MEMBER)
    await rt.start()
    try:
        assert rt.gateway.state.get_weight("default") == served
        async with asyncio.timeout(5.0):
            while (tmp_path / "state-journal-local.jsonl").exists():  # noqa: ASYNC110 - polls
                await asyncio.sleep(0.02)
        kinds = [e.kind for e in rt.store.events("default")]
        assert kinds.count("local_change") == (1 if journaled < 5000 else 0)
        assert isinstance(rt.store, SQLiteStore)
        snapshot = rt.store.read_config()
        assert snapshot is not None
        assert snapshot.data["weights"]["default"]["bps"] == served
        assert rt.gateway.state.get_weight("default") == served
    finally:
        await rt.stop()
