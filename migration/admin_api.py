"""The migration's endpoints on the gateway admin API: status, plan commands, events and the report.

Installed on the gateway's :class:`~gateway.admin.AdminRouter` by the composition root, after the
:class:`~gateway.server.Gateway` is built (its ``state`` is the controller's weight control)::

    install_migration_routes(gateway.router, controller, metrics,
                             route_weights=gateway.state.get_weights, memory=scraper)

Endpoints (``{route}`` is a gateway route name)::

    GET  /migration                          every route: weight, phase, plan, windows, why
    POST /migration/{route}/start            {"steps": [10, 50, 100] | "10,50,100",
                                              "hold": "60s" | 60, "min_requests": 500,
                                              "gates": [step indexes, 0-based],
                                              "deadline": "30m", "on_stall": "hold" | "rollback",
                                              "dry_run": false, "reason": "..."}
    POST /migration/{route}/promote|pause|resume|rollback|abort     optional {"reason": "..."}
    GET  /migration/events?route=&limit=     event history, newest last
    GET  /migration/history?route=           past and current migrations, newest first
    GET  /migration/report?route=&format=&since=    json (default) | markdown | html | table;
                                              since: 10m, 2h or an ISO time (default: the
                                              route's latest migration start)

Responses: ``GET /migration`` → ``{"window_s", "routes": [view]}``; each action →
``{"action", "reason", "routes": [view], "skipped": [{"route", "detail"}]}`` (the routes it touched,
after the action, and those ``all`` passed over with the controller's word why); a view is::

    {"route", "migration_id": str | null, "dry_run": bool,
     "weight": {"bps", "percent", "planned_bps", "observed_percent", "sticky_keys"},
     "phase": str | null,
     "conditions": ["baseline_degraded" | "candidate_stuck" | "stalled" | "share_mismatch", ...],
     "plan": null | {"steps": [{"index", "label", "weight_bps", "weight_percent", "hold_s",
                                "min_requests", "gate", "deadline_s"}], "on_stall",
                     "step_index", "step_count", "hold_s",
                     "held_s", "min_requests", "step_requests", "gates", "consecutive_failures",
                     "updated_at"},
     "backends": {"baseline"|"candidate": {"samples", "errors", "error_rate", "rps", "p50_ms",
                  "p95_ms", "p99_ms", "contract_violation_rate", "contract_checks"}},
     "shadow": {"comparisons", "mismatches", "mismatch_rate"},
     "latest": null | {"at", "time", "decision", "reasons": [str], "checks": {name: {...}},
                       "age_s", "stale"},
     "last_decision": null | {"decision", "current", <event fields>},
     "why": null | {"head", "reasons", "decision", "source", "at", "text"},
     "calibration": {"steps", "alarms": {check: n}, "rate": {check: n / steps},
                     "budget_per_check"},
     "evidence": {"candidate_requests", "baseline_requests", "seconds", "saved_at",
                  "restored_at", "restored_from", "restored_candidate_requests"}}

``evidence`` is the step's sequential evidence as the controller holds it (the leader's; ``null``
counts on a member that does not lead): ``restored_at`` is set when it was resumed from a save after
a restart or a change of leader, with the save's time (``restored_from``) and the candidate requests
it held, so an operator sees the step did not start over (:mod:`migration.evidence_saver`).

``calibration`` is the live A/A calibration (:mod:`migration.calibration`): in how many of the
steps observed each sequential harm check fired on the baseline against itself.

``latest`` is the newest evaluation (the route's newest snapshot, written every controller
interval): the current why. ``checks`` holds, per check, the numbers the controller recorded
(``status``, ``candidate``, ``baseline``, ``threshold``, ``samples``, ``p_value``); ``age_s`` is its
age on this process's clock, and ``stale`` is true when a route under analysis has had no newer
evaluation for :data:`~migration.admin_views.STALE_INTERVALS` intervals (the controller is dead or
wedged). ``last_decision`` is the newest decision *event*, written only when the decision changes
or an operator promotes or rolls back: history, not the present. In a cluster any replica serves
these views; all read the shared store, so a follower shows the leader's evaluations.

``GET /migration`` also carries ``"state_store": {"ok", "failing_since", "errors",
"pending_routes", "journaled", "last_error", "promotions": "allowed" | "refused"}``
(``journaled``: the buffered writes kept in the local journal, see :mod:`migration.journal`).

``weight.bps`` is the weight in force in the gateway, ``planned_bps`` the controller's. Windows
cover the analysis span (``Policy.window_s``). Events: ``{"events": [{"route", "at", "time" (ISO
UTC), "kind", "phase", "step_index", "weight_bps", "weight_percent", "reasons", "numbers"}]}``.

The POSTs are registered ``mutating=True``, so the admin server demands the admin token and writes
its ``admin_call`` audit line; each action adds a ``migration_action`` line naming the route, the
action, the reason and the resulting phase.

``route`` may be ``all`` unless a route is really named ``all``. ``start all`` starts every gateway
route and is refused as a whole if any of them has an active plan (one plan, all or nothing). Any
other action on ``all`` acts on every route whose migration is in a phase the action applies to and
skips the rest (``skipped`` says why, per route): ``abort all`` ends whatever runs. It is a 409 only
when it applied to none — an operator's "stop everything" should not fail because one route was
already done.

Errors: an unknown route is 404; :class:`~migration.controller.MigrationError` (the action does not
fit the phase) is 409; a bad plan or query value is 422 with ``[{"field", "message"}]`` details, the
same shape as the core admin routes' validation errors. Every action (``start`` included) takes
an optional reason; the controller records it with the actor (``admin:<client address>``) in the
route's event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import structlog

from gateway.admin import AdminError, AdminHandler, AdminRequest, AdminResponse, AdminRouter
from migration.admin_views import STALE_INTERVALS, event_view, route_view, store_view
from migration.controller import MigrationController, MigrationError
from migration.history import MigrationRecord, histories
from migration.memory import MemorySource
from migration.plan import Plan, PlanError, plans_from_config
from migration.report import FORMATS, UnknownMigration, build_report, parse_since, render
from migration.seams import ViewSource
from migration.state import MigrationState, Phase

__all__ = ["ACTIONS", "MigrationAdmin", "install_migration_routes"]

log = structlog.get_logger("gateway.audit")

#: Operator actions besides ``start`` (each is ``POST /migration/{route}/{action}``).
ACTIONS = ("promote", "pause", "resume", "rollback", "abort")
ALL = "all"
MAX_EVENTS = 10_000
#: Events read per route for ``/migration/history``: as many as a store keeps (``max_events``).
MAX_HISTORY = 10_000
MAX_REASON = 500
_ACTIVE = (Phase.RUNNING, Phase.PAUSED, Phase.AWAITING_GATE)
_START_FIELDS = frozenset(
    {"steps", "hold", "min_requests", "gates", "reason", "deadline", "on_stall", "dry_run"}
)
_CONTENT_TYPES = {
    "json": b"application/json",
    "markdown": b"text/markdown; charset=utf-8",
    "html": b"text/html; charset=utf-8",
    "table": b"text/plain; charset=utf-8",
}


def _invalid(field: str, message: str) -> AdminError:
    return AdminError(422, "validation_error", [{"field": field, "message": message}])


def _plan_error(exc: PlanError) -> AdminError:
    """A :class:`PlanError` (``"field: message"``) as a 422 naming the field."""
    field, sep, message = str(exc).partition(": ")
    return _invalid(field, message) if sep else _invalid("steps", str(exc))


class MigrationAdmin:
    """The handlers, over the controller (state, store, policy), the windows and the route table."""

    def __init__(
        self,
        controller: MigrationController,
        metrics: ViewSource,
        route_weights: Callable[[], Mapping[str, int]],
        memory: MemorySource | None = None,
        leader: Callable[[], str | None] | None = None,
        cluster: Callable[[], dict[str, Any]] | None = None,
        sticky_keys: Callable[[str, float], int | None] | None = None,
    ) -> None:
        """``sticky_keys(route, now)``: distinct sticky keys the data path split on (None:
        unknown)."""
        self.controller = controller
        self.sticky_keys = sticky_keys
        self.leader = leader
        self.cluster = cluster
        self.metrics = metrics
        self.route_weights = route_weights
        self.memory = memory

    # -- helpers ----------------------------------------------------------------------------------

    def routes(self) -> list[str]:
        """Gateway routes in config order, then stored routes the gateway no longer has."""
        names = list(self.route_weights())
        stored = sorted(s.route for s in self.controller.store.load_all())
        return names + [r for r in stored if r not in names]

    def _must_lead(self) -> None:
        """A replica that does not hold the lease refuses actions (409 naming the leader, or why
        none)."""
        refusal = self.leader() if self.leader is not None else None
        if refusal is not None:
            raise AdminError(409, "not_leader", refusal)

    def _known(self, route: str) -> str:
        known = self.routes()
        if route not in known:
            raise AdminError(404, "unknown_route", {"route": route, "routes": known})
        return route

    def _view(self, route: str, live: Mapping[str, int]) -> dict[str, Any]:
        c = self.controller
        newest = c.store.snapshots(route, 1)
        view = route_view(
            route,
            live.get(route),
            c.status(route),
            self.metrics,
            c.policy.window_s,
            c.store.events(route, limit=50),
            c.clock(),
            c.conditions(route),
            latest=newest[-1] if newest else None,
            stale_after_s=STALE_INTERVALS * c.interval_s,
        )
        if self.sticky_keys is not None and route in live:
            view["weight"]["sticky_keys"] = self.sticky_keys(route, c.clock())
        return view | {
            "calibration": c.ledger.calibration(route),
            "evidence": c.ledger.view(route),
        }

    # -- handlers ---------------------------------------------------------------------------------

    async def overview(self, _: AdminRequest) -> AdminResponse:
        """``GET /migration``."""
        live = self.route_weights()
        s = self.controller.store
        return AdminResponse.json(
            {
                "window_s": self.controller.policy.window_s,
                "state_store": store_view(
                    s.failing,
                    s.failing_since,
                    s.errors,
                    s.pending,
                    s.last_error,
                    s.journal.pending if s.journal is not None else 0,
                ),
                "routes": [self._view(r, live) for r in self.routes()],
                **({"cluster": self.cluster()} if self.cluster is not None else {}),
            }
        )

    async def start(self, req: AdminRequest) -> AdminResponse:
        """``POST /migration/{route}/start``."""
        target, gateway_routes = req.params["route"], list(self.route_weights())
        if target in gateway_routes:
            routes = [target]
        elif target == ALL and gateway_routes:
            routes = gateway_routes
        else:  # a plan needs a route the gateway can weigh, not only a stored one
            raise AdminError(404, "unknown_route", {"route": target, "routes": gateway_routes})
        data = req.json()
        plan = _parse_start(data, routes[0])
        dry_run = data.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise _invalid("dry_run", "expected true or false")
        reason = _check_reason(data.get("reason"))
        actor = _actor(req)
        self._must_lead()
        busy = [
            f"{r} is {s.phase.value}"
            for r in routes
            if (s := self.controller.status(r)) is not None and s.phase in _ACTIVE
        ]
        if len(routes) > 1 and busy:
            raise AdminError(409, "migration_conflict", f"abort first: {'; '.join(busy)}")
        for route in routes:
            try:
                state = self.controller.start(
                    plan.for_route(route), actor=actor, reason=reason, dry_run=dry_run
                )
            except MigrationError as exc:
                raise AdminError(409, "migration_conflict", str(exc)) from None
            self._audit(req, "start", route, reason, state.phase.value)
        live = self.route_weights()
        views = [self._view(r, live) for r in routes]
        return AdminResponse.json(
            {"action": "start", "reason": reason, "routes": views, "skipped": []}
        )

    def action(self, name: str) -> AdminHandler:
        """The handler of ``POST /migration/{route}/{name}`` (``route`` may be ``all``)."""

        async def handle(req: AdminRequest) -> AdminResponse:
            target = req.params["route"]
            every = target == ALL and target not in self.routes()
            routes = self.routes() if every else [self._known(target)]
            reason = _parse_reason(req)
            self._must_lead()
            done: list[str] = []
            skipped: list[dict[str, str]] = []
            for route in routes:
                try:
                    state = self._act(name, route, _actor(req), reason)
                except MigrationError as exc:
                    if not every:
                        raise AdminError(409, "migration_conflict", str(exc)) from None
                    skipped.append({"route": route, "detail": str(exc)})
                    continue
                self._audit(req, name, route, reason, state.phase.value)
                done.append(route)
            if not done:
                why = "; ".join(s["detail"] for s in skipped) or "no routes"
                raise AdminError(409, "migration_conflict", f"{name} applied to no route: {why}")
            live = self.route_weights()
            views = [self._view(r, live) for r in done]
            return AdminResponse.json(
                {"action": name, "reason": reason, "routes": views, "skipped": skipped}
            )

        return handle

    def _act(self, name: str, route: str, actor: str, reason: str | None) -> MigrationState:
        """One controller action on one route (:class:`MigrationError` when it does not apply)."""
        c = self.controller
        if name == "promote":
            return c.promote(route, reason, actor=actor)
        if name == "rollback":
            return c.rollback(route, reason, actor=actor)
        act = {"pause": c.pause, "resume": c.resume, "abort": c.abort}[name]
        return act(route, actor=actor, reason=reason)

    async def events(self, req: AdminRequest) -> AdminResponse:
        """``GET /migration/events?route=&limit=``."""
        route = req.query.get("route") or None
        if route is not None:
            self._known(route)
        raw = req.query.get("limit", "100")
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):  # int() takes " 5", "5_0", "+5"
            raise _invalid("limit", f"{raw!r} is not a whole number")
        limit = int(raw)
        if not 1 <= limit <= MAX_EVENTS:
            raise _invalid("limit", f"must be within 1..{MAX_EVENTS}, got {limit}")
        # Off the loop: 10,000 events take ~50 ms to read and decode (the proxy shares this loop).
        events = await asyncio.to_thread(self.controller.store.events, route, limit)
        return AdminResponse.json({"events": [event_view(e) for e in events]})

    async def history(self, req: AdminRequest) -> AdminResponse:
        """``GET /migration/history?route=``: every migration the kept events tell, newest first."""
        route = req.query.get("route") or None
        routes = [self._known(route)] if route is not None else self.routes()
        store, now = self.controller.store, self.controller.clock()

        def fold() -> list[MigrationRecord]:  # off the loop, as events
            return [r for name in routes for r in histories(store.events(name, limit=MAX_HISTORY))]

        records = await asyncio.to_thread(fold)
        records.sort(key=lambda r: r.started_at, reverse=True)
        return AdminResponse.json({"migrations": [r.to_dict(now) for r in records]})

    async def report(self, req: AdminRequest) -> AdminResponse:
        """``GET /migration/report?route=&format=&since=&migration=``."""
        route = req.query.get("route") or None
        if route is not None:
            self._known(route)
        fmt = req.query.get("format", "json")
        if fmt not in FORMATS:
            raise _invalid("format", f"must be one of {', '.join(FORMATS)}, got {fmt!r}")
        c = self.controller
        raw_since = req.query.get("since") or None
        try:
            since = None if raw_since is None else parse_since(raw_since, c.clock())
        except ValueError as exc:
            raise _invalid("since", str(exc)) from None
        migration = req.query.get("migration") or None
        if migration is not None and route is None:
            raise _invalid("route", "required with migration (a migration belongs to one route)")
        try:
            report = await build_report(
                self.metrics,
                route=route,
                memory=self.memory,
                store=c.store,
                clock=c.clock,
                calibration=None if route is None else c.ledger.calibration(route),
                since=since,
                migration=migration,
            )
        except UnknownMigration:
            raise AdminError(
                404,
                "unknown_migration",
                f"no migration {migration!r} of route {route!r} in the kept events "
                "(cutover history lists them)",
            ) from None
        body = await asyncio.to_thread(
            render, report, fmt
        )  # charts and tables of a whole migration
        return AdminResponse(200, body.encode(), _CONTENT_TYPES[fmt])

    def _audit(
        self, req: AdminRequest, action: str, route: str, reason: str | None, phase: str
    ) -> None:
        log.info(
            "migration_action",
            action=action,
            route=route,
            reason=reason,
            phase=phase,
            actor=_actor(req),
        )


def _actor(req: AdminRequest) -> str:
    """Who acts: the admin client's address (the token names no person)."""
    return f"admin:{req.client_host}"


