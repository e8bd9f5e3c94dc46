"""The state store under real faults: a real ``cutover gateway`` process, its SQLite file broken
from outside.

Issue #12, item 2 (a rollback never waits for the disk; a bad file at start-up is one line and exit
code 2) and item 4 (a manual weight survives ``kill -9``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from migration.cli.processes import free_port
from tests.e2e.stack import BackendPorts, gateway_yaml
from tests.faults.state_store_support import (
    ADMIN_TOKEN,
    ROUTE,
    Stack,
    exclusive_lock,
    fill_disk,
    full_filesystem,
    own_filesystem,
    stack,
    steady_load,
)

CUTOVER = [sys.executable, "-m", "migration.cli.main"]
PLAN = {"steps": [50, 100], "hold": "10m", "min_requests": 10}


def roll_back_under(running: Stack, broken: object) -> None:
    """With the store broken (``broken`` entered), a failing candidate still goes to 0 % at once."""
    assert running.gateway.proc is not None
    running.call("POST", f"/migration/{ROUTE}/start", PLAN)
    with steady_load(running.gateway.public_url) as seen:
        running.wait(lambda: running.view()["backends"]["candidate"]["samples"] >= 30, "traffic")
        with broken:  # type: ignore[attr-defined]
            running.wait(lambda: not running.overview()["state_store"]["ok"], "store failing")
            running.call("PUT", "/faults/candidate", {"abort_percent": 100, "abort_status": 503})
            took = running.wait(lambda: running.live_bps() == 0, "the rollback in the gateway")
            print(f"fault injected -> weight 0 in the gateway: {took:.2f} s (store broken)")
            assert took < 5.0
            view = running.view()
            assert view["phase"] == "rolled_back"
            store = running.overview()["state_store"]
            assert store["promotions"] == "refused"
            assert store["pending_routes"] == 1
            assert (running.metric("cutover_state_store_failing") or 0) == 1
            assert (running.metric("cutover_state_store_errors_total") or 0) >= 1
            refused = running.call("POST", f"/migration/{ROUTE}/resume", expect=409)
            assert "state store" in refused["detail"]
            assert "rolled_back" not in running.stored_events()
        running.wait(lambda: running.overview()["state_store"]["ok"], "the store back")
        assert running.stored_events()[-1] == "rolled_back"
        assert running.metric("cutover_state_store_failing") == 0
    assert seen.statuses[0] == 0  # no client error while all this happened
    assert sum(c for s, c in seen.statuses.items() if s >= 500) == 0


def test_a_locked_state_file_does_not_delay_a_rollback(tmp_path: Path) -> None:
    """Write lock held by another connection: rollback applied, promotions refused, event later."""
    with stack(tmp_path) as running:
        roll_back_under(running, exclusive_lock(running.state_db))


def test_a_full_disk_does_not_delay_a_rollback(tmp_path: Path) -> None:
    """The state files may not grow (RLIMIT_FSIZE, as ENOSPC): the same, from the live process."""
    with stack(tmp_path, quiet=True) as running:
        assert running.gateway.proc is not None
        roll_back_under(running, fill_disk(running.gateway.proc.pid, running.state_db))


def test_a_really_full_filesystem_does_not_delay_a_rollback(tmp_path: Path) -> None:
    """The state directory's own filesystem filled to ENOSPC: the same, from a real full disk."""
    with (
        own_filesystem(tmp_path / "state") as state_dir,
        stack(tmp_path, state_dir=state_dir) as running,
    ):
        roll_back_under(running, full_filesystem(state_dir))


def start_with_state(tmp_path: Path, state_db: Path) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "gateway.yaml"
    ports = BackendPorts(free_port(), free_port())
    config.write_text(gateway_yaml(ports, free_port(), free_port(), state_db), "utf-8")
    argv = [*CUTOVER, "gateway", "--config", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_a_corrupt_state_file_stops_start_up_in_one_line(tmp_path: Path) -> None:
    """Garbage in the state file: exit 2 and one line naming the file, no sqlite3 traceback."""
    state_db = tmp_path / "migration.db"
    state_db.write_bytes(b"\x00garbage, not SQLite\n" * 500)
    done = start_with_state(tmp_path, state_db)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"cutover gateway: migration.state_db: state store {state_db}: file is not a database"
    ]


def test_an_unreadable_state_file_stops_start_up_in_one_line(tmp_path: Path) -> None:
    """A state path SQLite cannot open (a directory here): exit 2 and one line naming it."""
    state_db = tmp_path / "migration.db"
    state_db.mkdir()
    done = start_with_state(tmp_path, state_db)
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"cutover gateway: migration.state_db: state store {state_db}: ")


def test_cutover_up_refuses_a_corrupt_state_file_the_same_way(tmp_path: Path) -> None:
    """``cutover up`` checks the store before it starts any backend: exit 2, one line."""
    (tmp_path / "migration.db").write_bytes(b"not a database" * 100)
    argv = [*CUTOVER, "up", "--state-dir", str(tmp_path)]
    argv += ["--port", str(free_port()), "--admin-port", str(free_port())]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"cutover up: migration.state_db: state store {tmp_path / 'migration.db'}: "
        "file is not a database"
    ]
    assert not (tmp_path / "logs").exists()  # no backend was started


def test_cutover_demo_refuses_a_corrupt_state_file_the_same_way(tmp_path: Path) -> None:
    """``cutover demo --state-dir`` with a corrupt file: exit 2, one line, no backend started."""
    (tmp_path / "migration.db").write_bytes(b"not a database" * 100)
    argv = [*CUTOVER, "demo", "--state-dir", str(tmp_path), "--no-live"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"cutover demo: migration.state_db: state store {tmp_path / 'migration.db'}: "
        "file is not a database"
    ]
    assert not (tmp_path / "logs").exists()


def test_a_manual_weight_survives_kill_9(tmp_path: Path) -> None:
    """``cutover weight`` persists with its actor and reason; a restarted gateway restores it."""
    with stack(tmp_path) as running:
        argv = [*CUTOVER, "weight", ROUTE, "30", "--reason", "canary by hand"]
        argv += ["--admin-url", running.gateway.admin_url, "--token", ADMIN_TOKEN]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        running.gateway.kill()
        running.gateway.start()
        assert running.live_bps() == 3000
        [event] = running.call("GET", f"/migration/events?route={ROUTE}")["events"]
        assert event["kind"] == "weight_set"
        assert event["numbers"]["actor"].startswith("admin:")
        assert event["reasons"][1] == "reason: canary by hand"


def test_a_manual_weight_pauses_a_running_plan(tmp_path: Path) -> None:
    """A manual weight during a plan pauses it (``overridden``); resume brings the plan's weight."""
    percent = 98
    with stack(tmp_path) as running:
        running.call("POST", f"/migration/{ROUTE}/start", {"steps": [10, 100], "hold": "10m"})
        running.call("PUT", f"/routes/{ROUTE}/weight", {"percent": percent, "reason": "hotfix"})
        view = running.view()
        assert (view["phase"], view["weight"]["bps"], view["weight"]["planned_bps"]) == (
            "paused",
            percent * 100,
            percent * 100,
        )
        assert running.stored_events()[-1] == "overridden"
        running.call("POST", f"/migration/{ROUTE}/resume")
        assert running.live_bps() == 1000
