"""The state journal: durable appends, replay, removal, a torn tail, a disk that refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from migration import journal as journal_module
from migration.journal import Journal, JournalError, weight_entry
from migration.state import Event, Phase

STORE = "/srv/cutover/migration.db"


def entry(bps: int, at: float = 1.0) -> dict[str, object]:
    return weight_entry("api", bps, [Event("api", at, "weight_set", Phase.PENDING, 0, bps)])


def test_appended_entries_are_read_back_in_order(tmp_path: Path) -> None:
    """Each append is a JSON line after a header naming the store; read returns them in order."""
    j = Journal(tmp_path / "j.jsonl", STORE, epoch=lambda: 7)
    assert j.append(entry(3000))
    assert j.append(entry(0, 2.0))
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"journal": 1, "store": STORE, "epoch": 7}
    replay = Journal(tmp_path / "j.jsonl", STORE).read()
    assert [e["weight_bps"] for e in replay.entries] == [3000, 0]
    assert (replay.epoch, replay.skipped) == (7, 0)


def test_clear_removes_the_file_and_resets_the_gauge(tmp_path: Path) -> None:
    """Once the store has every write the file is gone and the pending gauge reads 0."""
    registry = CollectorRegistry()
    j = Journal(tmp_path / "j.jsonl", STORE, registry=registry)
    j.append(entry(0))
    assert registry.get_sample_value("cutover_state_journal_pending") == 1
    j.clear()
    assert not (tmp_path / "j.jsonl").exists()
    assert registry.get_sample_value("cutover_state_journal_pending") == 0
    assert j.read().entries == ()


def test_a_torn_last_line_is_skipped_and_the_rest_replayed(tmp_path: Path) -> None:
    """A crash mid-append leaves half a line: it is skipped, the lines before it replay."""
    path = tmp_path / "j.jsonl"
    j = Journal(path, STORE)
    j.append(entry(3000))
    j.append(entry(0, 2.0))
    path.write_bytes(path.read_bytes()[:-20])
    replay = Journal(path, STORE).read()
    assert [e["weight_bps"] for e in replay.entries] == [3000]
    assert replay.skipped == 1


def test_a_journal_of_another_store_is_set_aside(tmp_path: Path) -> None:
    """A file written for another store is never replayed here; it is moved to *.ignored."""
    path = tmp_path / "j.jsonl"
    Journal(path, "postgresql://cutover:***@db-a/cutover").append(entry(0))
    assert Journal(path, STORE).read().entries == ()
    assert not path.exists()
    assert (tmp_path / "j.jsonl.ignored").exists()


def test_an_unwritable_journal_counts_the_error_and_returns_false(tmp_path: Path) -> None:
    """A directory that cannot hold the file: the append fails, is counted, never raises."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    registry = CollectorRegistry()
    j = Journal(blocker / "j.jsonl", STORE, registry=registry)
    assert not j.append(entry(0))
    assert not j.append(entry(0))
    assert j.errors == 2
    assert registry.get_sample_value("cutover_state_journal_errors_total") == 2


def test_after_a_failed_append_the_next_one_rewrites_every_pending_write(tmp_path: Path) -> None:
    """The write the disk refused is not lost from the file: the next append writes them all."""
    path = tmp_path / "j.jsonl"
    path.mkdir()  # the path is a directory: the open fails
    j = Journal(path, STORE)
    assert not j.append(entry(3000))
    path.rmdir()
    assert j.append(entry(0, 2.0), [entry(3000), entry(0, 2.0)])
    assert [e["weight_bps"] for e in Journal(path, STORE).read().entries] == [3000, 0]


def test_many_appends_are_compacted_to_the_pending_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After COMPACT_EVERY appends the file is rewritten from what is still pending."""
    monkeypatch.setattr(journal_module, "COMPACT_EVERY", 3)
    path = tmp_path / "j.jsonl"
    j = Journal(path, STORE)
    for bps in (4000, 3000, 2000, 1000):
        j.append(entry(bps), [entry(bps)])
    assert [e["weight_bps"] for e in Journal(path, STORE).read().entries] == [1000]


def test_an_unreadable_journal_names_the_file(tmp_path: Path) -> None:
    """A journal that exists but cannot be read raises an error naming its path."""
    path = tmp_path / "j.jsonl"
    path.mkdir()
    with pytest.raises(JournalError, match=r"j\.jsonl"):
        Journal(path, STORE).read()
