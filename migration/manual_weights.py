"""Manual weights: a weight change made by anybody but the controller (issue #15, item 4).

The gateway reports every weight change (``GatewayState.on_weight_change``; the runtime passes it
to :meth:`ManualWeights.changed`). One made by anybody but the controller is persisted with an
event naming the actor and the reason (``weight_set``); during an active migration it also pauses
the migration (``overridden``), so the plan and the live weight never silently disagree — the
operator resumes (the plan's weight comes back) or aborts.
"""

from __future__ import annotations

from migration.recorder import ACTOR, Recorder
from migration.state import Event, Phase

__all__ = ["ManualWeights"]


class ManualWeights:
    """Records the weight changes the controller did not make, pausing an active migration."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def changed(
        self, route: str, old_bps: int, new_bps: int, actor: str, reason: str | None
    ) -> None:
        """The gateway's report of a weight change (``GatewayState.on_weight_change``).

        The controller's own changes are ignored; any other is persisted with an event naming
        the actor and the reason, and an active migration is paused (``overridden``). The weight
        is already in force, so this never changes it; a store failure buffers the record.
        """
        if actor == ACTOR or old_bps == new_bps:
            return  # its own change, or one that changed nothing
        now = self.recorder.clock()
        why = (
            f"weight {old_bps / 100:g}% -> {new_bps / 100:g}% set by {actor}",
            f"reason: {reason}" if reason else "no reason given",
        )
        numbers = {"actor": actor, "reason": reason, "old_bps": old_bps, "new_bps": new_bps}
        state = self.recorder.store.load(route)
        if state is None or state.dry_run:  # a dry run leaves the weight to the operator
            ident = "" if state is None else state.migration_id
            phase = Phase.PENDING if state is None else state.phase
            event = Event(route, now, "weight_set", phase, 0, new_bps, why, numbers, ident)
            self.recorder.store.save_weight(route, new_bps, (event,))
            self.recorder.emit((event,), None)
        elif state.phase.active:
            paused = state.with_(
                phase=Phase.PAUSED,
                weight_bps=new_bps,
                held_before_s=state.held_s(now),
                running_since=None,
            )
            note = (*why, "migration paused: resume re-applies the plan's weight, or abort")
            self.recorder.commit(paused, "overridden", note, numbers, applied=True)
        else:
            self.recorder.commit(
                state.with_(weight_bps=new_bps), "weight_set", why, numbers, applied=True
            )
