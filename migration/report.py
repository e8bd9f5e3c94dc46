"""Seed 001's MigrationReport: build it (:mod:`migration.report_data`), render it in one of
:data:`FORMATS` — ``table`` and ``markdown`` (:mod:`migration.report_text`), ``json``, and ``html``
(:mod:`migration.report_html`: the whole migration on a time axis, offline, no JavaScript).

The one entry point the admin API, the CLI and the demo import; the modules behind it depend on
each other in one direction (data <- text <- html <- here).
"""

from __future__ import annotations

import json

from migration.report_data import (
    BackendSummary,
    Factors,
    MigrationReport,
    UnknownMigration,
    build_report,
    parse_since,
)
from migration.report_html import render_html
from migration.report_text import render_markdown, render_table

__all__ = [
    "FORMATS",
    "BackendSummary",
    "Factors",
    "MigrationReport",
    "UnknownMigration",
    "build_report",
    "parse_since",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
    "render_table",
]

FORMATS = ("table", "json", "markdown", "html")


def render_json(report: MigrationReport) -> str:
    """The report as JSON."""
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render(report: MigrationReport, fmt: str = "table") -> str:
    """Render ``report`` as one of :data:`FORMATS`."""
    renderers = {
        "table": render_table,
        "json": render_json,
        "markdown": render_markdown,
        "html": render_html,
    }
    if fmt not in renderers:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return renderers[fmt](report)