def _parse_reason(req: AdminRequest) -> str | None:
    """The optional ``{"reason": str}`` body of an action (an empty body is fine)."""
    if not req.body.strip():
        return None
    data = req.json()
    if data is None:
        return None
    if not isinstance(data, dict):
        raise _invalid("(body)", 'expected a JSON object such as {"reason": "..."}')
    unknown = sorted(set(data) - {"reason"})
    if unknown:
        raise _invalid(unknown[0], "unknown field (only 'reason' is accepted)")
    return _check_reason(data.get("reason"))


def _check_reason(reason: Any) -> str | None:
    """An optional reason: None, or a non-empty string of at most ``MAX_REASON`` characters."""
    if reason is None:
        return None
    if not isinstance(reason, str) or not reason.strip():
        raise _invalid("reason", "must be a non-empty string")
    if len(reason) > MAX_REASON:
        raise _invalid("reason", f"must be at most {MAX_REASON} characters")
    return reason.strip()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_weight(value: Any, field: str) -> None:
    spelled = isinstance(value, str) and (value == "shadow" or value.endswith("%"))
    if not (_is_number(value) or spelled):
        raise _invalid(
            field, f"{value!r} is not a weight: a number (percent 0..100), '25%' or 'shadow'"
        )


def _check_hold(value: Any, field: str) -> None:
    if not (_is_number(value) or isinstance(value, str)):
        raise _invalid(field, f"{value!r} is not a duration: seconds, or a string such as '60s'")


