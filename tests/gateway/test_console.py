"""Operator output: rich tables on a terminal, full plain lines on a pipe (issue #15 item 6)."""

from __future__ import annotations

import io

from rich.console import Group
from rich.table import Table
from rich.text import Text

from gateway.console import CliConsole, plain_lines
from migration.cli.operator import render_events

REASON = "manual rollback by admin:127.0.0.1: the pager went off during the 50 % step, see INC-4242"


def _event() -> dict[str, object]:
    return {
        "time": "2026-12-06T09:00:00.123Z",
        "route": "tasks",
        "kind": "rolled_back",
        "phase": "rolled_back",
        "step_index": 2,
        "weight_percent": 0.0,
        "reasons": [REASON],
    }


def test_a_piped_events_table_is_tab_separated_with_full_values() -> None:
    """Off a terminal, `cutover events` prints a header and a whole tab-separated line per event."""
    out = io.StringIO()
    CliConsole(file=out).print(render_events([_event()]))
    lines = out.getvalue().splitlines()
    assert lines[0] == "# Migration events"
    assert lines[1].split("\t") == [
        "time (UTC)",
        "route",
        "event",
        "phase",
        "step",
        "weight",
        "reasons",
    ]
    assert lines[2].split("\t") == [
        "2026-12-06 09:00:00.123",
        "tasks",
        "rolled_back",
        "rolled_back",
        "3",
        "0%",
        REASON,
    ]
    assert "…" not in out.getvalue()


def test_a_terminal_still_gets_the_rich_table() -> None:
    """On a terminal the table is drawn by rich, with its box."""
    out = io.StringIO()
    CliConsole(file=out, force_terminal=True, width=300, color_system=None).print(
        render_events([_event()])
    )
    assert "┃" in out.getvalue() or "│" in out.getvalue()
    assert "\t" not in out.getvalue()


def test_cell_line_breaks_and_captions_stay_on_their_lines() -> None:
    """A cell's line breaks become ' · '; the caption becomes '# ' lines after the rows."""
    table = Table(title="t", caption=Text("FAULT on candidate\nSTORE failing"))
    table.add_column("p95 ms\nbase / cand")
    table.add_row("1.0 / 2.0\n(ms)")
    assert plain_lines(table) == [
        "# t",
        "p95 ms · base / cand",
        "1.0 / 2.0 · (ms)",
        "# FAULT on candidate",
        "# STORE failing",
    ]
    assert plain_lines(Group(Text("a"), "b\nc")) == ["a", "b", "c"]


def test_a_cell_holding_another_renderable_is_laid_out_in_full() -> None:
    """A cell that is neither text nor a string (a group, say) is rendered, not repr'd."""
    table = Table()
    table.add_column("c")
    table.add_row(Group(Text("x" * 200), Text("y")))
    assert plain_lines(table) == ["c", "x" * 200 + " · y"]
