"""The HTML report of a whole migration: markers with reasons, gaps, pauses, and what it looks like
in a real browser (headless Chromium, skipped when absent)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from migration.metrics import MigrationMetrics
from migration.plan import Plan, Step
from migration.report import MigrationReport, build_report, render
from migration.report_html import (
    gap_bands,
    gaps,
    markers,
    paused_bands,
    render_html,
    step_bands,
)
from migration.testing import FakeClock, StaticMemory
from tests.migration.png import read_png
from tests.migration.report_history import EVENTS, GAP, START, snapshots, store

NOW = START + 1005


async def _report(since: float | None = None) -> MigrationReport:
    return await build_report(
        MigrationMetrics(FakeClock(NOW)),
        route="tasks",
        store=store(),
        clock=lambda: NOW,
        memory=StaticMemory({"baseline": 400 * 2**20, "candidate": 100 * 2**20}),
        since=since,
    )


async def test_the_page_charts_the_whole_migration_with_numbered_markers() -> None:
    """Three well-formed charts over the history; each marked event listed with its reasons."""
    report = await _report()
    page = render_html(report)
    # 440 evaluations; those over 15 minutes old are thinned to one per 10 s, and not a gap.
    assert len(report.snapshots) == 401
    assert len(gaps(report.snapshots, 2.0)) == 1
    assert page.count("<svg") == 3
    for chunk in page.split("<svg")[1:]:
        ET.fromstring("<svg" + chunk.split("</svg>")[0] + "</svg>")
    assert "History from 2026-12-06 09:00:00 UTC" in page
    for kind in ("promoted", "paused", "resumed", "rolled back", "weight set"):
        assert f">{kind}</span>" in page
    assert "latency_p95: candidate 250.0 ms &gt; threshold 60.0 ms" in page
    assert "deploy freeze" in page
    assert "latency_p95[create_task]" in page  # per-operation checks from the snapshots


def test_markers_bands_and_gaps_come_from_the_history() -> None:
    """Markers number the marked events; steps band by weight; the pause and the gap are bands."""
    marked = markers(EVENTS)
    assert [m.number for m, _ in marked] == [1, 2, 3, 4, 5, 6]
    assert "deploy freeze" in marked[2][0].title
    snaps = snapshots()
    assert [b.label for b in step_bands(snaps, START + 1000)] == ["10 %", "50 %", "0 %", "10 %"]
    [pause] = paused_bands(EVENTS, START + 1000)
    assert (pause.start, pause.end) == (START + 400, START + 480)
    [gap] = gap_bands(gaps(snaps, 2.0))
    assert gap.start < START + GAP[0]
    assert gap.end >= START + GAP[1]


async def test_since_limits_the_history() -> None:
    """since: only the snapshots and events from then on are charted and listed."""
    report = await _report(since=START + 600)
    assert all(s.at >= START + 600 for s in report.snapshots)
    assert [e.kind for e in report.events] == ["rolled_back", "weight_set"]
    assert "(step 2) — paused" not in render(report, "html")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_the_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    """Chromium draws the page at 1400x2000 with the charts' colours: not blank, not one colour."""
    page = tmp_path / "report.html"
    page.write_text(render_html(asyncio.run(_report())), "utf-8")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1400,2000",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    width, height, rows = read_png(shot)
    assert (width, height) == (1400, 2000)
    colours = {row[i : i + 3] for row in rows[::4] for i in range(0, len(row), 12)}
    assert len(colours) > 20
    # The candidate's orange (#e8590c) and the baseline's blue (#1f6fb4) lines are drawn.
    assert any(r > 200 and 70 < g < 110 and b < 40 for r, g, b in colours)
    assert any(r < 60 and 90 < g < 130 and b > 160 for r, g, b in colours)


async def test_a_shadow_first_step_is_labelled_shadow() -> None:
    """A plan that starts with a shadow step labels its first band "shadow", not "0 %"."""
    report = await _report()
    assert report.state is not None
    plan = Plan("tasks", (Step(0), *report.state.plan.steps))
    first = report.snapshots[0]
    shadow = replace(first, at=first.at - 60, weight_bps=0)
    report = replace(
        report, state=report.state.with_(plan=plan), snapshots=(shadow, *report.snapshots)
    )
    assert 'class="band">shadow</text>' in render_html(report)
