"""``cutover shadow``: read shadow evidence and set a route's shadow rate through the admin API.

- ``cutover shadow`` — one row per route: rate, outcome counts, mismatch rate, contract violations
  and the fields that really differ;
- ``cutover shadow ROUTE`` — that route's fields (verdict, rates, kinds) and violations;
- ``cutover shadow ROUTE --rate PERCENT`` — set the route's sampling rate (needs the admin token).

Address and token come from ``--admin-url``/``--token`` or
``CUTOVER_ADMIN_URL``/``CUTOVER_ADMIN_TOKEN``. httpx is fine here: this is an
operator's command, not the data path.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.table import Table

from gateway.admin_client import DEFAULT_ADMIN_URL, AdminCallError, AdminClient
from gateway.console import CliConsole


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def summary_table(payload: dict[str, Any]) -> Table:
    """The ``GET /shadow`` answer as a table (one row per route)."""
    table = Table(title="Shadow comparison", title_justify="left")
    columns = ("route", "rate", "compared", "matched", "mismatched", "noise", "expected", "errored")
    for column in columns:
        table.add_column(column, justify="left" if column == "route" else "right")
    for column in ("dropped", "mismatch", "violations", "real differences"):
        table.add_column(column, justify="left" if column == "real differences" else "right")
    for route in payload.get("routes", []):
        shadow, config = route["shadow"], route.get("config") or {}
        outcomes = shadow["outcomes"]
        violations = sum(b["violated"] for b in route["contracts"]["backends"].values())
        checked = sum(b["checked"] for b in route["contracts"]["backends"].values())
        real = shadow["real_fields"]
        table.add_row(
            route["route"],
            f"{config.get('percent', 0):g}%",
            str(shadow["compared"]),
            str(outcomes["matched"]),
            str(outcomes["mismatched"]),
            str(outcomes["noise"]),
            str(outcomes.get("expected", 0)),
            str(outcomes["errored"]),
            str(outcomes["dropped"]),
            _percent(shadow["mismatch_rate"]),
            f"{violations}/{checked}" if checked else "-",
            ", ".join(real[:4]) + (f" (+{len(real) - 4})" if len(real) > 4 else ""),
        )
    queue = payload.get("queue", {})
    caption = f"shadow queue {queue.get('depth', 0)}/{queue.get('capacity', '?')}"
    sidecar = payload.get("sidecar")
    if sidecar:
        cpus = sidecar.get("cpus")
        caption += (
            f" · sidecar pid {sidecar.get('pid')}, priority {sidecar.get('priority')}, "
            f"CPUs {','.join(map(str, cpus)) if cpus else '?'}, restarts "
            f"{sidecar.get('restarts', 0)}"
        )
    table.caption = caption
    return table


def detail_tables(payload: dict[str, Any]) -> list[Table]:
    """The ``GET /shadow/{route}`` answer: fields, then contract checks per backend."""
    fields = Table(title=f"Shadow fields of route {payload['route']}", title_justify="left")
    for column in ("field", "verdict", "differences", "rate", "noise rate", "kinds", "samples"):
        fields.add_column(
            column, justify="left" if column in ("field", "verdict", "kinds") else "right"
        )
    for field in payload["shadow"]["fields"]:
        fields.add_row(
            field["field"],
            field["verdict"],
            str(field["differences"]),
            _percent(field["rate"]),
            _percent(field["noise_rate"]),
            ", ".join(f"{k}×{n}" for k, n in sorted(field["kinds"].items())),
            str(len(field["samples"])),
        )
    contracts = Table(title="Contract checks", title_justify="left")
    for column in ("backend", "checked", "violated", "rate", "kinds"):
        contracts.add_column(column, justify="left" if column in ("backend", "kinds") else "right")
    for backend, stats in payload["contracts"]["backends"].items():
        contracts.add_row(
            backend,
            str(stats["checked"]),
            str(stats["violated"]),
            _percent(stats["violation_rate"]),
            ", ".join(f"{k}×{n}" for k, n in sorted(stats["kinds"].items())),
        )
    return [fields, contracts]


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    with AdminClient(args.admin_url, args.token) as client:
        return client.call_json(method, path, body)


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    """Execute ``cutover shadow`` with parsed ``args``; returns the exit code."""
    console = console or CliConsole(file=sys.stdout)  # plain tab-separated lines on a pipe
    try:
        if args.rate is not None:
            if args.route is None:
                print("cutover shadow: --rate needs a ROUTE", file=sys.stderr)
                return 2
            path = f"/shadow/{quote(args.route, safe='')}/rate"
            payload = _call(args, "PUT", path, {"percent": args.rate})
            console.print(f"route {payload['route']}: shadow rate {payload['percent']:g}%")
            return 0
        if args.route is None:
            payload = _call(args, "GET", "/shadow")
            tables = [summary_table(payload)]
        else:
            payload = _call(args, "GET", f"/shadow/{quote(args.route, safe='')}")
            tables = detail_tables(payload)
    except AdminCallError as exc:
        print(f"cutover shadow: {exc}", file=sys.stderr)
        return 1
    if args.json:
        console.print_json(json.dumps(payload))
        return 0
    for table in tables:
        console.print(table)
    return 0


def register(subparsers: Any) -> None:
    """Add ``cutover shadow`` to the ``cutover`` parser."""
    parser = subparsers.add_parser(
        "shadow",
        help="shadow comparison summary, a route's fields, or set a route's shadow rate",
        description="Without ROUTE: a table of every route's shadow outcomes. With ROUTE: its "
        "fields and contract checks. With ROUTE --rate PERCENT: set its sampling rate.",
        epilog="examples:\n  cutover shadow\n  cutover shadow tasks\n"
        "  cutover shadow tasks --rate 10 --token $CUTOVER_ADMIN_TOKEN",
    )
    parser.add_argument("route", nargs="?", default=None, help="route name (default: every route)")
    parser.add_argument(
        "--rate", type=float, default=None, metavar="PERCENT", help="set the sampling rate, 0..100"
    )
    parser.add_argument("--json", action="store_true", help="print the admin API's JSON")
    parser.add_argument(
        "--admin-url",
        default=None,
        help=f"admin API (env CUTOVER_ADMIN_URL, default {DEFAULT_ADMIN_URL})",
    )
    parser.add_argument("--token", default=None, help="admin token (env CUTOVER_ADMIN_TOKEN)")
    parser.set_defaults(func=run)
