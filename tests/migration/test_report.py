"""The MigrationReport: seed 001's comparison, factors without zero division, four renderers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from migration.metrics import MigrationMetrics
from migration.plan import Plan, Step
from migration.report import Factors, build_report, parse_since, render
from migration.state import Event, MigrationState, Phase, Snapshot
from migration.testing import FakeClock, InMemoryStore, StaticMemory


def filled_metrics() -> MigrationMetrics:
    """Baseline at 40 ms / 2 % errors on 90 req/s, candidate at 20 ms on 10 req/s, over 10 s."""
    clock = FakeClock(1000.0)
    metrics = MigrationMetrics(clock, window_buckets=10)
    for second in range(10):
        clock.now = 1000.0 + second
        for i in range(90):
            metrics.observe("tasks", "baseline", 500 if i < 2 else 200, 0.040, None)
        for _ in range(10):
            metrics.observe("tasks", "candidate", 200, 0.020, None)
    clock.now = 1009.5  # still inside the tenth second: all ten buckets are in the window
    return metrics


def store_with_history() -> InMemoryStore:
    store = InMemoryStore()
    plan = Plan("tasks", (Step(1000), Step(10_000)))
    state = MigrationState("tasks", plan, Phase.RUNNING, 0, 1000, 1000.0)
    store.commit(state, [Event("tasks", 1000.0, "started", Phase.RUNNING, 0, 1000, ("plan",))])
    for i in range(5):
        store.commit(state, (), Snapshot("tasks", 1000.0 + i, 1000, "hold", 0.04, 0.02, 0.02, 0.0))
    return store


async def test_report_numbers_and_factors() -> None:
    """p95, memory, throughput, error rate per backend and seed 001's improvement factors."""
    memory = StaticMemory({"baseline": 400 * 2**20, "candidate": 100 * 2**20})
    report = await build_report(
        filled_metrics(),
        route="tasks",
        memory=memory,
        store=store_with_history(),
        clock=lambda: 5.0,
    )
    assert report.baseline.p95 == pytest.approx(0.040, rel=0.01)
    assert report.candidate.p95 == pytest.approx(0.020, rel=0.01)
    assert report.baseline.error_rate == pytest.approx(2 / 90)
    assert report.baseline.throughput_rps == pytest.approx(90.0, rel=0.11)
    assert report.factors.response_time == pytest.approx(2.0, rel=0.02)
    assert report.factors.memory == pytest.approx(4.0)
    # 10 % weight: 10 req/s per 10 % share vs 90 req/s per 90 % share is an even split.
    assert report.factors.throughput == pytest.approx(1.0, rel=0.01)
    assert "share-normalised" in report.factors.throughput_note
    assert len(report.snapshots) == 5


async def test_factors_survive_zero_and_missing() -> None:
    """No candidate traffic and no memory give None factors with the reason, never 0.00x."""
    report = await build_report(MigrationMetrics(FakeClock()), memory=StaticMemory({}))
    assert report.factors == Factors(
        None,
        None,
        None,
        "none: no single route's weight (all routes merged), so the shares are unknown",
        "none: a backend has no latency samples in the window",
        "none: no resident memory scraped from both backends' /metrics",
    )
    table = render(report, "table")
    assert "n/a" in table
    assert "0.00x" not in table
    assert "  throughput (candidate / baseline rate per share): none: no single route" in table


@pytest.mark.parametrize("weight", [0, 10_000])
async def test_no_throughput_factor_at_0_or_100_percent(weight: int) -> None:
    """At 0 or 100 % one backend gets everything: no throughput factor, and the note says why."""
    store = store_with_history()
    state = store.load("tasks")
    assert state is not None
    store.commit(state.with_(weight_bps=weight))
    report = await build_report(filled_metrics(), route="tasks", store=store)
    assert report.factors.throughput is None
    assert (
        f"at {weight / 100:g} % one backend gets all the traffic" in report.factors.throughput_note
    )
    assert report.factors.response_time_note.startswith("candidate p95 is 2.0")


def test_since_takes_a_duration_or_an_iso_time() -> None:
    """10m, 2h, 90s and 1d count back from now; ISO times without a zone are UTC."""
    assert parse_since("10m", 10_000.0) == 9_400.0
    assert parse_since("2h", 10_000.0) == 2_800.0
    assert parse_since(" 90s", 100.0) == 10.0
    assert parse_since("1d", 86_400.0) == 0.0
    assert parse_since("2026-12-06T09:00:00Z", 0.0) == 1_796_547_600.0
    assert parse_since("2026-12-06T09:00:00", 0.0) == 1_796_547_600.0
    with pytest.raises(ValueError, match=r"duration .* or an ISO time"):
        parse_since("yesterday", 0.0)


async def test_the_history_starts_at_the_latest_migration_start() -> None:
    """Without since, events and snapshots from before the route's last ``started`` are left out."""
    store = store_with_history()
    state = store.load("tasks")
    assert state is not None
    store.commit(state, [Event("tasks", 1003.5, "started", Phase.RUNNING, 0, 1000, ("again",))])
    report = await build_report(filled_metrics(), route="tasks", store=store)
    assert report.since == 1003.5
    assert [e.reasons for e in report.events] == [("again",)]
    assert [s.at for s in report.snapshots] == [1004.0]
    assert "History from 1970-01-01 00:16:43 UTC" in render(report, "table")
    assert "1 evaluations, 1 events" in render(report, "markdown")
    everything = await build_report(filled_metrics(), route="tasks", store=store, since=0.0)
    assert len(everything.snapshots) == 5


