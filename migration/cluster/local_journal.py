"""A fail-static member's own lowerings (and faults) survive a crash before the store returns.

While the store is unreachable a member lowers weights on its own (its guard's hard-breach
rollback, an operator's lower weight through its admin API) and keeps them in
:attr:`ConfigFollower.local_changes` / ``local_faults`` until :func:`publish_local_changes` can put
them in the snapshot. Kept in memory only, a ``kill -9`` lost them: the restarted member served its
snapshot cache's *higher* weight. Each such change is now also appended, ``fsync``'ed, to a local
journal; :func:`replay_local_changes` puts them back at start-up, before the listener opens.

Decisions:

* **A sibling file, the same format.** The entries use :class:`~migration.journal.Journal` (header
  naming the store, JSON lines, torn last line skipped, a file of another store set aside) with one
  op, ``local`` (``kind``, ``key``, ``value``, ``why``, ``at``), but in their own file
  (``<journal>-local.jsonl``): the buffered store's journal is removed or rewritten whole from *its*
  pending writes (on a flush, a compaction, a deposed leader's discard), from the controller's
  thread, while these are removed when *they* are published, from the follower's. One file would
  make each owner rewrite the other's lines. The two share the pending gauge and error counter.
* **Last change per key.** The file is rewritten from what is still unpublished (after a publish,
  after a replay, on a compaction), so it holds the latest change per route or backend.
* **Lower only.** A replayed weight is put in force only when it is lower than what the member
  would serve without it (the store's snapshot, else the snapshot cache, else a replayed buffered
  decision); a higher one is dropped, never published: the store or another member lowered further
  since. An equal one is kept so that its event is still recorded.
* **Exactly one event.** A crash after the store took a change but before the file was rewritten
  replays it once more; the publisher skips the ``local_change`` event the store already has
  (matched by route, time and kind, as the buffered store does).
* **One file per process.** A member's file is ``<journal>-local.jsonl``; each ``--workers`` data
  plane (its guard rolls back on its own) has ``<journal>-local-w<i>.jsonl``, named by its slot,
  which the supervisor's restart of that slot reads back. Not by replica name: a pod's name changes
  with each restart, and the file would never be found again.
* **Never in the way.** A failing append (full or read-only disk) is counted and logged once by the
  journal; the change stays in force and in memory, as before the journal existed.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from gateway.faults import FaultSpec
from gateway.state import GatewayState
from migration.cluster.follower import ConfigFollower
from migration.journal import Journal

__all__ = [
    "OP",
    "LocalJournal",
    "journal_hook",
    "local_entry",
    "local_journal_path",
    "replay_local_changes",
]

log = structlog.get_logger("cutover.cluster")

#: The journal op of a fail-static change.
OP = "local"


def local_journal_path(journal: Path, worker: str | None = None) -> Path:
    """The local journal beside ``journal``; ``worker``: a ``--workers`` slot's replica
    (``<replica>/w<i>``), whose slot names the file."""
    if worker is None:
        return journal.with_name(f"{journal.stem}-local{journal.suffix}")
    slot = re.sub(r"[^A-Za-z0-9_-]", "_", worker.rsplit("/", 1)[-1])
    return journal.with_name(f"{journal.stem}-local-{slot}{journal.suffix}")


def local_entry(kind: str, key: str, value: object, why: str, at: float) -> dict[str, Any]:
    """The journal line of a change kept locally (a weight in bps, or a fault spec or None)."""
    data = value.to_data() if isinstance(value, FaultSpec) else value
    return {"op": OP, "kind": kind, "key": key, "value": data, "why": why, "at": at}


class LocalJournal:
    """The follower's journal: appends from the event loop, rewrites from the publisher's thread."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.held: dict[tuple[str, str], dict[str, Any]] = {}  # read back, not yet replayed
        self._lock = threading.Lock()

    def read(self) -> int:
        """Read the file back (once, at start-up, before any append); returns the entries kept."""
        with self._lock:
            replay = self.journal.read()
            for entry in replay.entries:
                self.held[(str(entry.get("kind")), str(entry.get("key")))] = entry
            return len(self.held)

    def record(self, entry: dict[str, Any], follower: ConfigFollower) -> None:
        """Append ``entry`` (never raises: a failure is counted and logged by the journal)."""
        with self._lock:
            self.journal.append(entry, self._current(follower))

    def rewrite(self, follower: ConfigFollower) -> None:
        """Keep only what is still unpublished (the file goes once everything is)."""
        with self._lock:
            self.journal.replace(self._current(follower))

    def _current(self, follower: ConfigFollower) -> list[dict[str, Any]]:
        entries = dict(self.held)
        for route, (bps, why, at) in list(follower.local_changes.items()):
            entries[("weight", route)] = local_entry("weight", route, bps, why, at)
        for backend, spec in list(follower.local_faults.items()):
            old = entries.get(("fault", backend))
            at = float(old["at"]) if old is not None else time.time()
            entries[("fault", backend)] = local_entry("fault", backend, spec, "kept locally", at)
        return list(entries.values())


def replay_local_changes(
    journal: LocalJournal, follower: ConfigFollower, state: GatewayState, actor: str
) -> dict[str, int]:
    """Put the journaled changes back in force and in the follower (start-up, listener closed).

    Call after the snapshot (the store's or the cache's) and the buffered decisions are in force:
    a weight is applied only when lower than the one served. Returns counts for the log line.
    """
    counts = {"weights": 0, "faults": 0, "dropped": 0}
    for (kind, key), entry in sorted(journal.held.items()):
        try:
            applied = _replay(kind, key, entry, follower, state, actor)
        except (KeyError, ValueError, TypeError) as exc:  # a line another version wrote
            log.warning("journal_entry_skipped", path=str(journal.journal.path), error=str(exc))
            applied = False
        counts["weights" if kind == "weight" else "faults"] += applied
        counts["dropped"] += not applied
    if journal.held:
        log.warning(
            "journal_replayed",
            path=str(journal.journal.path),
            local_changes=counts["weights"],
            local_faults=counts["faults"],
            dropped=counts["dropped"],
            routes=sorted(follower.local_changes),
        )
        journal.held.clear()
        journal.rewrite(follower)
    return counts


def _replay(
    kind: str,
    key: str,
    entry: dict[str, Any],
    follower: ConfigFollower,
    state: GatewayState,
    actor: str,
) -> bool:
    why, at = str(entry.get("why") or ""), float(entry["at"])
    if kind == "fault":
        raw = entry["value"]
        spec = None if raw is None else FaultSpec.from_data(raw)
        if state.get_fault(key) != spec:
            state.set_fault(key, spec, actor=actor)
        follower.local_faults[key] = spec
        return True
    bps = int(entry["value"])
    if kind != "weight" or key not in state.route_names or bps > state.get_weight(key):
        log.info("local_change_not_replayed", kind=kind, key=key, weight_bps=bps)
        return False
    if bps < state.get_weight(key):
        state.set_weight(key, bps, actor=actor, reason=f"replayed from the journal: {why}")
    follower.local_changes[key] = (bps, why, at)
    follower.replayed.add(key)
    return True


def journal_hook(
    journal: LocalJournal, follower: ConfigFollower
) -> Callable[[str, str, object, str, float], None]:
    """The follower's ``on_keep``: append each change it keeps locally."""

    def keep(kind: str, key: str, value: object, why: str, at: float) -> None:
        journal.record(local_entry(kind, key, value, why, at), follower)

    return keep
