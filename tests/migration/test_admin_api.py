"""The migration admin endpoints, served by a real gateway admin listener on loopback.

A :class:`~gateway.server.Gateway` is started in the test's event loop with both listeners on free
ports (its upstreams are never called), a real :class:`MigrationController` over a tmp SQLite store
pushes weights into the gateway's own state, and time is a :class:`FakeClock`. Requests go through
the admin server's whole path: parsing, token check, routing, handler, audit log.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from gateway.config import build_config
from gateway.server import Gateway
from migration.admin_api import MigrationAdmin, install_migration_routes
from migration.analysis import Policy
from migration.controller import MigrationController
from migration.metrics import MigrationMetrics
from migration.plan import Plan, plan_from_cli
from migration.state import Snapshot
from migration.store import SQLiteStore
from migration.testing import FakeClock, StaticMemory
from tests.support.servers import free_port

TOKEN = "admin-secret"
ROUTES = ("tasks", "default")


@dataclass
class Rig:
    """A started gateway with the migration endpoints installed, and what drives them."""

    gateway: Gateway
    controller: MigrationController
    metrics: MigrationMetrics
    clock: FakeClock
    store: SQLiteStore
    admin: MigrationAdmin
    logs: list[MutableMapping[str, Any]]

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.admin_port}"

    def client(self, token: str | None = TOKEN) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.admin_url, headers=headers, timeout=5.0)

    def traffic(self, route: str, *, baseline: int, candidate: int, fail_candidate: bool) -> None:
        """Requests spread over the last second (20 ms baseline, 25 ms candidate)."""
        for i in range(max(baseline, candidate)):
            if i < baseline:
                self.metrics.observe(route, "baseline", 200, 0.020, None)
            if i < candidate:
                status = 500 if fail_candidate else 200
                self.metrics.observe(route, "candidate", status, 0.025, None)
        self.clock.advance(1.0)


@contextlib.asynccontextmanager
async def running_rig(tmp_path: Path, token: str | None = TOKEN) -> AsyncIterator[Rig]:
    """Build and start a :class:`Rig`; stop it afterwards."""
    clock = FakeClock()
    metrics = MigrationMetrics(clock)
    closed = free_port()  # nothing listens there: no test proxies a request
    config = build_config(
        {
            "upstreams": {
                "baseline": {"url": f"http://127.0.0.1:{closed}"},
                "candidate": {"url": f"http://127.0.0.1:{closed}"},
            },
            "routes": [
                {"name": "tasks", "paths": ["/api/v1/tasks*"]},
                {"name": "default", "paths": ["/*"]},
            ],
            "listeners": {"public": {"port": 0}, "admin": {"port": 0}},
            "admin_token": token,
        }
    )
    gateway = Gateway(config, CollectorRegistry())
    store = SQLiteStore(tmp_path / "migration.db")
    controller = MigrationController(
        store=store,
        source=metrics,
        weights=gateway.state,
        policy=Policy(),
        clock=clock,
        interval_s=1.0,
    )
    memory = StaticMemory({"baseline": 200 * 2**20, "candidate": 50 * 2**20})
    admin = install_migration_routes(
        gateway.router, controller, metrics, route_weights=gateway.state.get_weights, memory=memory
    )
    with capture_logs() as logs:
        await gateway.start()
        try:
            yield Rig(gateway, controller, metrics, clock, store, admin, logs)
        finally:
            await gateway.stop()
            store.close()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CUTOVER_* variable from the outside leaks into the gateway config or the CLI."""
    for key in list(os.environ):
        if key.startswith("CUTOVER_"):
            monkeypatch.delenv(key)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A running gateway with the migration endpoints."""
    async with running_rig(tmp_path) as started:
        yield started


def route_of(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The view of route ``name`` in a ``GET /migration`` body."""
    return next(r for r in body["routes"] if r["route"] == name)


START = {"steps": "10,50,100", "hold": "30s", "min_requests": 100}


# -- reading ------------------------------------------------------------------------------------


