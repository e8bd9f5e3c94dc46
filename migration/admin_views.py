"""The JSON views of the migration admin API: a route's weights, plan, windows and its "why".

Pure functions of the controller's state, the windows, the event history and the newest snapshot,
kept apart from the handlers in :mod:`migration.admin_api` (which document the shapes) so both
stay small.

Two answers to "why": ``last_decision`` is the newest decision *event*, written only when the
decision changes, so it can say "too few samples" long after the real reason moved on;
``latest`` is the newest *evaluation* (its snapshot, written every interval), always current —
unless the controller stopped evaluating, which ``stale`` makes visible (issue #14). ``why`` is what
readers show: the phase's own wording (:mod:`migration.why`, issue #15 item 2).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from migration.seams import BACKENDS, ViewSource
from migration.state import Event, MigrationState, Phase, Snapshot
from migration.why import current_why

__all__ = ["STALE_INTERVALS", "event_view", "latest_view", "route_view"]

#: An evaluation older than this many controller intervals is ``stale``: the controller should have
#: written a newer one (a dead or wedged controller, or a leader that lost the store).
STALE_INTERVALS = 3

#: Event kinds that carry a rollout decision (``decision_*`` too); the others are bookkeeping.
_DECISION_KINDS = {
    "promoted": "promote",
    "completed": "promote",
    "awaiting_gate": "promote",
    "rolled_back": "rollback",
}


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def event_view(event: Event) -> dict[str, Any]:
    """An event as JSON, with an ISO time and the weight in percent beside the raw fields."""
    return event.to_dict() | {"time": _iso(event.at), "weight_percent": event.weight_bps / 100}


def _decision_of(kind: str) -> str | None:
    return (
        kind.removeprefix("decision_")
        if kind.startswith("decision_")
        else _DECISION_KINDS.get(kind)
    )


def _last_decision(state: MigrationState | None, events: Sequence[Event]) -> dict[str, Any] | None:
    """The newest decision event (automatic or an operator's promote/rollback), with its numbers.

    The controller records a decision only when it changes, so ``current`` (the verdict of the last
    evaluation, from the state) may be newer than the event that explains it.
    """
    for event in reversed(events):
        decision = _decision_of(event.kind)
        if decision is not None:
            current = (state.last_decision or None) if state is not None else None
            return {"decision": decision, "current": current} | event_view(event)
    return None


def _evaluated(state: MigrationState | None) -> bool:
    """Whether the controller evaluates this route every interval (so a snapshot is due).

    Running and gate-waiting routes are; a route rolled back to a step above 0 % (``step_down``)
    is watched too. Paused, finished and fully rolled-back routes are not: their newest evaluation
    is old by design, not stale.
    """
    if state is None:
        return False
    if state.phase is Phase.ROLLED_BACK:
        return state.weight_bps > 0
    return state.phase in (Phase.RUNNING, Phase.AWAITING_GATE)


def latest_view(
    snapshot: Snapshot | None, state: MigrationState | None, now: float, stale_after_s: float
) -> dict[str, Any] | None:
    """The newest evaluation as JSON: its decision, reasons, per-check numbers and age.

    ``age_s`` is measured on the serving process's clock (never negative: a replica's clock may
    trail the leader's a little); ``stale`` is true when the route is under analysis and the
    evaluation is older than ``stale_after_s``.
    """
    if snapshot is None:
        return None
    age = max(0.0, now - snapshot.at)
    return {
        "at": snapshot.at,
        "time": _iso(snapshot.at),
        "decision": snapshot.decision,
        "reasons": list(snapshot.reasons),
        "checks": dict(snapshot.checks),
        "age_s": round(age, 3),
        "stale": _evaluated(state) and age > stale_after_s,
    }


def _plan_view(state: MigrationState, now: float) -> dict[str, Any]:
    steps = state.plan.steps
    return {
        "steps": [
            {
                "index": i,
                "label": s.describe(),
                "weight_bps": s.weight_bps,
                "weight_percent": s.weight_bps / 100,
                "hold_s": s.hold_s,
                "min_requests": s.min_requests,
                "gate": s.gate,
                "deadline_s": s.deadline_s,
            }
            for i, s in enumerate(steps)
        ],
        "on_stall": state.plan.on_stall,
        "step_index": state.step_index,
        "step_count": len(steps),
        "hold_s": state.step.hold_s,
        "held_s": round(state.held_s(now), 3),
        "min_requests": state.step.min_requests,
        "step_requests": state.step_requests,
        "gates": [i for i, s in enumerate(steps) if s.gate],
        "consecutive_failures": state.consecutive_failures,
        "updated_at": state.updated_at,
    }


def store_view(
    failing: bool,
    since: float | None,
    errors: int,
    pending: int,
    error: str,
    journaled: int = 0,
) -> dict[str, Any]:
    """The state store's health for ``GET /migration`` (``failing``: promotions are refused;
    ``journaled``: buffered writes kept in the local journal, which survive a crash)."""
    return {
        "ok": not failing,
        "failing_since": None if since is None else _iso(since),
        "errors": errors,
        "pending_routes": pending,
        "journaled": journaled,
        "last_error": error or None,
        "promotions": "refused" if failing else "allowed",
    }


def route_view(
    route: str,
    live_bps: int | None,
    state: MigrationState | None,
    metrics: ViewSource,
    span_s: float,
    events: Sequence[Event],
    now: float,
    conditions: Sequence[str] = (),
    latest: Snapshot | None = None,
    stale_after_s: float = 15.0,
) -> dict[str, Any]:
    """One route of ``GET /migration``: weights, phase, plan, windows, rates, the why.

    ``conditions`` are what currently holds the route (``baseline_degraded``: the comparison is
    invalid; ``candidate_stuck``: candidate attempts in flight past the latency limit). ``latest``
    is the route's newest snapshot (see :func:`latest_view`); ``stale_after_s`` is
    :data:`STALE_INTERVALS` controller intervals (15 s at the default 5 s).
    """
    bps = live_bps if live_bps is not None else (state.weight_bps if state else 0)
    backends = {}
    for backend in BACKENDS:
        w = metrics.window(route, backend, span_s)
        contract = metrics.contract(route, backend, span_s)
        backends[backend] = {
            "samples": w.requests,
            "errors": w.errors,
            "error_rate": w.error_rate,
            "rps": round(w.throughput, 3),
            "p50_ms": _ms(w.p(0.5)),
            "p95_ms": _ms(w.p(0.95)),
            "p99_ms": _ms(w.p(0.99)),
            "contract_violation_rate": contract.rate,
            "contract_checks": contract.events,
        }
    shadow = metrics.shadow(route, span_s)
    base_n, cand_n = (int(backends[b]["samples"] or 0) for b in BACKENDS)
    observed = None if base_n + cand_n == 0 else round(100 * cand_n / (base_n + cand_n), 2)
    return {
        "route": route,
        "migration_id": (state.migration_id or None) if state is not None else None,
        "dry_run": state is not None and state.dry_run,
        "weight": {
            "bps": bps,
            "percent": bps / 100,
            "planned_bps": None if state is None else state.weight_bps,
            # The candidate's share of the window's upstream attempts (a fallback counts on both
            # sides): the traffic the weight really moved (issue #15 item 1).
            "observed_percent": observed,
            "sticky_keys": None,  # filled in by the admin API when the data path is local
        },
        "phase": None if state is None else state.phase.value,
        "conditions": list(conditions),
        "plan": None if state is None else _plan_view(state, now),
        "backends": backends,
        "shadow": {
            "comparisons": shadow.events,
            "mismatches": shadow.bad,
            "mismatch_rate": shadow.rate,
        },
        "latest": latest_view(latest, state, now, stale_after_s),
        "last_decision": _last_decision(state, events),
        "why": current_why(state, events, latest),
    }