def _check_count(value: Any, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(field, f"{value!r} is not a whole number")


def _check_plan_types(data: Mapping[str, Any]) -> None:
    """JSON types of a start body, strictly: no value is coerced (issue #12).

    ``true`` is not 1 % and ``"50"`` in a list is not 50 %; strings that carry their unit stay
    (``"50%"``, ``"shadow"``, a hold of ``"60s"``, and the CLI's ``"shadow,10,50,100"`` form of
    ``steps``); ``min_requests`` is an integer. Ranges (0..100 %, a hold of at most 30 days, at
    most 10**9 requests) are :mod:`migration.plan`'s, reported as 422 too.
    """
    steps = data.get("steps")
    if isinstance(steps, list):
        for i, item in enumerate(steps):
            where = f"steps[{i}]"
            if isinstance(item, dict):
                if "weight" in item:
                    _check_weight(item["weight"], f"{where}.weight")
                if "hold" in item:
                    _check_hold(item["hold"], f"{where}.hold")
                if "min_requests" in item:
                    _check_count(item["min_requests"], f"{where}.min_requests")
                if "deadline" in item:
                    _check_hold(item["deadline"], f"{where}.deadline")
            else:
                _check_weight(item, where)
    elif not isinstance(steps, str):
        raise _invalid("steps", 'expected a list such as [10, 50, 100] or a string "10,50,100"')
    if "hold" in data:
        _check_hold(data["hold"], "hold")
    if "min_requests" in data:
        _check_count(data["min_requests"], "min_requests")
    if "deadline" in data:
        _check_hold(data["deadline"], "deadline")
    if "on_stall" in data and not isinstance(data["on_stall"], str):
        raise _invalid("on_stall", "expected 'hold' or 'rollback'")


def _parse_start(data: Any, route: str) -> Plan:
    """The start body as a :class:`~migration.plan.Plan` (plan.py's parsers; 422 on any problem)."""
    if not isinstance(data, dict):
        raise _invalid("(body)", 'expected a JSON object such as {"steps": [10, 50, 100]}')
    unknown = sorted(set(data) - _START_FIELDS)
    if unknown:
        raise _invalid(unknown[0], f"unknown field (accepted: {', '.join(sorted(_START_FIELDS))})")
    if "steps" not in data:
        raise _invalid("steps", 'required, e.g. [10, 50, 100] or "shadow,10,50,100"')
    _check_plan_types(data)
    fields = ("steps", "hold", "min_requests", "deadline", "on_stall")
    config = {k: data[k] for k in fields if k in data}
    try:
        (plan,) = plans_from_config({"route": route, **config})
    except PlanError as exc:
        raise _plan_error(exc) from None
    gates = data.get("gates")
    gates = [] if gates is None else gates
    if not isinstance(gates, list):
        raise _invalid("gates", "expected a list of step indexes (0-based)")
    steps = list(plan.steps)
    for i, index in enumerate(gates):
        if isinstance(index, bool) or not isinstance(index, int):
            raise _invalid(f"gates[{i}]", f"{index!r} is not a step index")
        if not 0 <= index < len(steps):
            raise _invalid(f"gates[{i}]", f"step index {index} is outside 0..{len(steps) - 1}")
        steps[index] = replace(steps[index], gate=True)
    return replace(plan, steps=tuple(steps))


def install_migration_routes(
    router: AdminRouter,
    controller: MigrationController,
    metrics: ViewSource,
    *,
    route_weights: Callable[[], Mapping[str, int]],
    memory: MemorySource | None = None,
    leader: Callable[[], str | None] | None = None,
    cluster: Callable[[], dict[str, Any]] | None = None,
    sticky_keys: Callable[[str, float], int | None] | None = None,
) -> MigrationAdmin:
    """Register the migration endpoints on ``router``; returns the handler object (for tests).

    ``route_weights`` is the gateway's live weight table (``GatewayState.get_weights``): its keys
    are the routes an operator may name, its values the weights actually in force. The state
    store, the policy (its window span) and the clock come from ``controller``. ``leader``: in a
    cluster, None when this member may act, else the 409 body naming the leader; ``cluster``: the
    ``cluster`` section of ``GET /migration``; ``sticky_keys``: the data path's distinct keys.
    """
    admin = MigrationAdmin(controller, metrics, route_weights, memory, leader, cluster, sticky_keys)
    router.add("GET", "/migration", admin.overview)
    router.add("GET", "/migration/events", admin.events)
    router.add("GET", "/migration/history", admin.history)
    router.add("GET", "/migration/report", admin.report)
    router.add("POST", "/migration/{route}/start", admin.start, mutating=True)
    for name in ACTIONS:
        router.add("POST", f"/migration/{{route}}/{name}", admin.action(name), mutating=True)
    return admin
