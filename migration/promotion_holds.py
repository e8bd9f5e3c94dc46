"""A promotion the analysis allowed but that must wait: refused by a failing store, or held by the
pre-promotion hook (issue #15).

A promotion the analysis would make on its own first asks the ``gate``
(:class:`~migration.seams.PromotionGate`, the pre-promotion hook), which answers at once: approved,
or a hold (``awaiting_hook``) while its call is pending or after it denied. An operator's
``promote`` (a gate, a forced step) is a human decision and does not ask it; rollbacks never ask
anything. A promotion is also refused (``promotion_refused``, a hold) while the state store is
failing: a promotion whose record could be lost would come back as a lower weight after a restart.

Each function records what it held through the :class:`~migration.recorder.Recorder` and returns
the state committed and the verdict the controller reports: a hold with the analysis' checks.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import structlog

from migration.analysis import Decision, Verdict
from migration.recorder import Recorder
from migration.seams import GateAnswer, PromotionGate
from migration.state import MigrationState, Snapshot

__all__ = ["Held", "ask_gate", "held_by_gate", "refused"]

log = structlog.get_logger("cutover.migration")

#: The state committed for a held promotion, and the hold the controller reports.
Held = tuple[MigrationState, Verdict]


def refused(
    recorder: Recorder,
    state: MigrationState,
    verdict: Verdict,
    numbers: dict[str, Any],
    snapshot: Snapshot,
) -> Held:
    """A promotion the analysis allowed, refused because it could not be recorded."""
    why = f"promotion refused: state store failing ({recorder.store.last_error})"
    reasons = (why, *verdict.reasons)
    changed = state.last_decision != "promotion_refused"
    state = state.with_(last_decision="promotion_refused")
    kind = "decision_hold" if changed else None
    record = replace(snapshot, decision="promotion_refused", reasons=reasons)
    state = recorder.commit(state, kind, reasons, numbers, record)
    held = Verdict(Decision.HOLD, reasons, verdict.checks, 0, False, verdict.baseline_degraded)
    return state, held


def ask_gate(
    gate: PromotionGate | None, recorder: Recorder, state: MigrationState, verdict: Verdict
) -> tuple[MigrationState, GateAnswer]:
    """The promotion gate's answer; a finished call's outcome is recorded as a ``hook`` event.

    A dry run asks nobody: its promotions change no weight, so there is nothing to approve.
    """
    if gate is None or state.dry_run:
        return state, GateAnswer(True)
    try:
        answer = gate.ask(state, verdict.reasons)
    except Exception:  # a broken gate holds the step (the safe side), and says so
        log.exception("promotion gate failed", route=state.route)
        answer = GateAnswer(False, ("pre-promotion hook failed to run; holding",))
    if answer.outcome is not None:
        numbers = {"hook": dict(answer.outcome)}
        state = recorder.commit(state, "hook", answer.reasons, numbers, applied=True)
    return state, answer


def held_by_gate(
    recorder: Recorder,
    state: MigrationState,
    verdict: Verdict,
    answer: GateAnswer,
    numbers: dict[str, Any],
    snapshot: Snapshot,
) -> Held:
    """A promotion the analysis allowed, held by the gate (pending or denied)."""
    reasons = (*answer.reasons, *verdict.reasons)
    changed = state.last_decision != "awaiting_hook"
    state = state.with_(last_decision="awaiting_hook")
    held = replace(snapshot, decision="awaiting_hook", reasons=reasons)
    state = recorder.commit(state, "awaiting_hook" if changed else None, reasons, numbers, held)
    verdict = Verdict(Decision.HOLD, reasons, verdict.checks, 0, False, verdict.baseline_degraded)
    return state, verdict