async def test_all_routes_are_merged() -> None:
    """Without a route, every route's windows are merged."""
    metrics = filled_metrics()
    metrics.observe("other", "candidate", 200, 0.02, None)
    report = await build_report(metrics)
    assert report.candidate.requests == 101
    assert report.route is None


async def test_renderers() -> None:
    """table, json, markdown and html all render; json round-trips; html has three SVG charts."""
    report = await build_report(
        filled_metrics(), route="tasks", memory=StaticMemory({}), store=store_with_history()
    )
    table = render(report, "table")
    assert "p95" in table
    assert "improvement factors" in table
    data = json.loads(render(report, "json"))
    assert data["improvement_factors"]["response_time"] == pytest.approx(2.0, rel=0.02)
    assert data["state"]["phase"] == "running"
    markdown = render(report, "markdown")
    assert "| p95 |" in markdown
    assert "| started |" in markdown.replace(" | 10% |", " |")
    page = render(report, "html")
    assert page.count("<svg") == 3
    for chunk in page.split("<svg")[1:]:
        ET.fromstring("<svg" + chunk.split("</svg>")[0] + "</svg>")  # well-formed SVG
    with pytest.raises(ValueError, match="format must be one of"):
        render(report, "pdf")


async def test_text_reports_open_with_the_latest_evaluations_why() -> None:
    """table, markdown and html name the newest snapshot's decision, reasons and age."""
    store = store_with_history()
    state = store.load("tasks")
    assert state is not None
    snap = Snapshot("tasks", 1010.0, 1000, "hold", reasons=("holding: 40/60 s", "p95 ok"))
    store.commit(state, (), snap)
    report = await build_report(filled_metrics(), route="tasks", store=store, clock=lambda: 1013.0)
    line = "latest evaluation (3 s before this report): hold — holding: 40/60 s; p95 ok"
    assert render(report, "table").splitlines()[1] == line
    assert line in render(report, "markdown")
    assert f"<p>{line}</p>" in render(report, "html")
    assert json.loads(render(report, "json"))["snapshots"][-1]["reasons"] == list(snap.reasons)


async def test_a_rolled_back_route_is_explained_in_its_phases_words() -> None:
    """After a rollback the report's why is the rollback's, not the evaluation before it."""
    store = store_with_history()
    state = store.load("tasks")
    assert state is not None
    rolled = state.with_(phase=Phase.ROLLED_BACK, weight_bps=0)
    why = ("latency_limit: p95 900 ms > 500 ms",)
    store.commit(rolled, [Event("tasks", 1006.0, "rolled_back", Phase.ROLLED_BACK, 0, 0, why)])
    report = await build_report(filled_metrics(), route="tasks", store=store, clock=lambda: 1010.0)
    assert render(report, "table").splitlines()[1] == f"now: rolled back: {why[0]}"


async def test_a_report_without_evaluations_has_no_latest_line() -> None:
    """All routes merged (no snapshot ring): no latest-evaluation line."""
    report = await build_report(filled_metrics(), store=store_with_history())
    assert "latest evaluation" not in render(report, "table")


async def test_a_route_report_breaks_down_by_operation() -> None:
    """Each operation's requests, p95 and errors per backend; the slow one shows its ratio."""
    metrics = MigrationMetrics(FakeClock())
    for _ in range(20):
        metrics.observe("tasks", "baseline", 200, 0.010, None, "list_tasks")
        metrics.observe("tasks", "candidate", 200, 0.010, None, "list_tasks")
        metrics.observe("tasks", "baseline", 200, 0.020, None, "create_task")
        metrics.observe("tasks", "candidate", 200, 0.060, None, "create_task")
    report = await build_report(metrics, route="tasks", clock=lambda: 0.0)
    rows = {r.operation: r for r in report.operations}
    assert set(rows) == {"create_task", "list_tasks"}
    assert rows["create_task"].p95_ratio is not None
    assert 2.8 < rows["create_task"].p95_ratio < 3.2
    assert "by operation:" in render(report, "table")
    assert "### By operation" in render(report, "markdown")
    assert "<h2>By operation</h2>" in render(report, "html")
    assert '"operations"' in render(report, "json")


async def test_the_report_carries_the_live_calibration() -> None:
    """The controller's A/A calibration is one line of the text report and a JSON field."""
    metrics = MigrationMetrics(FakeClock())
    calibration = {"steps": 4, "alarms": {"seq_latency": 1}, "budget_per_check": 0.001}
    report = await build_report(metrics, route="tasks", calibration=calibration)
    assert "A/A calibration (the baseline judged against itself): 4 steps" in render(report)
    assert "seq_latency 1" in render(report, "markdown")
    assert json.loads(render(report, "json"))["calibration"]["steps"] == 4
