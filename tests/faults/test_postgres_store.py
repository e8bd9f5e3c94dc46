"""The PostgreSQL state store under real faults: a real ``cutover gateway``, a real
PostgreSQL broken from outside.

Issue #13 (item 2 and its "bad input" bullet): a frozen, then killed database costs the clients
nothing and delays no rollback; a bad URL, a wrong password, an unreachable server and a newer
schema each stop start-up with exit code 2 and one line that never shows the password.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from migration.cli.processes import free_port
from migration.store_postgres import PostgresStore
from migration.store_sql import SCHEMA_VERSION
from tests.e2e.stack import BackendPorts
from tests.faults.postgres_store_support import (
    PgStack,
    pg_stack,
    steady_load,
    write_config,
)
from tests.faults.state_store_support import ROUTE
from tests.support.postgres import (  # noqa: F401
    PASSWORD,
    PostgresServer,
    postgres_server,
    running_server,
)

CUTOVER = [sys.executable, "-m", "migration.cli.main"]
PLAN = {"steps": [50, 100], "hold": "10m", "min_requests": 10}


def roll_back_while_frozen(running: PgStack) -> None:
    """The rollback part: the database is frozen (SIGSTOP) when the candidate starts failing."""
    running.wait(lambda: not running.overview()["state_store"]["ok"], "store failing", 10.0)
    running.call("PUT", "/faults/candidate", {"abort_percent": 100, "abort_status": 503})
    took = running.wait(lambda: running.live_bps() == 0, "the rollback in the gateway")
    print(f"fault injected -> weight 0 in the gateway: {took:.2f} s (PostgreSQL frozen)")
    assert took < 5.0
    assert running.view()["phase"] == "rolled_back"
    store = running.overview()["state_store"]
    assert store["promotions"] == "refused"
    assert store["pending_routes"] == 1
    assert (running.metric("cutover_state_store_failing") or 0) == 1
    assert (running.metric("cutover_state_store_errors_total") or 0) >= 1
    refused = running.call("POST", f"/migration/{ROUTE}/resume", expect=409)
    assert "state store" in refused["detail"]
    assert PASSWORD not in running.admin.get("/migration").text


@pytest.mark.parametrize("then", ["resumed", "killed"])
def test_a_frozen_postgres_costs_no_client_and_delays_no_rollback(
    tmp_path: Path, then: str
) -> None:
    """PostgreSQL SIGSTOPped at 50 %, then SIGCONT or SIGKILL+restart: 0 errors, prompt rollback."""
    with running_server() as server, pg_stack(tmp_path, server) as running:
        running.call("POST", f"/migration/{ROUTE}/start", PLAN)
        assert running.live_bps() == 5000
        with steady_load(running.gateway.public_url) as load:
            running.wait(
                lambda: running.view()["backends"]["candidate"]["samples"] >= 30, "traffic"
            )
            before = len(load.durations)
            server.signal(signal.SIGSTOP)
            roll_back_while_frozen(running)
            time.sleep(1.5)  # more ticks against the frozen server: each must fail at once
            if then == "killed":
                server.kill()  # the whole server dies while frozen
                time.sleep(1.5)  # a tick or two against a refused port
            during = load.durations[before:]
            if then == "killed":
                server.start()  # same data directory: crash recovery, then the buffered writes land
            else:
                server.signal(signal.SIGCONT)
            running.wait(lambda: running.overview()["state_store"]["ok"], "the store back")
        stored = running.stored_events()
        assert stored[-1] == "rolled_back"
        assert stored.count("rolled_back") == 1  # an abandoned write never lands twice
        assert running.metric("cutover_state_store_failing") == 0
        assert running.view()["phase"] == "rolled_back"
    print(
        f"PostgreSQL {then}: longest client-visible request during the outage: "
        f"{max(during) * 1000:.0f} ms "
        f"(p50 {statistics.median(during) * 1000:.1f} ms, {len(during)} requests); "
        f"longest overall {load.longest_s * 1000:.0f} ms"
    )
    assert load.statuses[0] == 0  # no client error while all this happened
    assert sum(c for s, c in load.statuses.items() if s >= 500) == 0
    assert max(during) < 1.0  # one bounded stall (CALL_TIMEOUT_S), never a frozen data plane


def start_gateway(
    tmp_path: Path, state_db: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "gateway.yaml"
    ports = BackendPorts(free_port(), free_port())
    write_config(config, ports, free_port(), free_port(), state_db)
    argv = [*CUTOVER, "gateway", "--config", str(config)]
    environ = {**os.environ, **(env or {})}
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, env=environ
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """Exit code 2, one line on stderr, the password nowhere; the line."""
    assert done.returncode == 2, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("cutover gateway: migration.state_db: "), line
    return line


def test_a_malformed_url_stops_start_up_naming_the_field(tmp_path: Path) -> None:
    """A port that is not a number: exit 2, one line naming migration.state_db, password hidden."""
    line = one_line(start_gateway(tmp_path, f"postgresql://cutover:{PASSWORD}@127.0.0.1:nope/db"))
    assert "not a valid PostgreSQL URL (postgresql://cutover:***@127.0.0.1:nope/db)" in line


def test_an_unknown_scheme_is_not_taken_for_a_file_name(tmp_path: Path) -> None:
    """``postgresq://`` (a typo) is refused, not created as a file called so."""
    line = one_line(start_gateway(tmp_path, f"postgresq://cutover:{PASSWORD}@127.0.0.1/db"))
    assert "expected a file path or a postgresql:// URL" in line


def test_an_unreachable_database_stops_start_up_in_one_line(tmp_path: Path) -> None:
    """Nothing listens on the port: exit 2, one line saying so."""
    port = free_port()
    line = one_line(start_gateway(tmp_path, f"postgresql://cutover:{PASSWORD}@127.0.0.1:{port}/db"))
    assert "Connection refused" in line
    assert f"postgresql://cutover:***@127.0.0.1:{port}/db" in line


def test_the_url_from_the_environment_is_checked_the_same_way(tmp_path: Path) -> None:
    """CUTOVER_MIGRATION__STATE_DB overrides the file's state_db; a bad one is refused alike."""
    url = f"postgresql://cutover:{PASSWORD}@127.0.0.1:{free_port()}/db"
    done = start_gateway(tmp_path, "unused.db", {"CUTOVER_MIGRATION__STATE_DB": url})
    assert "Connection refused" in one_line(done)
    assert not (tmp_path / "unused.db").exists()


def test_a_wrong_password_stops_start_up_in_one_line(
    tmp_path: Path,
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    """Authentication fails: exit 2, one line, neither the wrong nor the right password shown."""
    done = start_gateway(tmp_path, postgres_server.url(password="wrong-" + PASSWORD))
    line = one_line(done)
    assert 'password authentication failed for user "cutover"' in line


def test_a_newer_schema_stops_start_up(
    tmp_path: Path,
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    """A database written by a newer gateway: exit 2, one line asking for an upgrade."""
    url = postgres_server.url(options=f"-csearch_path%3D{postgres_server.create_schema()}")
    store = PostgresStore(url)
    store._transaction(lambda x: x(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 7}"))
    store.close()
    line = one_line(start_gateway(tmp_path, url))
    assert line.endswith(
        f"schema version {SCHEMA_VERSION + 7} is newer than this gateway's {SCHEMA_VERSION};"
        " upgrade the gateway"
    )
