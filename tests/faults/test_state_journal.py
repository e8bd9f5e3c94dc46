"""A rollback decided while PostgreSQL is down survives a ``kill -9`` of the gateway.

The README's Known limits listed it: buffered decisions were lost if the gateway died before the
store came back, and the restarted gateway served the candidate at its old, higher weight. Here a
real ``cutover gateway`` at 50 % over a real PostgreSQL rolls back while the database is dead, is
killed with SIGKILL, and is started again with the database still dead: it must serve 0 % from its
first request (the journal, :mod:`migration.journal`), and once PostgreSQL is back the
``rolled_back`` event must be in the database exactly once.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.faults.postgres_store_support import pg_stack, steady_load
from tests.faults.state_store_support import ROUTE
from tests.support.postgres import running_server

PLAN = {"steps": [50, 100], "hold": "10m", "min_requests": 10}


def test_a_rollback_during_an_outage_survives_a_kill_of_the_gateway(tmp_path: Path) -> None:
    """PostgreSQL dead, rollback, kill -9, restart: 0 % at once; the event stored once later."""
    journal = tmp_path / "state-journal.jsonl"
    with running_server() as server, pg_stack(tmp_path, server) as running:
        running.call("POST", f"/migration/{ROUTE}/start", PLAN)
        assert running.live_bps() == 5000
        with steady_load(running.gateway.public_url):
            running.wait(
                lambda: running.view()["backends"]["candidate"]["samples"] >= 30, "traffic"
            )
            server.kill()
            running.wait(lambda: not running.overview()["state_store"]["ok"], "store failing")
            running.call("PUT", "/faults/candidate", {"abort_percent": 100, "abort_status": 503})
            running.wait(lambda: running.live_bps() == 0, "the rollback in the gateway")
        assert running.view()["phase"] == "rolled_back"
        assert running.overview()["state_store"]["journaled"] >= 1
        assert (running.metric("cutover_state_journal_pending") or 0) >= 1
        assert journal.exists()

        running.gateway.kill()  # no shutdown hook: the buffered writes are only in the journal
        started = time.monotonic()
        running.gateway.start()  # PostgreSQL still dead: fail-static from the snapshot cache
        ready_s = time.monotonic() - started
        first_bps = running.live_bps()
        print(f"restarted with PostgreSQL down: ready in {ready_s:.2f} s, weight {first_bps} bps")
        assert first_bps == 0, first_bps  # not the cached snapshot's 5000
        assert "journal_replayed" in running.gateway.tail()

        down = time.monotonic()
        server.start()  # crash recovery, then the leader flushes the replayed writes
        running.wait(lambda: running.overview()["state_store"]["ok"], "the store back", 30.0)
        running.wait(lambda: "rolled_back" in running.stored_events(), "the event stored", 30.0)
        stored_s = time.monotonic() - down
        time.sleep(2.0)  # a few more ticks: nothing is written twice
        stored = running.stored_events()
        print(f"store back -> rolled_back stored in {stored_s:.2f} s; events {stored}")
        assert stored.count("rolled_back") == 1
        assert running.view()["phase"] == "rolled_back"
        assert running.live_bps() == 0
        running.wait(lambda: not journal.exists(), "the journal removed")
        assert running.metric("cutover_state_journal_pending") == 0
