"""The operator CLI against a real gateway admin listener on loopback.

The gateway (with the migration endpoints and a controller over a tmp SQLite store) runs in the
test's event loop; the CLI — synchronous httpx, as in production — runs in a worker thread via
``asyncio.to_thread``, so each command makes real HTTP calls to the real admin server. No mocks:
"connection refused" is a real closed port.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.admin import AdminRequest, AdminResponse
from gateway.admin_client import AdminCallError, AdminClient
from migration.cli.main import build_parser, main
from migration.plan import Plan, plan_from_cli
from tests.migration.test_admin_api import TOKEN, Rig, _clean_env, running_rig
from tests.support.servers import free_port

__all__ = ["_clean_env"]  # the autouse fixture that keeps CUTOVER_* out, re-used here


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A running gateway with the migration endpoints."""
    async with running_rig(tmp_path) as started:
        yield started


async def cli(rig: Rig, *argv: str, token: str | None = TOKEN) -> int:
    """Run ``cutover ARGV`` against the rig's admin API in a worker thread."""
    flags = ["--admin-url", rig.admin_url] + (["--token", token] if token else [])
    return await asyncio.to_thread(main, [*argv, *flags])


async def test_status_json_is_the_admin_api_answer(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cutover status --json` prints GET /migration's JSON for scripts."""
    assert await cli(rig, "status", "--json", token=None) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["route"] for r in data["routes"]] == ["tasks", "default"]


async def test_status_table_shows_phase_weight_step_and_why(
    rig: Rig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table names each route with its weight, phase, step and the last decision's reasons."""
    monkeypatch.setenv("COLUMNS", "200")
    rig.controller.start(_plan(rig))
    rig.traffic("tasks", baseline=150, candidate=150, fail_candidate=True)
    rig.controller.step()
    assert await cli(rig, "status", token=None) == 0
    out = capsys.readouterr().out
    tasks = next(line for line in out.splitlines() if "tasks" in line)
    assert "rolled_back" in tasks
    assert "0%" in tasks
    assert "1/3" in tasks
    assert "rolled back: error_rate_limit" in out
    assert "100.00%" in out  # the candidate's error rate
    assert "default" in out


async def test_status_watch_refreshes_count_times(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--watch --count N` polls N times and exits 0 (the bounded form of the live view)."""
    polls = 0
    routes = rig.gateway.router.routes
    index = next(i for i, r in enumerate(routes) if r.template == "/migration")
    overview = routes[index].handler

    async def counting(req: AdminRequest) -> AdminResponse:
        nonlocal polls
        polls += 1
        return await overview(req)

    routes[index] = replace(routes[index], handler=counting)
    code = await cli(rig, "status", "--watch", "--count", "3", "--interval", "0.01", token=None)
    assert code == 0
    assert polls == 3
    assert "tasks" in capsys.readouterr().out


async def test_migrate_start_sends_the_plan_with_gates_by_weight(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """`migrate start` builds the plan from its options; --gate names steps by weight."""
    code = await cli(
        rig,
        "migrate",
        "start",
        "tasks",
        "--steps",
        "shadow,10,50,100",
        "--hold",
        "2m",
        "--min-requests",
        "250",
        "--gate",
        "50",
        "--gate",
        "100",
    )
    assert code == 0, capsys.readouterr().err
    state = rig.store.load("tasks")
    assert state is not None
    assert [(s.weight_bps, s.gate) for s in state.plan.steps] == [
        (0, False),
        (1000, False),
        (5000, True),
        (10_000, True),
    ]
    assert state.step.hold_s == 120.0
    assert state.step.min_requests == 250
    assert "tasks: start → running, step 1/4, candidate weight 0%" in capsys.readouterr().out


async def test_token_and_url_come_from_the_environment(
    rig: Rig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CUTOVER_ADMIN_URL and CUTOVER_ADMIN_TOKEN stand in for --admin-url and --token."""
    monkeypatch.setenv("CUTOVER_ADMIN_URL", rig.admin_url)
    monkeypatch.setenv("CUTOVER_ADMIN_TOKEN", TOKEN)
    argv = ["migrate", "start", "default", "--steps", "10,100", "--json"]
    assert await asyncio.to_thread(main, argv) == 0
    assert json.loads(capsys.readouterr().out)["routes"][0]["phase"] == "running"


async def test_missing_token_is_one_clear_line(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a token a command fails with exit 1 and says how to pass one."""
    assert await cli(rig, "migrate", "pause", "tasks", token=None) == 1
    err = capsys.readouterr().err
    assert err == (
        "cutover: admin token missing or wrong (pass --token or set CUTOVER_ADMIN_TOKEN)\n"
    )


async def test_wrong_token_is_one_clear_line(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong token fails with exit 1 and 'admin token missing or wrong'."""
    assert await cli(rig, "migrate", "pause", "tasks", token="nope") == 1
    assert capsys.readouterr().err == "cutover: admin token missing or wrong\n"


async def test_unreachable_gateway_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    """A closed admin port fails with exit 1 and 'cannot reach the gateway admin API at URL'."""
    url = f"http://127.0.0.1:{free_port()}"
    assert await asyncio.to_thread(main, ["status", "--admin-url", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"cutover: cannot reach the gateway admin API at {url}: ")
    assert err.count("\n") == 1


async def test_refused_action_prints_the_servers_reason(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 409 from the API is exit 1 with the status and the controller's message."""
    assert await cli(rig, "migrate", "promote", "tasks") == 1
    err = capsys.readouterr().err
    assert "POST /migration/tasks/promote failed with 409" in err
    assert "has no migration; start a plan first" in err


async def test_bad_plan_value_prints_the_field(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """A value only the server rejects (a bad --hold) comes back as a 422 naming the field."""
    assert await cli(rig, "migrate", "start", "tasks", "--steps", "10,100", "--hold", "soon") == 1
    err = capsys.readouterr().err
    assert "failed with 422: validation_error: hold: 'soon' is not a duration" in err
    assert rig.store.load("tasks") is None


async def test_gate_that_is_not_a_step_stops_before_calling(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """--gate 30 with steps 10,50,100 is a usage error (exit 2) and nothing is sent."""
    code = await cli(rig, "migrate", "start", "tasks", "--steps", "10,50,100", "--gate", "30")
    assert code == 2
    assert "--gate: '30' is not one of the steps" in capsys.readouterr().err
    assert not [e for e in rig.logs if e.get("event") == "admin_call"]


async def test_rollback_reason_reaches_the_event_history(
    rig: Rig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`migrate rollback --reason` is recorded; `events` shows it as a table and as JSON."""
    monkeypatch.setenv("COLUMNS", "200")
    rig.controller.start(_plan(rig))
    assert await cli(rig, "migrate", "rollback", "tasks", "--reason", "pager went off") == 0
    assert "tasks: rollback → rolled_back" in capsys.readouterr().out
    assert await cli(rig, "events", "--route", "tasks", token=None) == 0
    table = capsys.readouterr().out
    assert "rolled_back" in table
    assert "manual rollback by admin:127.0.0.1: pager went off" in table
    assert await cli(rig, "events", "--limit", "1", "--json", token=None) == 0
    (event,) = json.loads(capsys.readouterr().out)["events"]
    assert event["kind"] == "rolled_back"
    assert event["weight_bps"] == 0


async def test_report_writes_the_chosen_format_to_a_file(
    rig: Rig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --format markdown --output FILE` writes the rendered report there."""
    target = tmp_path / "report.md"
    code = await cli(
        rig,
        "report",
        "--route",
        "tasks",
        "--format",
        "markdown",
        "--output",
        str(target),
        token=None,
    )
    assert code == 0
    assert target.read_text("utf-8").startswith("## Migration report: route tasks")
    assert f"wrote the markdown report to {target}" in capsys.readouterr().err


async def test_report_json_goes_to_stdout(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    """`report --format json` prints the MigrationReport JSON, memory included."""
    assert await cli(rig, "report", "--format", "json", token=None) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["route"] is None
    assert report["baseline"]["memory_bytes"] == 200 * 2**20


async def test_report_passes_since_to_the_gateway(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """`report --since 10m` asks for the history of the last ten minutes; a bad one is exit 1."""
    assert await cli(rig, "report", "--format", "json", "--since", "10m", token=None) == 0
    assert json.loads(capsys.readouterr().out)["since"] is not None
    assert await cli(rig, "report", "--since", "yesterday", token=None) == 1
    assert "since must be a duration" in capsys.readouterr().err


def test_a_server_that_never_answers_times_out_with_one_line() -> None:
    """A listener that accepts but never answers is reported as a timeout, not a hang."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with AdminClient(url, timeout_s=0.2) as client, pytest.raises(AdminCallError) as info:
            client.get_json("/migration")
    assert str(info.value).startswith(f"the gateway admin API at {url} did not answer in time")
    assert info.value.exit_code == 1


async def test_a_non_json_answer_is_named(rig: Rig) -> None:
    """Pointing the client at something that answers text (here /metrics) says so plainly."""

    def call() -> None:
        with AdminClient(rig.admin_url) as client:
            client.get_json("/metrics")

    with pytest.raises(AdminCallError, match="without JSON; is this the gateway admin port"):
        await asyncio.to_thread(call)


def test_migrate_without_an_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """`cutover migrate` alone exits 2 and lists the actions."""
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["migrate"])
    assert exit_info.value.code == 2
    assert "ACTION" in capsys.readouterr().err


def _plan(rig: Rig) -> Plan:
    return plan_from_cli("tasks", "10,50,100", "30s", "100")


async def test_status_table_shows_a_failing_store_and_what_holds_a_route(
    rig: Rig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A state store that cannot be written is the caption; a held route lists its conditions."""
    monkeypatch.setenv("COLUMNS", "200")
    rig.controller.start(_plan(rig))
    for _ in range(150):
        rig.metrics.observe("tasks", "baseline", 502, 0.001, "connect")
    rig.traffic("tasks", baseline=0, candidate=150, fail_candidate=False)
    lock = sqlite3.connect(tmp_path / "migration.db", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        rig.controller.step()
        assert await cli(rig, "status", token=None) == 0
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    out = capsys.readouterr().out
    assert "STATE STORE FAILING" in out
    assert "promotions refused, rollbacks still applied" in out
    assert "⚠ baseline_degraded" in out


async def test_abort_all_with_a_reason_ends_every_migration_and_lists_the_skipped(
    rig: Rig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`migrate abort all --reason` aborts what runs, names skipped routes, records the reason."""
    monkeypatch.setenv("COLUMNS", "200")
    rig.controller.start(_plan(rig))
    assert await cli(rig, "migrate", "abort", "all", "--reason", "incident 7") == 0
    out = capsys.readouterr().out
    assert "tasks: abort → aborted" in out
    assert "(reason: incident 7)" in out
    assert "default: skipped — route 'default' has no migration" in out
    event = rig.store.events("tasks")[-1]
    assert event.reasons == ("aborted by admin:127.0.0.1: incident 7",)


async def test_history_lists_each_migration_with_its_outcome_and_reason(
    rig: Rig, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cutover history` shows a rolled-back migration by id; --json carries the same record."""
    monkeypatch.setenv("COLUMNS", "220")
    started = rig.controller.start(_plan(rig))
    rig.traffic("tasks", baseline=150, candidate=150, fail_candidate=True)
    rig.controller.step()
    assert started.migration_id.startswith("tasks-")
    assert all(e.migration_id == started.migration_id for e in rig.controller.store.events("tasks"))
    assert await cli(rig, "history", "tasks") == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if started.migration_id in line)
    assert "rolled_back" in row
    assert "error_rate_limit" in out
    assert await cli(rig, "history", "--json") == 0
    (record,) = json.loads(capsys.readouterr().out)["migrations"]
    assert (record["id"], record["outcome"], record["rollbacks"]) == (
        started.migration_id,
        "rolled_back",
        1,
    )


async def test_history_of_an_unknown_route_is_a_clean_404(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    """Naming a route the gateway does not know fails with exit 1 and the known routes."""
    assert await cli(rig, "history", "nope") == 1
    assert "nope" in capsys.readouterr().err


async def test_report_for_one_migration_by_id(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    """`report --migration ID` covers that migration's events only; an unknown id is a clean 404."""
    first = rig.controller.start(_plan(rig))
    rig.controller.rollback("tasks", "first try")
    second = rig.controller.start(_plan(rig))
    assert first.migration_id != second.migration_id
    argv = ["report", "--route", "tasks", "--format", "json", "--migration", first.migration_id]
    assert await cli(rig, *argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["migration_id"] == first.migration_id
    assert {e["migration_id"] for e in report["events"]} == {first.migration_id}
    assert [e["kind"] for e in report["events"]] == ["started", "rolled_back"]
    assert report["until"] is not None
    assert await cli(rig, "report", "--route", "tasks", "--migration", "tasks-nope") == 1
    assert "no migration 'tasks-nope' of route 'tasks'" in capsys.readouterr().err
