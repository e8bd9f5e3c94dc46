"""Where the operator commands print: rich tables on a terminal, a plain layout on a pipe.

rich sizes a table to the console, and a console that is not a terminal is 80 columns wide, so
``cutover events | cat`` squeezed its columns to ``s…`` and ``weig…`` and dropped the reasons
(issue #15 item 6). Piped output is read by ``grep``, ``awk``, ``less`` and log collectors, none of
which want a box: off a terminal every table becomes tab-separated lines with full values —
a header line, one line per row — and its title and caption become ``# `` lines a script can skip.
A cell's own line breaks (``p95 ms\\nbase / cand``) become `` · `` so a row stays one line.
``--json`` stays the way to get machine-readable data; this layout is for people on a pipe.

:class:`CliConsole` is a :class:`rich.console.Console` whose ``print`` makes that choice, so the
commands keep calling ``console.print(table)`` whatever their output is.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

__all__ = ["CliConsole", "plain_lines"]

CELL_BREAK = " · "


def _cell(value: Any) -> str:
    if isinstance(value, Text):
        text = value.plain
    elif isinstance(value, str):
        text = value
    else:  # any other renderable: rich lays it out, unstyled, without a width to squeeze it to
        out = io.StringIO()
        Console(file=out, width=10_000, color_system=None, soft_wrap=True).print(value)
        text = out.getvalue()
    return CELL_BREAK.join(part.strip() for part in text.splitlines() if part.strip())


def _table_lines(table: Table) -> list[str]:
    lines = [f"# {_cell(table.title)}"] if table.title else []
    if table.show_header:
        lines.append("\t".join(_cell(column.header) for column in table.columns))
    rows = zip(*(list(column.cells) for column in table.columns), strict=True)
    lines.extend("\t".join(_cell(cell) for cell in row) for row in rows)
    if table.caption:
        caption = table.caption.plain if isinstance(table.caption, Text) else str(table.caption)
        lines.extend(f"# {line}" for line in caption.splitlines() if line.strip())
    return lines


def plain_lines(renderable: Any) -> list[str] | None:
    """``renderable`` as plain lines, or ``None`` for a kind this layout leaves to rich."""
    if isinstance(renderable, Table):
        return _table_lines(renderable)
    if isinstance(renderable, Text):
        return renderable.plain.splitlines()
    if isinstance(renderable, str):  # the commands print no markup; the text as it is
        return renderable.splitlines()
    if isinstance(renderable, Group):
        lines: list[str] = []
        for part in renderable.renderables:
            part_lines = plain_lines(part)
            if part_lines is None:
                return None
            lines.extend(part_lines)
        return lines
    return None


class CliConsole(Console):
    """A console that prints tables, texts and groups of them plainly when not on a terminal."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        """rich's ``print`` on a terminal; :func:`plain_lines` for what it can lay out otherwise."""
        if self.is_terminal:
            super().print(*objects, **kwargs)
            return
        for item in objects:
            lines = plain_lines(item)
            if lines is None:
                super().print(item, **kwargs)
            else:
                self.file.write("".join(line + "\n" for line in lines))
        self.file.flush()