async def test_overview_lists_every_gateway_route_without_a_plan(rig: Rig) -> None:
    """Before any plan, GET /migration shows each gateway route at its configured weight, idle."""
    async with rig.client(token=None) as c:
        response = await c.get("/migration")
    assert response.status_code == 200
    body = response.json()
    assert [r["route"] for r in body["routes"]] == list(ROUTES)
    assert body["window_s"] == Policy().window_s
    tasks = route_of(body, "tasks")
    assert tasks["weight"] == {
        "bps": 0,
        "percent": 0.0,
        "planned_bps": None,
        "observed_percent": None,
        "sticky_keys": None,
    }
    assert tasks["phase"] is None
    assert tasks["plan"] is None
    assert tasks["last_decision"] is None
    assert tasks["backends"]["candidate"]["samples"] == 0
    assert tasks["backends"]["candidate"]["p95_ms"] is None


async def test_overview_reports_window_numbers_and_rates(rig: Rig) -> None:
    """Per-backend p95/error rate/req/s, shadow mismatch and contract-violation rates are shown."""
    rig.traffic("tasks", baseline=50, candidate=50, fail_candidate=False)
    rig.metrics.observe("tasks", "candidate", 503, 0.030, None)
    for i in range(10):
        rig.metrics.observe_shadow("tasks", mismatched=i < 2)
        rig.metrics.observe_contract("tasks", "candidate", violated=i < 1)
    async with rig.client(token=None) as c:
        tasks = route_of((await c.get("/migration")).json(), "tasks")
    base, cand = tasks["backends"]["baseline"], tasks["backends"]["candidate"]
    assert base["samples"] == 50
    assert cand["samples"] == 51
    assert base["p95_ms"] == pytest.approx(20.0, rel=0.05)
    assert cand["p95_ms"] == pytest.approx(25.0, rel=0.05)
    assert cand["error_rate"] == pytest.approx(1 / 51)
    assert base["error_rate"] == 0.0
    assert cand["rps"] > 0
    assert cand["contract_violation_rate"] == pytest.approx(0.1)
    assert tasks["shadow"] == {"comparisons": 10, "mismatches": 2, "mismatch_rate": 0.2}


# -- starting -----------------------------------------------------------------------------------


async def test_start_needs_the_admin_token(rig: Rig) -> None:
    """A start without (or with a wrong) token is 401 and changes nothing."""
    for token in (None, "wrong"):
        async with rig.client(token=token) as c:
            response = await c.post("/migration/tasks/start", json=START)
        assert response.status_code == 401
        assert response.json()["error"] == "unauthorized"
    assert rig.store.load("tasks") is None
    assert rig.gateway.state.get_weight("tasks") == 0


