"""The operator's commands: ``cutover status``, ``cutover migrate ...``, ``cutover events``,
``cutover report``.

Every command talks to a running gateway's admin API (:mod:`migration.admin_api`) through
:class:`~gateway.admin_client.AdminClient`: rich tables for people, ``--json`` (the API's own JSON)
for scripts. Exit codes: 0 done, 1 the call failed (gateway unreachable, token wrong, action
refused), 2 bad arguments found before any call.

``cutover migrate start ROUTE --gate 50`` names a gated step by its *weight*, as ``--steps`` lists
them and as :func:`migration.plan.plan_from_cli` reads ``--gates``; the CLI turns it into the step
index the API takes. ``ROUTE`` may be ``all``: ``start all`` starts every gateway route, any other
action acts on every route it applies to and lists the routes it skipped. Every action takes
``--reason``, recorded with the actor in the route's event history.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gateway.admin_client import DEFAULT_ADMIN_URL, AdminCallError, AdminClient
from gateway.commands import describe_fault
from gateway.console import CliConsole
from migration.plan import PlanError, parse_count, parse_steps, parse_weight
from migration.report import FORMATS

__all__ = ["register", "render_events", "render_history", "render_status"]

ACTIONS = ("promote", "pause", "resume", "rollback", "abort")
PHASE_STYLES = {
    "running": "green",
    "paused": "yellow",
    "awaiting_gate": "cyan",
    "rolled_back": "bold red",
    "completed": "bold green",
    "aborted": "dim",
}


def _console() -> Console:
    """A console on the *current* ``sys.stdout`` (so redirection and test capture both work).

    Off a terminal it prints tables plainly, tab-separated with full values
    (:mod:`gateway.console`).
    """
    return CliConsole(file=sys.stdout, soft_wrap=False)


def _fail(exc: AdminCallError) -> int:
    print(f"cutover: {exc}", file=sys.stderr)
    return exc.exit_code


def _client(args: argparse.Namespace) -> AdminClient:
    return AdminClient(args.admin_url, args.token)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


# -- rendering ------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _pair(view: dict[str, Any], key: str, fmt: Callable[[Any], str]) -> str:
    b, c = view["backends"]["baseline"], view["backends"]["candidate"]
    return f"{fmt(b[key])} / {fmt(c[key])}"


def _step(view: dict[str, Any]) -> str:
    plan = view["plan"]
    if plan is None:
        return "—"
    index, steps = plan["step_index"], plan["steps"]
    step = steps[index]
    waits = view["phase"] in ("running", "awaiting_gate", "paused")
    gated = index + 1 < len(steps) and steps[index + 1]["gate"]
    gate = f" ⏸gate→{steps[index + 1]['label']}" if waits and gated else ""
    return (
        f"{plan['step_index'] + 1}/{plan['step_count']} {step['label']}{gate}\n"
        f"{plan['held_s']:.0f}/{plan['hold_s']:g}s · "
        f"{plan['step_requests']}/{plan['min_requests']} req"
    )


def _why(view: dict[str, Any]) -> Text:
    """The route's current why (``GET /migration``'s ``why``, in the phase's own wording).

    :mod:`migration.why` chooses the text; a stale evaluation (the controller stopped) is flagged
    with its age whichever text is shown.
    """
    why, latest = view.get("why"), view.get("latest")
    if why is None:
        return Text("—")
    text = Text(why["text"], style="red" if why["decision"] == "rollback" else "")
    if latest is not None and latest.get("stale"):
        text.append(f" (last evaluation {latest['age_s']:.0f} s ago)", style="bold yellow")
    return text


def _weight(view: dict[str, Any]) -> Text:
    """The weight, the candidate's observed share of the window's requests, and the sticky keys.

    A share far from the weight (``share_mismatch``) is yellow: the split moves fewer clients than
    it says, typically because few distinct keys carry the traffic (issue #15 item 1).
    """
    weight = view["weight"]
    text = Text(f"{weight['percent']:g}%")
    observed, keys = weight.get("observed_percent"), weight.get("sticky_keys")
    off = "share_mismatch" in view.get("conditions", ())
    if observed is not None:
        text.append(f"\nsaw {observed:.0f}%", style="bold yellow" if off else "dim")
    if keys is not None:
        noun = "key" if keys == 1 else "keys"
        text.append(f"\n{keys:,} {noun}", style="bold yellow" if off else "dim")
    return text


def faults_of(status: Mapping[str, Any]) -> dict[str, Any]:
    """Each backend's active fault (``None``: none) from the gateway's ``GET /status``.

    ``GET /migration`` does not carry faults (they belong to the gateway, not to a migration), so
    ``cutover status`` reads them from ``/status`` and hands them to :func:`render_status`.
    """
    return {name: backend.get("fault") for name, backend in status.get("backends", {}).items()}


def _status_caption(data: dict[str, Any], faults: Mapping[str, Any] | None) -> Text | None:
    """What an operator must not miss under the table: a failing store, then each active fault."""
    lines: list[tuple[str, str]] = []
    store = data.get("state_store") or {}
    if store and not store.get("ok", True):
        lines.append(
            (
                f"STATE STORE FAILING since {store['failing_since']} ({store['errors']} errors: "
                f"{store['last_error']}): promotions refused, rollbacks still applied"
                + (
                    f"; {store['journaled']} write(s) kept in the local journal"
                    if store.get("journaled")
                    else ""
                ),
                "bold red",
            )
        )
    for backend, fault in (faults or {}).items():
        if fault is not None:
            lines.append((f"FAULT on {backend}: {describe_fault(fault)}", "bold yellow"))
    if not lines:
        return None
    return Text("\n").join(Text(line, style=style) for line, style in lines)


def render_status(data: dict[str, Any], faults: Mapping[str, Any] | None = None) -> Table:
    """``GET /migration`` as a table: one row per route.

    A failing state store is the caption (promotions are refused, rollbacks still act), and so is
    each active fault from ``faults`` (backend → the admin API's fault JSON, see
    :func:`faults_of`): an injected abort explains a rollback nothing else on screen does. What
    holds a route (``baseline_degraded``, ``candidate_stuck``) is listed under its phase.
    """
    table = Table(title=f"Cutover migration — analysis window {data['window_s']:g} s", expand=True)
    table.caption = _status_caption(data, faults)
    table.add_column("route", style="bold", no_wrap=True)
    table.add_column("weight", justify="right", no_wrap=True)
    table.add_column("phase", no_wrap=True)
    table.add_column("step")
    table.add_column("p95 ms\nbase / cand", justify="right")
    table.add_column("errors\nbase / cand", justify="right")
    table.add_column("req/s\nbase / cand", justify="right")
    table.add_column("decision — why", overflow="fold")
    for view in data["routes"]:
        phase = view["phase"]
        phase_text = Text(phase or "—", style=PHASE_STYLES.get(phase or "", "dim"))
        if view.get("dry_run"):
            phase_text.append("\nDRY RUN: weights untouched", style="bold cyan")
        for condition in view.get("conditions", ()):
            phase_text.append(f"\n⚠ {condition}", style="bold yellow")
        table.add_row(
            view["route"],
            _weight(view),
            phase_text,
            _step(view),
            _pair(view, "p95_ms", _ms),
            _pair(view, "error_rate", _pct),
            _pair(view, "rps", lambda v: f"{v:.1f}"),
            _why(view),
        )
    return table


def render_cluster(cluster: dict[str, Any]) -> Table:
    """The ``cluster`` section of ``GET /migration``: the leader, then one row per member."""
    leader = cluster.get("leader") or {}
    who = leader.get("replica") or "none"
    title = (
        f"Cluster — leader {who}, epoch {leader.get('epoch', 0)}, lease renewed "
        f"{leader.get('lease_age_s', 0):g} s ago (seen from {cluster['replica']})"
    )
    table = Table(title=title, expand=True)
    if not cluster.get("store_up", True):
        table.caption = f"SHARED STATE STORE UNREACHABLE: {cluster.get('store_error')}"
        table.caption_style = "bold red"
    for name in ("replica", "role", "leader", "heartbeat", "config version", "serving"):
        table.add_column(name, no_wrap=True)
    versions = {m["config_version"] for m in cluster.get("replicas", ())}
    for m in cluster.get("replicas", ()):
        serving = Text("fail-static", style="bold red") if m["fail_static"] else Text("live")
        version = Text(str(m["config_version"]), style="yellow" if len(versions) > 1 else "")
        table.add_row(
            m["replica"],
            m.get("role") or "—",
            "★" if m["leading"] else "",
            f"{m['heartbeat_age_s']:.1f} s ago",
            version,
            serving,
        )
    return table


def render_events(events: list[dict[str, Any]]) -> Table:
    """``GET /migration/events`` as a table, oldest first."""
    table = Table(title="Migration events", expand=True)
    for name in ("time (UTC)", "route", "event", "phase", "step", "weight"):
        table.add_column(name, no_wrap=True)
    table.add_column("reasons", overflow="fold")
    for e in events:
        kind_style = "red" if e["kind"] in ("rolled_back", "aborted") else ""
        table.add_row(
            e["time"].replace("T", " ").removesuffix("Z"),
            e["route"],
            Text(e["kind"], style=kind_style),
            Text(e["phase"], style=PHASE_STYLES.get(e["phase"], "")),
            str(e["step_index"] + 1),
            f"{e['weight_percent']:g}%",
            "; ".join(e["reasons"]),
        )
    return table


def _summary(action: str, view: dict[str, Any], reason: str | None) -> Text:
    plan, weight = view["plan"], view["weight"]["percent"]
    where = "" if plan is None else f", step {plan['step_index'] + 1}/{plan['step_count']}"
    text = Text.assemble(
        (view["route"], "bold"),
        f": {action} → ",
        (str(view["phase"]), PHASE_STYLES.get(str(view["phase"]), "")),
        f"{where}, candidate weight {weight:g}%",
    )
    if view.get("dry_run"):
        planned = (view["weight"].get("planned_bps") or 0) / 100
        text.append(f" (dry run: the plan's weight would be {planned:g}%; weights untouched)")
    if reason:
        text.append(f" (reason: {reason})")
    return text


# -- commands -------------------------------------------------------------------------------------


def _status(args: argparse.Namespace) -> int:
    try:
        with _client(args) as client:
            if not args.watch:
                data = client.get_json("/migration")
                if args.json:
                    _print_json(data)
                else:
                    _console().print(render_status(data, faults_of(client.get_json("/status"))))
                    if "cluster" in data:
                        _console().print(render_cluster(data["cluster"]))
                return 0
            return _watch(client, args.interval, args.count)
    except AdminCallError as exc:
        return _fail(exc)


def _retryable(exc: AdminCallError) -> bool:
    """A failure a restart explains (no answer, not the admin API yet, 5xx); a 4xx is not."""
    return exc.status is None or exc.status >= 500


def _watch(
    client: AdminClient,
    interval: float,
    count: int | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.time,
) -> int:
    """Refresh the status table every ``interval`` s until Ctrl-C (or ``count`` refreshes).

    A gateway that stops answering (a restart, a deploy) does not end the watch (issue #15 item 5):
    the frame keeps the last table under ``gateway unreachable since HH:MM:SS, retrying`` and the
    next answer resumes it, as ``kubectl get --watch`` rides out an API server restart. A 4xx
    (wrong token, say) still ends it with exit 1: retrying cannot fix that. On a terminal the
    frame is redrawn in place; on a pipe each frame is printed after the last.
    """
    last: list[Any] = []
    down_since: float | None = None

    def clock(at: float) -> str:
        return time.strftime("%H:%M:%S", time.localtime(at))

    def frame() -> Group:
        nonlocal last, down_since
        at = now()
        try:
            data = client.get_json("/migration")
            parts: list[Any] = [render_status(data, faults_of(client.get_json("/status")))]
            if "cluster" in data:
                parts.append(render_cluster(data["cluster"]))
        except AdminCallError as exc:
            if not _retryable(exc):
                raise
            down_since = at if down_since is None else down_since
            note = Text(
                f"{clock(at)}  gateway unreachable since {clock(down_since)}, retrying every "
                f"{interval:g} s ({exc})  (Ctrl-C to stop)",
                style="bold red",
            )
            return Group(*last, note)
        last, down_since = parts, None
        return Group(*parts, Text(clock(at) + "  (Ctrl-C to stop)", style="dim"))

    shown, console = 1, _console()
    try:
        if console.is_terminal:
            with Live(frame(), console=console, auto_refresh=False) as live:
                while count is None or shown < count:
                    sleep(interval)
                    live.update(frame(), refresh=True)
                    shown += 1
        else:
            console.print(frame())
            while count is None or shown < count:
                sleep(interval)
                console.line()
                console.print(frame())
                shown += 1
    except KeyboardInterrupt:
        pass
    return 0


def _gate_indexes(steps: str, gates: list[str]) -> list[int]:
    """``--gate 50`` → the index of the 50 % step (PlanError when it is not a step)."""
    weights = parse_steps(steps)
    indexes = []
    for raw in (g for item in gates for g in item.split(",") if g.strip()):
        bps = parse_weight(raw, "--gate")
        if bps not in weights:
            raise PlanError(f"--gate: {raw!r} is not one of the steps ({steps})")
        indexes.append(weights.index(bps))
    return sorted(set(indexes))


def _act(args: argparse.Namespace, action: str, body: dict[str, Any]) -> int:
    try:
        with _client(args) as client:
            data = client.post_json(f"/migration/{quote(args.route, safe='')}/{action}", body)
    except AdminCallError as exc:
        return _fail(exc)
    if args.json:
        _print_json(data)
    else:
        console = _console()
        for view in data["routes"]:
            console.print(_summary(action, view, data.get("reason")))
        for skipped in data.get("skipped", ()):
            console.print(Text(f"{skipped['route']}: skipped — {skipped['detail']}", style="dim"))
    return 0


def _start(args: argparse.Namespace) -> int:
    try:
        gates = _gate_indexes(args.steps, args.gate or [])
        min_requests = parse_count(args.min_requests)  # the API takes a JSON number, not "500"
    except PlanError as exc:
        print(f"cutover migrate start: {exc}", file=sys.stderr)
        return 2
    body = {"steps": args.steps, "hold": args.hold, "min_requests": min_requests}
    body |= {"deadline": args.deadline, "on_stall": args.on_stall}
    reason = {"reason": args.reason} if args.reason else {}
    dry = {"dry_run": True} if args.dry_run else {}
    return _act(args, "start", body | {"gates": gates} | reason | dry)


def _action(args: argparse.Namespace) -> int:
    return _act(args, args.action, {"reason": args.reason} if args.reason else {})


def _events(args: argparse.Namespace) -> int:
    try:
        with _client(args) as client:
            data = client.get_json("/migration/events", {"route": args.route, "limit": args.limit})
    except AdminCallError as exc:
        return _fail(exc)
    if args.json:
        _print_json(data)
    else:
        _console().print(render_events(data["events"]))
    return 0


def _duration(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def render_history(migrations: list[dict[str, Any]]) -> Table:
    """``GET /migration/history`` as a table, newest first."""
    table = Table(title="Migrations", expand=True)
    for name in ("id", "outcome", "started (UTC)", "duration", "max weight", "rollbacks"):
        table.add_column(name, no_wrap=True)
    table.add_column("final reason", overflow="fold")
    for m in migrations:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(m["started_at"]))
        ongoing = "" if m["ended_at"] is not None else " …"
        table.add_row(
            m["id"],
            Text(m["outcome"], style=PHASE_STYLES.get(m["outcome"], "")),
            started,
            _duration(m["duration_s"]) + ongoing,
            f"{m['max_weight_percent']:g}%",
            str(m["rollbacks"]),
            "; ".join(m["reasons"]),
        )
    return table


def _history(args: argparse.Namespace) -> int:
    try:
        with _client(args) as client:
            data = client.get_json("/migration/history", {"route": args.route})
    except AdminCallError as exc:
        return _fail(exc)
    if args.json:
        _print_json(data)
    else:
        _console().print(render_history(data["migrations"]))
    return 0


def _report(args: argparse.Namespace) -> int:
    try:
        with _client(args) as client:
            query = {"route": args.route, "format": args.format, "since": args.since}
            query |= {"migration": args.migration}
            text = client.get_text("/migration/report", query)
    except AdminCallError as exc:
        return _fail(exc)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"cutover report: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote the {args.format} report to {args.output}", file=sys.stderr)
    return 0


# -- parser ---------------------------------------------------------------------------------------


def _admin_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--admin-url",
        default=None,
        help=f"gateway admin API (env CUTOVER_ADMIN_URL, default {DEFAULT_ADMIN_URL})",
    )
    parser.add_argument("--token", default=None, help="admin token (env CUTOVER_ADMIN_TOKEN)")


def _reason_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reason", default=None, help="why: recorded with the actor in the event history"
    )


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def register(subparsers: Any) -> None:
    """Add ``status``, ``migrate``, ``events`` and ``report`` to the ``cutover`` parser."""
    status = subparsers.add_parser(
        "status",
        help="every route's weight, phase, step, backend numbers and last decision",
        description="One row per route: candidate weight, phase, plan step, both backends' p95, "
        "error rate and throughput, and why the controller decided what it did; active faults "
        "and a failing state store under the table. --watch redraws it and rides out a gateway "
        "restart.",
        epilog="examples:\n  cutover status\n  cutover status --watch --interval 1\n"
        "  cutover status --json | jq '.routes[].phase'",
    )
    status.add_argument("--json", action="store_true", help="print the admin API's JSON")
    status.add_argument("--watch", action="store_true", help="live view until Ctrl-C")
    status.add_argument(
        "--interval", type=_positive, default=2.0, help="--watch refresh and retry, seconds"
    )
    status.add_argument(
        "--count", type=_count, default=None, help="--watch: stop after N refreshes"
    )
    _admin_flags(status)
    status.set_defaults(func=_status)

    migrate = subparsers.add_parser(
        "migrate",
        help="start, promote, pause, resume, roll back, abort",
        description="Drive a route's migration: start a ramp plan, then promote, pause, resume, "
        "roll back or abort it. ROUTE may be 'all'. Every action takes --reason, kept with the "
        "actor in the events.",
        epilog="examples:\n  cutover migrate start default --steps shadow,10,50,100 --hold 5m\n"
        "  cutover migrate rollback all --reason 'p95 doubled'",
    )
    group = migrate.add_subparsers(dest="action", metavar="ACTION", required=True)
    start = group.add_parser(
        "start",
        help="begin a ramp plan on ROUTE (or all)",
        description="Begin a ramp plan: each step is held for --hold and --min-requests "
        "candidate requests, then analysis promotes it, holds it or rolls it back. A --gate step "
        "waits for 'cutover migrate promote'.",
        epilog="examples:\n  cutover migrate start default --steps shadow,10,50,100\n"
        "  cutover migrate start tasks --steps 5,25,100 --hold 10m --min-requests 2000 "
        "--gate 100 --reason 'JIRA-42'",
    )
    start.add_argument("route", help="gateway route name, or 'all'")
    start.add_argument("--steps", required=True, help="weights in percent, e.g. shadow,10,50,100")
    start.add_argument("--hold", default="60s", help="minimum time per step (default 60s)")
    start.add_argument(
        "--min-requests", default="500", help="candidate requests per step (default 500)"
    )
    start.add_argument(
        "--deadline",
        default="30m",
        help="a step undecided after this long is 'stalled' (default 30m)",
    )
    start.add_argument(
        "--on-stall",
        choices=("hold", "rollback"),
        default="hold",
        help="what a stalled step does (default hold)",
    )
    start.add_argument(
        "--gate",
        action="append",
        metavar="WEIGHT",
        help="a step, by weight (repeat, or 50,100), entered only by 'cutover migrate promote'",
    )
    start.add_argument(
        "--dry-run",
        action="store_true",
        help="analysis only: record every verdict and step, never change a weight",
    )
    _reason_flag(start)
    start.add_argument("--json", action="store_true", help="print the admin API's JSON")
    _admin_flags(start)
    start.set_defaults(func=_start)
    for name in ACTIONS:
        sub = group.add_parser(
            name,
            help=f"{name} ROUTE's migration (or every route it applies to)",
            description=f"{name.capitalize()} ROUTE's migration; with 'all', every route it "
            "applies to (the others are listed as skipped).",
            epilog=f"examples:\n  cutover migrate {name} default --reason 'why, for the events'\n"
            f"  cutover migrate {name} all",
        )
        sub.add_argument("route", help="gateway route name, or 'all'")
        _reason_flag(sub)
        sub.add_argument("--json", action="store_true", help="print the admin API's JSON")
        _admin_flags(sub)
        sub.set_defaults(func=_action)

    events = subparsers.add_parser(
        "events",
        help="migration decisions and operator actions",
        description="The event history, oldest first: every promotion, hold, rollback and "
        "operator action with its reasons and actor.",
        epilog="examples:\n  cutover events --route tasks --limit 20\n"
        "  cutover events | grep rolled_back",
    )
    events.add_argument("--route", default=None, help="only this route")
    events.add_argument("--limit", type=_count, default=50, help="newest N events")
    events.add_argument("--json", action="store_true", help="print the admin API's JSON")
    _admin_flags(events)
    events.set_defaults(func=_events)

    history = subparsers.add_parser(
        "history",
        help="past and current migrations per route: outcome, duration, final reason",
        description="Every migration the state store's events tell (newest first): its id, "
        "outcome, start, duration, highest weight, rollbacks and the reasons of its final "
        "decision. The id names it in 'cutover report --migration ID'.",
        epilog="example:\n  cutover history default\n  cutover history --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    history.add_argument("route", nargs="?", default=None, help="only this route (default: all)")
    history.add_argument("--json", action="store_true", help="print the admin API's JSON")
    _admin_flags(history)
    history.set_defaults(func=_history)

    report = subparsers.add_parser(
        "report",
        help="the MigrationReport: both backends side by side",
        description="The MigrationReport: both backends' latency, errors, throughput and "
        "memory side by side, as a table, Markdown, JSON or a self-contained HTML page.",
        epilog="examples:\n  cutover report\n  cutover report --route tasks --format html "
        "--output report.html\n  cutover report --route tasks --migration tasks-20261206-094722",
    )
    report.add_argument("--route", default=None, help="one route (default: all routes merged)")
    report.add_argument("--format", choices=FORMATS, default="table", help="output format")
    report.add_argument("--output", default=None, metavar="FILE", help="write here, not stdout")
    report.add_argument(
        "--since",
        default=None,
        metavar="WHEN",
        help="history from here: a duration back (90s, 10m, 2h, 1d) or an ISO time "
        "(default: the route's latest migration start)",
    )
    report.add_argument(
        "--migration",
        default=None,
        metavar="ID",
        help="one past or current migration by id (cutover history lists them; needs --route)",
    )
    _admin_flags(report)
    report.set_defaults(func=_report)
