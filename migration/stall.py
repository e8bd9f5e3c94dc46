"""The progress deadline: when a step that cannot decide says so (issue #14).

A step's running time (the hold clock: pauses and gates do not count) past ``Step.deadline_s``
with the analysis still holding is *stalled*. The controller records one ``stalled`` event per
episode with the reasons below, sets the ``stalled`` condition (``cutover_migration_condition``,
which the ``MigrationStalled`` alert watches), and does what the plan's ``on_stall`` says. The
reasons name what is missing and, where the analysis can tell (the non-inferiority checks'
"about N more candidate samples"), the time that traffic takes at the step's rate so far.
"""

from __future__ import annotations

import re

from migration.state import MigrationState
from migration.verdict import Decision, Verdict

__all__ = ["is_stalled", "stall_reasons"]

_MORE = re.compile(r"about ([0-9,]+) more candidate samples")


def is_stalled(state: MigrationState, verdict: Verdict, now: float) -> bool:
    """Whether ``state``'s step has run past its deadline without a decision."""
    undecided = verdict.decision in (Decision.HOLD, Decision.INCONCLUSIVE)
    return (
        undecided and state.running_since is not None and state.held_s(now) >= state.step.deadline_s
    )


def stall_reasons(
    state: MigrationState, verdict: Verdict, now: float, candidate_rps: float
) -> tuple[str, ...]:
    """Why the step is stalled: its age and deadline, each reason, and the traffic it needs."""
    step = state.step
    head = (
        f"step {state.step_index + 1} ({step.describe()}) "
        f"undecided after {state.held_s(now):.0f} s "
        f"(deadline {step.deadline_s:g} s); on_stall: {state.plan.on_stall}"
    )
    lines = [head]
    for reason in verdict.reasons:
        match = _MORE.search(reason)
        if match and candidate_rps > 0:
            more = int(match.group(1).replace(",", ""))
            reason += (
                f" (~{more / candidate_rps:.0f} s at the step's "
                f"{candidate_rps:.2f} candidate req/s)"
            )
        elif match:
            reason += " (no candidate traffic this step)"
        lines.append(reason)
    return tuple(lines)
