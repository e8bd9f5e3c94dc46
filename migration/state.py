"""The migration's persistent values: state per route, events, and per-evaluation snapshots.

All frozen and JSON-round-trippable, so any store (SQLite now, Redis later) only moves dicts.

Hold time across pauses and restarts (a decision the issue left to us): a step's hold counts
wall-clock seconds while the migration is *running* — pauses and gates do not count. The running
segment's start (``running_since``) is persisted, so a restart does not reset the hold; the time the
gateway was *down* does not count either, because nothing observed the candidate then:
:meth:`~migration.controller.MigrationController.recover` closes the stored segment at the state's
last commit (at most one interval before the crash) and opens a new one. Promotion also needs the
step's minimum number of candidate requests and windows with enough samples, which start empty
after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from migration.plan import Plan, Step

__all__ = ["PHASE_CODES", "Event", "MigrationState", "Phase", "SavedEvidence", "Snapshot"]


class Phase(StrEnum):
    """Lifecycle of one route's migration."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    AWAITING_GATE = "awaiting_gate"
    ROLLED_BACK = "rolled_back"
    COMPLETED = "completed"
    ABORTED = "aborted"

    @property
    def finished(self) -> bool:
        """True when only an operator's new ``start`` moves it again."""
        return self in (Phase.COMPLETED, Phase.ABORTED)

    @property
    def active(self) -> bool:
        """True while a plan is under way (another ``start`` must abort it first)."""
        return self in (Phase.RUNNING, Phase.PAUSED, Phase.AWAITING_GATE)


#: Numeric codes exported as ``cutover_migration_phase`` (stable; append only).
PHASE_CODES: Mapping[Phase, int] = {
    Phase.PENDING: 0,
    Phase.RUNNING: 1,
    Phase.PAUSED: 2,
    Phase.AWAITING_GATE: 3,
    Phase.ROLLED_BACK: 4,
    Phase.COMPLETED: 5,
    Phase.ABORTED: 6,
}


@dataclass(frozen=True)
class MigrationState:
    """Where one route's migration stands."""

    route: str
    plan: Plan
    phase: Phase
    step_index: int
    weight_bps: int
    step_started_at: float
    held_before_s: float = 0.0
    running_since: float | None = None
    step_requests: int = 0
    consecutive_failures: int = 0
    last_decision: str = ""
    updated_at: float = 0.0
    #: Which migration of the route this is (:func:`migration.history.migration_id`; "" in rows
    #: stored before ids existed).
    migration_id: str = ""
    #: Analysis only (issue #15): verdicts and transitions are recorded, weights never changed;
    #: ``weight_bps`` is then the plan's would-be weight, the live one stays the operator's.
    dry_run: bool = False

    @property
    def step(self) -> Step:
        """The current step of the plan."""
        return self.plan.steps[self.step_index]

    def held_s(self, now: float) -> float:
        """Seconds the current step has been held while running."""
        running = 0.0 if self.running_since is None else max(0.0, now - self.running_since)
        return self.held_before_s + running

    def with_(self, **changes: Any) -> MigrationState:
        """A copy with ``changes`` (``dataclasses.replace``)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["plan"] = self.plan.to_dict()
        data["phase"] = self.phase.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MigrationState:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        values["plan"] = Plan.from_dict(values["plan"])
        values["phase"] = Phase(values["phase"])
        return cls(**values)


@dataclass(frozen=True)
class Event:
    """One decision or operator action, with the reasons and numbers that caused it."""

    route: str
    at: float
    kind: str
    phase: Phase
    step_index: int
    weight_bps: int
    reasons: tuple[str, ...] = ()
    numbers: Mapping[str, Any] = field(default_factory=dict)
    #: The migration the event belongs to ("" for a route without one, e.g. a manual weight).
    migration_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "route": self.route,
            "at": self.at,
            "kind": self.kind,
            "phase": self.phase.value,
            "step_index": self.step_index,
            "weight_bps": self.weight_bps,
            "reasons": list(self.reasons),
            "numbers": dict(self.numbers),
            "migration_id": self.migration_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Event:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data["route"]),
            float(data["at"]),
            str(data["kind"]),
            Phase(data["phase"]),
            int(data["step_index"]),
            int(data["weight_bps"]),
            tuple(data.get("reasons", ())),
            dict(data.get("numbers", {})),
            str(data.get("migration_id", "")),
        )


@dataclass(frozen=True)
class Snapshot:
    """One evaluation: its headline numbers for the report's charts, and why it decided what it did.

    Every evaluation writes one (kept in a bounded ring), while an :class:`Event` is written only
    when the decision changes, so the newest snapshot is what ``cutover status`` and
    ``GET /migration`` show as the current "why" (issue #14). ``reasons`` are the verdict's;
    ``checks`` holds, per check name, whatever numbers the controller passes (``status``,
    ``candidate``, ``baseline``, ``threshold``, ``samples``, ``p_value``): opaque JSON here, so the
    analysis may add a number without a schema change. Both default to empty, so rows written
    before they existed still load.
    """

    route: str
    at: float
    weight_bps: int
    decision: str
    baseline_p95: float | None = None
    candidate_p95: float | None = None
    baseline_error_rate: float | None = None
    candidate_error_rate: float | None = None
    baseline_requests: int = 0
    candidate_requests: int = 0
    reasons: tuple[str, ...] = ()
    checks: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``reasons`` a list, ``checks`` a plain dict)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["reasons"] = list(self.reasons)
        data["checks"] = dict(self.checks)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """Inverse of :meth:`to_dict`; a row without ``reasons``/``checks`` (older) loads too."""
        values = dict(data)
        values["reasons"] = tuple(values.get("reasons", ()))
        values["checks"] = dict(values.get("checks", {}))
        return cls(**values)


@dataclass(frozen=True)
class SavedEvidence:
    """A route's step evidence as last saved (:mod:`migration.evidence_saver`).

    ``step`` names the step instance it belongs to (:func:`migration.evidence_saver.step_key`);
    ``payload`` is the JSON of the route's and its operations' evidence; ``saved_at`` the saving
    controller's clock. One row per route: the next save of any step replaces it.
    """

    route: str
    step: str
    payload: str
    saved_at: float
