"""Saving a step's sequential evidence, and finding it again after a restart.

The controller keeps each route's :class:`~migration.step_evidence.StepEvidence` (the route's and
its operations') in memory; a gateway killed or redeployed, or a new cluster leader, used to start
every step's evidence afresh, which on a thin route (2 candidate requests/s) cost the step minutes
per restart. :class:`EvidenceSaver` writes it to the state store (``step_evidence``, one row per
route) and reads it back; why evidence with a gap is still valid evidence is argued in
:mod:`migration.step_evidence`.

* **Which step.** A row is keyed by the route and names its step instance (:func:`step_key`: the
  migration's id, the step's index and when it was entered). A row of another step (an earlier
  one, another migration of the route) is ignored, and the next save replaces it.
* **When.** At most every ``every_s`` (5 s by default) and at a clean shutdown, after the
  evaluation's decisions: a save never delays a decision, least of all a rollback. A save costs a
  serialisation and one upsert of 35-130 KB per route with five operations, 1-4 ms (measured on
  the bench traffic, README "A restart keeps the step's evidence").
* **Failure.** A failing or slow store costs the evidence since the last save, nothing else: a
  failed save is counted (``cutover_step_evidence_save_errors_total``) and logged once per
  outage, never buffered or retried (the next save supersedes it), and ends that round of
  saves, so a hung store (PostgreSQL's 0.25 s call deadline, SQLite's 50 ms busy timeout) costs
  the loop one deadline per ``every_s``, not one per route. While the state store is known to be
  failing the controller skips the saves altogether. A row that cannot be read back
  (another format, a broken payload) is logged and the step starts afresh, as before.
* **Fenced.** On a cluster a save is fenced like every controller write: a deposed leader cannot
  overwrite what the new leader saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog

from migration.cluster.seams import FencedOut
from migration.decision_metrics import DecisionMetrics
from migration.operations import op_key
from migration.seams import Clock
from migration.state import MigrationState, SavedEvidence
from migration.step_evidence import StepEvidence
from migration.store import StateStore

__all__ = ["PAYLOAD_VERSION", "EvidenceSaver", "Restored", "decode", "encode", "step_key"]

log = structlog.get_logger("cutover.migration")

#: The version of a saved row's payload; a row of another version is not restored.
PAYLOAD_VERSION = 1


def step_key(state: MigrationState) -> str:
    """The step instance ``state`` is on: its migration, its step's index and entry time.

    Entering a step (a promotion, a retry after a rollback, a new migration) changes the key, so
    evidence is only ever restored into the step that gathered it.
    """
    return f"{state.migration_id}#{state.step_index}@{state.step_started_at!r}"


@dataclass(frozen=True)
class Restored:
    """A route's evidence read back from its saved row."""

    #: Per key (the route, ``route/operation``), the evidence as saved.
    evidence: dict[str, StepEvidence]
    #: The harm checks whose A/A pair had fired in the step (:class:`~migration.calibration`).
    aa_fired: tuple[str, ...]
    saved_at: float


def encode(evidence: Mapping[str, StepEvidence], aa_fired: Iterable[str]) -> str:
    """A route's evidence and the step's A/A firings as the row's JSON payload."""
    doc: dict[str, Any] = {
        "v": PAYLOAD_VERSION,
        "evidence": {key: e.to_data() for key, e in sorted(evidence.items())},
        "aa_fired": sorted(aa_fired),
    }
    return orjson.dumps(doc).decode()


def decode(payload: str) -> tuple[dict[str, StepEvidence], tuple[str, ...]]:
    """:func:`encode`'s inverse; :class:`ValueError` for anything else."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"saved step evidence is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("v") != PAYLOAD_VERSION:
        raise ValueError("saved step evidence has another format version")
    evidence, fired = doc.get("evidence"), doc.get("aa_fired")
    if not isinstance(evidence, dict) or not isinstance(fired, list):
        raise ValueError("saved step evidence lacks its evidence or A/A firings")
    restored = {str(key): StepEvidence.from_data(data) for key, data in evidence.items()}
    return restored, tuple(str(check) for check in fired)


class EvidenceSaver:
    """Writes and reads the routes' step evidence rows (see the module docstring)."""

    def __init__(
        self,
        store: StateStore,
        clock: Clock,
        every_s: float = 5.0,
        metrics: DecisionMetrics | None = None,
    ) -> None:
        if every_s <= 0:
            raise ValueError(f"evidence_save_s must be > 0, got {every_s}")
        self.store = store
        self.clock = clock
        self.every_s = every_s
        self.metrics = metrics
        self.errors = 0
        #: Per route, when its evidence was last saved (this process's clock).
        self.saved_at: dict[str, float] = {}
        self._next = 0.0
        self._failing = False

    def due(self) -> bool:
        """True when ``every_s`` has passed since the last round of saves."""
        return self.clock() >= self._next

    def saved(self) -> None:
        """A round of saves was made (or skipped): the next is due ``every_s`` from now."""
        self._next = self.clock() + self.every_s

    def save(
        self, state: MigrationState, evidence: Mapping[str, StepEvidence], aa_fired: Iterable[str]
    ) -> bool:
        """Replace ``state.route``'s row with this evidence; False (counted, logged once per
        outage) when the store refused it. A refused fence is re-raised: the leader was deposed."""
        now = self.clock()
        try:
            payload = encode(evidence, aa_fired)
            self.store.save_evidence(SavedEvidence(state.route, step_key(state), payload, now))
        except FencedOut:
            raise
        except Exception as exc:
            self.errors += 1
            if self.metrics is not None:
                self.metrics.evidence_save_failed()
            if not self._failing:
                self._failing = True
                log.error("step_evidence_save_failed", route=state.route, error=repr(exc))
            return False
        if self._failing:
            self._failing = False
            log.warning("step_evidence_save_recovered", route=state.route, errors=self.errors)
        self.saved_at[state.route] = now
        return True

    def load(self, state: MigrationState) -> Restored | None:
        """The evidence saved for ``state``'s step, or None (none saved, another step's, or a
        row that cannot be read: logged, and the step starts afresh)."""
        route = state.route
        try:
            row = self.store.load_evidence(route)
            if row is None or row.step != step_key(state):
                return None
            evidence, fired = decode(row.payload)
        except Exception as exc:
            log.error("step_evidence_unreadable", route=route, error=repr(exc))
            return None
        prefix = op_key(route, "")
        kept = {k: e for k, e in evidence.items() if k == route or k.startswith(prefix)}
        if route not in kept:
            return None
        return Restored(kept, fired, row.saved_at)
