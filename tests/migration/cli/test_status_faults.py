"""``cutover status`` names every active fault under the table, next to a failing state store."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from gateway.faults import FaultSpec
from migration.cli.operator import faults_of, render_status

ABORT = FaultSpec(abort_percent=100.0).to_data()  # the API's JSON of a full abort
STATUS = {
    "ready": True,
    "routes": [],
    "backends": {
        "baseline": {"url": "http://b", "fault": None},
        "candidate": {"url": "http://c", "fault": ABORT},
    },
}


def shown(data: dict[str, Any], faults: dict[str, Any] | None) -> str:
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(render_status(data, faults))
    return console.export_text()


def test_faults_of_reads_each_backend_from_status() -> None:
    """``faults_of`` maps each backend of ``GET /status`` to its fault JSON or None."""
    assert faults_of(STATUS) == {"baseline": None, "candidate": ABORT}
    assert faults_of({}) == {}


def test_an_active_fault_is_the_caption() -> None:
    """An active fault is a caption line; a backend without one is not mentioned."""
    text = shown({"window_s": 60, "routes": []}, faults_of(STATUS))
    assert "FAULT on candidate: abort 100% → 503, delay 0 ms" in text
    assert "baseline" not in text
    assert "FAULT" not in shown({"window_s": 60, "routes": []}, None)


def test_a_failing_store_and_a_fault_are_both_shown() -> None:
    """The store's failure comes first, each fault on its own line after it."""
    store = {
        "ok": False,
        "failing_since": "2026-01-01T00:00:00Z",
        "errors": 3,
        "last_error": "database is locked",
    }
    text = shown({"window_s": 60, "routes": [], "state_store": store}, faults_of(STATUS))
    assert text.index("STATE STORE FAILING") < text.index("FAULT on candidate")


def test_a_failing_store_says_how_many_writes_the_journal_keeps() -> None:
    """Writes kept in the local journal (they survive a crash) are counted on the store's line."""
    store = {
        "ok": False,
        "failing_since": "2026-01-01T00:00:00Z",
        "errors": 3,
        "last_error": "connection refused",
        "journaled": 2,
    }
    text = shown({"window_s": 60, "routes": [], "state_store": store}, None)
    assert "2 write(s) kept in the local journal" in text
    store["journaled"] = 0
    assert "journal" not in shown({"window_s": 60, "routes": [], "state_store": store}, None)