async def test_start_puts_the_first_step_in_force(rig: Rig) -> None:
    """A start with string steps sets the gateway weight and answers the route's new view."""
    async with rig.client() as c:
        response = await c.post("/migration/tasks/start", json=START | {"gates": [2]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["action"] == "start"
    (view,) = body["routes"]
    assert view["phase"] == "running"
    assert view["weight"]["bps"] == 1000
    assert view["weight"]["planned_bps"] == 1000
    plan = view["plan"]
    assert [s["weight_bps"] for s in plan["steps"]] == [1000, 5000, 10_000]
    assert plan["step_index"] == 0
    assert plan["hold_s"] == 30.0
    assert plan["min_requests"] == 100
    assert plan["gates"] == [2]
    assert rig.gateway.state.get_weight("tasks") == 1000


async def test_a_dry_run_start_leaves_the_weight_and_says_so(rig: Rig) -> None:
    """dry_run: the plan starts on record (phase, planned weight), the gateway's weight stays."""
    async with rig.client() as c:
        response = await c.post("/migration/tasks/start", json=START | {"dry_run": True})
    assert response.status_code == 200, response.text
    (view,) = response.json()["routes"]
    assert (view["phase"], view["dry_run"]) == ("running", True)
    assert view["weight"]["planned_bps"] == 1000
    assert view["migration_id"].startswith("tasks-")
    assert rig.gateway.state.get_weight("tasks") == 0


async def test_start_accepts_a_list_of_steps_and_numeric_hold(rig: Rig) -> None:
    """Steps may be a JSON list (with 'shadow' and '50%'), hold a number of seconds."""
    body = {"steps": ["shadow", 10, "50%", 100], "hold": 90, "min_requests": 1000}
    async with rig.client() as c:
        response = await c.post("/migration/tasks/start", json=body)
    assert response.status_code == 200, response.text
    state = rig.store.load("tasks")
    assert state is not None
    assert [s.weight_bps for s in state.plan.steps] == [0, 1000, 5000, 10_000]
    assert state.plan.steps[0].hold_s == 90.0
    assert state.plan.steps[0].min_requests == 1000


async def test_start_takes_a_deadline_and_what_a_stall_does(rig: Rig) -> None:
    """deadline and on_stall reach the plan and its view; a bad on_stall is a 422 naming it."""
    body = START | {"deadline": "5m", "on_stall": "rollback"}
    async with rig.client() as c:
        response = await c.post("/migration/tasks/start", json=body)
        bad = await c.post("/migration/default/start", json=START | {"on_stall": "panic"})
    assert response.status_code == 200, response.text
    (view,) = response.json()["routes"]
    assert view["plan"]["on_stall"] == "rollback"
    assert {s["deadline_s"] for s in view["plan"]["steps"]} == {300.0}
    assert bad.status_code == 422
    assert "on_stall" in bad.text


async def test_start_all_starts_every_gateway_route(rig: Rig) -> None:
    """'all' starts the plan on each gateway route."""
    async with rig.client() as c:
        response = await c.post("/migration/all/start", json=START)
    assert response.status_code == 200, response.text
    assert [v["route"] for v in response.json()["routes"]] == list(ROUTES)
    assert rig.gateway.state.get_weights() == {"tasks": 1000, "default": 1000}


async def test_start_all_is_refused_whole_when_one_route_is_active(rig: Rig) -> None:
    """'all' starts nothing if any route already runs a plan (409 naming it)."""
    rig.controller.start(_plan("tasks"))
    async with rig.client() as c:
        response = await c.post("/migration/all/start", json=START)
    assert response.status_code == 409
    assert "tasks is running" in response.json()["detail"]
    assert rig.store.load("default") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"steps": [50, 10]}, "steps"),
        ({"steps": "10,abc"}, "steps[1]"),
        ({"steps": [10, True]}, "steps[1]"),
        ({"steps": "", "hold": "1m"}, "steps[0]"),
        ({"steps": "10,100", "hold": "soon"}, "hold"),
        ({"steps": "10,100", "hold": -5}, "hold"),
        ({"steps": "10,100", "min_requests": -1}, "min_requests"),
        ({"steps": "10,100", "min_requests": 2.5}, "min_requests"),
        ({"steps": "10,100", "gates": [2]}, "gates[0]"),
        ({"steps": "10,100", "gates": ["1"]}, "gates[0]"),
        ({"steps": "10,100", "gates": 1}, "gates"),
        ({"steps": "10,100", "gates": 0}, "gates"),
        ({"steps": "10,100", "speed": "fast"}, "speed"),
        ({"steps": "10,100", "dry_run": "yes"}, "dry_run"),
        ({"hold": "60s"}, "steps"),
        ([10, 50], "(body)"),
        (None, "(body)"),
    ],
)
async def test_start_with_a_bad_plan_is_422_naming_the_field(
    rig: Rig, body: Any, field: str
) -> None:
    """Every bad start body is a 422 whose detail names the offending field; nothing starts."""
    async with rig.client() as c:
        response = await c.post("/migration/tasks/start", json=body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["error"] == "validation_error"
    assert payload["detail"][0]["field"] == field
    assert payload["detail"][0]["message"]
    assert rig.store.load("tasks") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"steps": [10, "50"]}, "steps[1]"),
        ({"steps": [True, 50]}, "steps[0]"),
        ({"steps": [10, None]}, "steps[1]"),
        ({"steps": [{"weight": "50"}]}, "steps[0].weight"),
        ({"steps": [{"weight": 50, "hold": True}]}, "steps[0].hold"),
        ({"steps": [{"weight": 50, "min_requests": "500"}]}, "steps[0].min_requests"),
        ({"steps": {"a": 1}}, "steps"),
        ({"steps": [10, 100], "hold": 1e308}, "hold"),
        ({"steps": [10, 100], "hold": "1000h"}, "hold"),
        ({"steps": [10, 100], "hold": True}, "hold"),
        ({"steps": [10, 100], "hold": None}, "hold"),
        ({"steps": [10, 100], "min_requests": True}, "min_requests"),
        ({"steps": [10, 100], "min_requests": "500"}, "min_requests"),
        ({"steps": [10, 100], "min_requests": 10**12}, "min_requests"),
        ({"steps": [10, 1e308]}, "steps[1]"),
        ({"steps": [-10, 100]}, "steps[0]"),
    ],
)
async def test_start_values_are_strict_and_bounded(rig: Rig, body: Any, field: str) -> None:
    """No coercion in a start body ("50" is not 50 %, true not 1); bounds hold: 422 naming it."""
    async with rig.client() as c:
        response = await c.post("/migration/tasks/start", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field
    assert rig.store.load("tasks") is None


async def test_malformed_json_is_400(rig: Rig) -> None:
    """A body that is not JSON at all is the admin server's 400, not a 500."""
    async with rig.client() as c:
        response = await c.post("/migration/tasks/start", content=b"{steps:")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


async def test_unknown_route_is_404_everywhere(rig: Rig) -> None:
    """Starting, acting on, or reading events/report of an unknown route is 404 listing routes."""
    async with rig.client() as c:
        calls = [
            await c.post("/migration/nope/start", json=START),
            await c.post("/migration/nope/promote"),
            await c.post("/migration/nope/rollback", json={"reason": "x"}),
            await c.get("/migration/events", params={"route": "nope"}),
            await c.get("/migration/report", params={"route": "nope"}),
        ]
    for response in calls:
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == {"route": "nope", "routes": list(ROUTES)}


# -- operator actions ---------------------------------------------------------------------------


def _plan(route: str) -> Plan:
    return plan_from_cli(route, "10,50,100", "30s", "100")


async def test_actions_that_do_not_fit_the_phase_are_409(rig: Rig) -> None:
    """Promote without a plan, resume while running, a second start: each a 409 with the reason."""
    async with rig.client() as c:
        no_plan = await c.post("/migration/tasks/promote")
        rig.controller.start(_plan("tasks"))
        running = await c.post("/migration/tasks/resume")
        again = await c.post("/migration/tasks/start", json=START)
    for response in (no_plan, running, again):
        assert response.status_code == 409, response.text
        assert response.json()["error"] == "migration_conflict"
    assert "start a plan first" in no_plan.json()["detail"]
    assert "running" in running.json()["detail"]


async def test_operator_walks_a_plan_through_every_action(rig: Rig) -> None:
    """Pause, resume, promote, rollback (with reason), resume and abort each move the route."""
    rig.controller.start(_plan("tasks"))
    phases = []
    async with rig.client() as c:
        for action, body in [
            ("pause", None),
            ("resume", None),
            ("promote", {"reason": "dashboards look fine"}),
            ("rollback", {"reason": "p99 spikes in the logs"}),
            ("resume", None),
            ("abort", {"reason": "postponed"}),
        ]:
            response = await c.post(f"/migration/tasks/{action}", json=body)
            assert response.status_code == 200, (action, response.text)
            (view,) = response.json()["routes"]
            phases.append((action, view["phase"], view["weight"]["bps"]))
    assert phases == [
        ("pause", "paused", 1000),
        ("resume", "running", 1000),
        ("promote", "running", 5000),
        ("rollback", "rolled_back", 0),
        ("resume", "running", 5000),
        ("abort", "aborted", 0),
    ]
    assert rig.gateway.state.get_weight("tasks") == 0
    reasons = [r for e in rig.store.events("tasks") for r in e.reasons]
    assert "promoted by admin:127.0.0.1: dashboards look fine" in reasons
    assert "manual rollback by admin:127.0.0.1: p99 spikes in the logs" in reasons


@pytest.mark.parametrize(
    ("body", "field"),
    [({"reason": ""}, "reason"), ({"reason": 5}, "reason"), ({"why": "x"}, "why"), ([], "(body)")],
)
async def test_bad_action_body_is_422(rig: Rig, body: Any, field: str) -> None:
    """A reason that is not a non-empty string, or an unknown field, is a 422 naming it."""
    rig.controller.start(_plan("tasks"))
    async with rig.client() as c:
        response = await c.post("/migration/tasks/rollback", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == field
    state = rig.store.load("tasks")
    assert state is not None
    assert state.phase.value == "running"


async def test_actions_are_audit_logged_with_actor_and_reason(rig: Rig) -> None:
    """Each action logs a migration_action line (route, reason, phase, actor) and the admin_call."""
    rig.controller.start(_plan("tasks"))
    async with rig.client() as c:
        await c.post("/migration/tasks/rollback", json={"reason": "bad canary"})
        await c.post("/migration/tasks/abort", headers={"Authorization": "Bearer nope"})
    actions = [e for e in rig.logs if e["event"] == "migration_action"]
    assert actions == [
        {
            "event": "migration_action",
            "action": "rollback",
            "route": "tasks",
            "reason": "bad canary",
            "phase": "rolled_back",
            "actor": "admin:127.0.0.1",
            "log_level": "info",
        }
    ]
    calls = [(e["path"], e["status"]) for e in rig.logs if e["event"] == "admin_call"]
    assert calls == [("/migration/tasks/rollback", 200), ("/migration/tasks/abort", 401)]


async def test_automatic_rollback_shows_its_reasons_and_numbers(rig: Rig) -> None:
    """After a rollback on errors, the overview's last decision says why, with numbers."""
    rig.controller.start(_plan("tasks"))
    rig.traffic("tasks", baseline=150, candidate=150, fail_candidate=True)
    (evaluation,) = rig.controller.step()
    assert evaluation.state.phase.value == "rolled_back"
    async with rig.client(token=None) as c:
        tasks = route_of((await c.get("/migration")).json(), "tasks")
    assert tasks["phase"] == "rolled_back"
    assert tasks["weight"]["bps"] == 0
    last = tasks["last_decision"]
    assert last["decision"] == "rollback"
    assert last["kind"] == "rolled_back"
    assert any(r.startswith("error_rate_limit") for r in last["reasons"])
    assert last["numbers"]["error_rate_limit"]["status"] == "fail"
    assert last["numbers"]["error_rate_limit"]["candidate"] == 1.0
    assert tasks["backends"]["candidate"]["error_rate"] == 1.0


async def test_overview_shows_the_latest_evaluation_and_when_it_goes_stale(rig: Rig) -> None:
    """``latest`` is the newest stored snapshot's why; three intervals without one mark it stale."""
    state = rig.controller.start(_plan("tasks"))
    checks = {"samples": {"status": "inconclusive", "samples": 40, "threshold": 100}}
    snap = Snapshot(
        "tasks",
        rig.clock(),
        state.weight_bps,
        "hold",
        reasons=("too few samples (40/100)",),
        checks=checks,
    )
    rig.store.commit(state, (), snap)
    rig.clock.advance(1.0)
    async with rig.client(token=None) as c:
        fresh = route_of((await c.get("/migration")).json(), "tasks")["latest"]
        rig.clock.advance(3.0)  # the rig's controller runs every 1 s: 4 s is over 3 intervals
        stale = route_of((await c.get("/migration")).json(), "tasks")["latest"]
        idle = route_of((await c.get("/migration")).json(), "default")["latest"]
    assert fresh["decision"] == "hold"
    assert fresh["reasons"] == ["too few samples (40/100)"]
    assert fresh["checks"] == checks
    assert (fresh["age_s"], fresh["stale"]) == (1.0, False)
    assert (stale["age_s"], stale["stale"]) == (4.0, True)
    assert idle is None


# -- events and report --------------------------------------------------------------------------


async def test_events_are_newest_last_filtered_and_limited(rig: Rig) -> None:
    """GET /migration/events returns events oldest→newest, per route or all, at most `limit`."""
    rig.controller.start(_plan("tasks"))
    rig.clock.advance(1)
    rig.controller.start(_plan("default"))
    rig.clock.advance(1)
    rig.controller.pause("tasks")
    async with rig.client(token=None) as c:
        every = (await c.get("/migration/events")).json()["events"]
        tasks = (await c.get("/migration/events", params={"route": "tasks"})).json()["events"]
        last = (await c.get("/migration/events", params={"limit": "1"})).json()["events"]
    assert [(e["route"], e["kind"]) for e in every] == [
        ("tasks", "started"),
        ("default", "started"),
        ("tasks", "paused"),
    ]
    assert [e["kind"] for e in tasks] == ["started", "paused"]
    assert [e["kind"] for e in last] == ["paused"]
    event = every[-1]
    assert event["time"].endswith("Z")
    assert event["at"] == rig.clock.now
    assert event["phase"] == "paused"
    assert event["step_index"] == 0
    assert event["weight_bps"] == 1000
    assert event["weight_percent"] == 10.0
    assert event["reasons"] == ["paused by operator"]
    assert event["numbers"] == {"actor": "operator", "reason": None}


async def test_event_history_and_report_are_read_off_the_event_loop(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events, history and report read the store in a worker thread, never on the proxy's loop."""
    rig.controller.start(_plan("tasks"))
    loop_thread = threading.get_ident()
    readers: list[int] = []
    read = rig.store.events

    def spying(route: str | None = None, limit: int = 100) -> list[Any]:
        readers.append(threading.get_ident())
        return read(route, limit)

    monkeypatch.setattr(rig.store, "events", spying)
    async with rig.client(token=None) as c:
        for path in ("/migration/events", "/migration/history", "/migration/report?route=tasks"):
            assert (await c.get(path)).status_code == 200
    assert len(readers) >= 3
    assert loop_thread not in readers


@pytest.mark.parametrize("limit", ["0", "abc", "10001", "-3", "1_0", " 5", "+5", "１０", "9" * 30])
async def test_bad_event_limit_is_422(rig: Rig, limit: str) -> None:
    """A limit that is not a whole number in 1..10000 is a 422 naming 'limit'."""
    async with rig.client(token=None) as c:
        response = await c.get("/migration/events", params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "limit"


async def test_report_json_has_memory_factors_and_state(rig: Rig) -> None:
    """The JSON report carries both backends, the scraped memory, factors and the route's state."""
    rig.controller.start(_plan("tasks"))
    rig.traffic("tasks", baseline=90, candidate=10, fail_candidate=False)
    async with rig.client(token=None) as c:
        response = await c.get("/migration/report", params={"route": "tasks"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    report = response.json()
    assert report["route"] == "tasks"
    assert report["baseline"]["requests"] == 90
    assert report["candidate"]["requests"] == 10
    assert report["candidate"]["memory_bytes"] == 50 * 2**20
    assert report["improvement_factors"]["memory"] == 4.0
    assert report["state"]["phase"] == "running"
    assert [e["kind"] for e in report["events"]] == ["started"]


@pytest.mark.parametrize(
    ("fmt", "content_type", "marker"),
    [
        ("markdown", "text/markdown; charset=utf-8", "## Migration report: all routes"),
        ("html", "text/html; charset=utf-8", "<!doctype html>"),
        ("table", "text/plain; charset=utf-8", "improvement factors:"),
    ],
)
async def test_report_renders_each_format(
    rig: Rig, fmt: str, content_type: str, marker: str
) -> None:
    """markdown, html and table come back rendered, with their content type."""
    async with rig.client(token=None) as c:
        response = await c.get("/migration/report", params={"format": fmt})
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert marker in response.text


async def test_report_with_an_unknown_format_is_422(rig: Rig) -> None:
    """format=pdf is a 422 naming 'format'."""
    async with rig.client(token=None) as c:
        response = await c.get("/migration/report", params={"format": "pdf"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "format"


async def test_report_since_limits_the_history_and_a_bad_one_is_422(rig: Rig) -> None:
    """since=1s leaves out the older start event; since=soon is a 422 naming 'since'."""
    rig.controller.start(_plan("tasks"))
    async with rig.client(token=None) as c:
        whole = await c.get("/migration/report", params={"route": "tasks"})
        assert [e["kind"] for e in whole.json()["events"]] == ["started"]
        rig.clock.advance(60.0)
        recent = await c.get("/migration/report", params={"route": "tasks", "since": "1s"})
        bad = await c.get("/migration/report", params={"route": "tasks", "since": "soon"})
    assert recent.json()["events"] == []
    assert recent.json()["since"] == whole.json()["events"][0]["at"] + 59
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "since"


async def test_without_a_configured_token_actions_are_refused(tmp_path: Path) -> None:
    """A gateway with no admin token refuses every migration command (403), never runs it open."""
    async with running_rig(tmp_path, token=None) as rig, rig.client(token="anything") as c:
        response = await c.post("/migration/tasks/start", json=START)
        assert rig.store.load("tasks") is None
    assert response.status_code == 403


# -- reasons and actions on every route ---------------------------------------------------------


async def test_pause_records_the_reason_with_the_admin_client_as_actor(rig: Rig) -> None:
    """A pause's reason reaches the event, with the admin client as the actor, and the response."""
    rig.controller.start(_plan("tasks"))
    async with rig.client() as c:
        response = await c.post("/migration/tasks/pause", json={"reason": "deploy freeze"})
    assert response.status_code == 200, response.text
    assert response.json()["reason"] == "deploy freeze"
    event = rig.store.events("tasks")[-1]
    assert (event.kind, event.reasons) == ("paused", ("paused by admin:127.0.0.1: deploy freeze",))
    assert event.numbers == {"actor": "admin:127.0.0.1", "reason": "deploy freeze"}


async def test_start_takes_a_reason_and_refuses_a_bad_one(rig: Rig) -> None:
    """A start's reason is recorded with the actor; an empty one is a 422 naming 'reason'."""
    async with rig.client() as c:
        bad = await c.post("/migration/tasks/start", json=START | {"reason": " "})
        good = await c.post("/migration/tasks/start", json=START | {"reason": "ticket 42"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["field"] == "reason"
    assert good.status_code == 200, good.text
    assert good.json()["reason"] == "ticket 42"
    (event,) = rig.store.events("tasks")
    assert event.reasons[0] == "started by admin:127.0.0.1: ticket 42"
    assert event.numbers == {"actor": "admin:127.0.0.1", "reason": "ticket 42"}


async def test_abort_all_ends_every_active_migration_and_skips_the_rest(rig: Rig) -> None:
    """'all' acts on each route the action applies to and says why it skipped the others."""
    rig.controller.start(_plan("tasks"))
    async with rig.client() as c:
        response = await c.post("/migration/all/abort", json={"reason": "incident"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(v["route"], v["phase"]) for v in body["routes"]] == [("tasks", "aborted")]
    (skipped,) = body["skipped"]
    assert skipped["route"] == "default"
    assert "has no migration" in skipped["detail"]
    assert rig.gateway.state.get_weights() == {"tasks": 0, "default": 0}
    assert rig.store.events("tasks")[-1].reasons == ("aborted by admin:127.0.0.1: incident",)
    actions = [(e["route"], e["action"]) for e in rig.logs if e["event"] == "migration_action"]
    assert actions == [("tasks", "abort")]


async def test_pause_all_pauses_each_running_route(rig: Rig) -> None:
    """Every route in a phase the action fits is acted on, in route order."""
    rig.controller.start(_plan("tasks"))
    rig.controller.start(_plan("default"))
    async with rig.client() as c:
        response = await c.post("/migration/all/pause")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(v["route"], v["phase"]) for v in body["routes"]] == [
        ("tasks", "paused"),
        ("default", "paused"),
    ]
    assert body["skipped"] == []


async def test_an_action_on_all_that_fits_no_route_is_409(rig: Rig) -> None:
    """When no route's phase fits the action, 'all' is a 409 naming each route's refusal."""
    rig.controller.start(_plan("tasks"))
    async with rig.client() as c:
        response = await c.post("/migration/all/resume")
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail.startswith("resume applied to no route: ")
    assert "'tasks' is running" in detail
    assert "'default' has no migration" in detail
    state = rig.store.load("tasks")
    assert state is not None
    assert state.phase.value == "running"
