"""The route's current "why", in the phase's own words (issue #15 item 2).

One pure function, :func:`current_why`, used by ``GET /migration`` (and so by ``cutover status``
and the report), so no reader puts an evaluation's verdict beside a phase it contradicts.

Which text explains a phase:

- ``running``: the newest evaluation (written every interval, issue #14), unless an operator's
  action is newer than it (then that action, e.g. "resumed by admin:…: …"); without an evaluation
  (or one stored before reasons were) the newest decision event.
- ``awaiting_gate``: "waiting for an operator to promote to 50%", with the newest evaluation's
  reasons (analysis keeps running at a gate).
- ``rolled_back``, ``completed``, ``aborted``, ``paused``: the event that put the route there, in
  that phase's wording — "rolled back: latency_limit …", "rolled back: manual rollback by …",
  "aborted: aborted by …: …", "paused: weight set by hand …". An older evaluation's "hold: …" is
  history then, not the why; a rolled-back route still at a step-down weight is evaluated again,
  and a newer *rollback* verdict is appended.

A stale evaluation (the controller stopped evaluating a route it should) is flagged by the readers
with the ``latest`` view's ``stale``/``age_s``, whichever text is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from migration.state import Event, MigrationState, Phase, Snapshot

__all__ = ["PHASE_WORDS", "current_why"]

#: The heading of each phase whose why is the event that entered it, and those events' kinds.
PHASE_WORDS: dict[Phase, tuple[str, tuple[str, ...]]] = {
    Phase.ROLLED_BACK: ("rolled back", ("rolled_back",)),
    Phase.COMPLETED: ("completed", ("completed",)),
    Phase.ABORTED: ("aborted", ("aborted",)),
    Phase.PAUSED: ("paused", ("paused", "overridden")),
}

#: Events an operator's hand writes on a running route (their numbers carry ``actor``); the
#: phases they can end in (completed, paused, …) are explained by :data:`PHASE_WORDS` first.
_OPERATOR_KINDS = frozenset({"promoted", "resumed", "started"})


def _entered(events: Sequence[Event], kinds: tuple[str, ...]) -> Event | None:
    return next((e for e in reversed(events) if e.kind in kinds), None)


def _why(
    head: str, reasons: Sequence[str], decision: str, source: str, at: float | None
) -> dict[str, Any]:
    return {
        "head": head,
        "reasons": list(reasons),
        "decision": decision,
        "source": source,
        "at": at,
        "text": f"{head}: {'; '.join(reasons)}" if reasons else head,
    }


def current_why(
    state: MigrationState | None, events: Sequence[Event], latest: Snapshot | None
) -> dict[str, Any] | None:
    """What explains ``state``'s phase now (``None`` when the route has no migration and no
    manual weight).

    ``events`` are the route's, oldest first; ``latest`` its newest snapshot. The answer has
    ``head`` (the phase's wording or the verdict), ``reasons``, ``decision`` (``rollback`` colours
    red), ``source`` (``evaluation`` or ``event``), ``at`` and the joined ``text``.
    """
    if state is None:  # no migration: a weight an operator set is the only thing to explain
        manual = next((e for e in reversed(events) if e.kind == "weight_set"), None)
        if manual is None:
            return None
        return _why("weight set by hand", manual.reasons, "hold", "event", manual.at)
    if state.phase in PHASE_WORDS:
        head, kinds = PHASE_WORDS[state.phase]
        event = _entered(events, kinds)
        reasons = list(event.reasons) if event is not None else []
        at = event.at if event is not None else state.updated_at
        if (
            state.phase is Phase.ROLLED_BACK
            and latest is not None
            and latest.at > at
            and latest.decision == "rollback"
        ):
            reasons += [f"again at {state.weight_bps / 100:g}%: {r}" for r in latest.reasons]
        decision = "rollback" if state.phase in (Phase.ROLLED_BACK, Phase.ABORTED) else "hold"
        return _why(head, reasons, decision, "event", at)
    operator = next(
        (e for e in reversed(events) if e.kind in _OPERATOR_KINDS and "actor" in e.numbers),
        None,
    )
    if operator is not None and (latest is None or operator.at >= latest.at):
        return _why(operator.kind, operator.reasons, "hold", "event", operator.at)
    if latest is None or not latest.reasons:  # none yet, or a row stored before reasons were
        decided = next((e for e in reversed(events) if e.kind.startswith("decision_")), None)
        if decided is not None:
            verdict = decided.kind.removeprefix("decision_")
            return _why(verdict, decided.reasons, verdict, "event", decided.at)
        if latest is None:
            return _why(state.phase.value, (), "hold", "event", state.updated_at)
    reasons = list(latest.reasons)
    if state.phase is Phase.AWAITING_GATE:
        nxt = state.step_index + 1
        target = state.plan.steps[nxt].describe() if nxt < len(state.plan.steps) else "complete"
        reasons = [r for r in reasons if not r.startswith("gate:")]
        head = f"waiting for an operator to promote to {target}"
        return _why(head, reasons, "hold", "evaluation", latest.at)
    return _why(latest.decision, reasons, latest.decision, "evaluation", latest.at)
