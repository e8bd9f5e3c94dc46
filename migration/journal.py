"""A local write-ahead journal of the writes the state store refused, so they survive a crash.

:class:`~migration.buffered_store.BufferedStore` keeps a refused write in memory and retries it
every tick; only lowering decisions (a rollback, a pause, an operator's lower weight) and their
events are ever buffered, because promotions use ``commit_now``. Without this journal a gateway
killed (``kill -9``, OOM) while the store was down lost them, and its successor read the store's
*older, higher* weight and served the candidate again: the unsafe direction (README, Known limits).

The file is JSON lines: a header ``{"journal": 1, "store": ..., "epoch": ...}`` then one line per
buffered write (``commit`` or ``weight``, with its events), each ``fsync``'ed before the append
returns. It is removed once every buffered write is in the store. Decisions it pins:

* **Last writer wins for state, events keep their identity.** Replaying the lines in order gives the
  latest state per route; an event is identified by its route, time and kind, so a journal
  replayed twice (a crash after the store took the writes but before the file was removed) never
  records an event twice — :class:`BufferedStore` drops the ones the store already has.
* **Same store only.** The header names the store (as the snapshot cache does,
  :func:`~migration.cluster.follower.has_snapshot_of`); a journal of another store is moved aside
  (``*.ignored``), never replayed into this one.
* **The journal never blocks the safe weight.** The controller applies the weight before it writes;
  a journal append that fails (disk full, read-only) is counted and logged once, and the decision
  stays in memory as it did before the journal existed.
* **A torn last line is skipped.** A crash mid-append leaves a partial line: it is skipped with a
  warning, the rest is replayed. A journal that cannot be read at all stops start-up naming the
  file (the runtime turns :class:`JournalError` into a ``migration.journal`` config error):
  starting without it could serve the higher weight it exists to prevent.
* **Compaction.** Each tick of an outage may append a line per route; after
  :data:`COMPACT_EVERY` appends the file is rewritten (atomically) from what is still pending.

The same class keeps a cluster member's fail-static changes in a sibling file
(:mod:`migration.cluster.local_journal`, entries ``local``): ``ops`` names the entries a file may
hold, and :class:`JournalMetrics` lets both files share one pending gauge and one error counter.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from migration.state import Event, MigrationState, Snapshot

__all__ = [
    "COMPACT_EVERY",
    "Journal",
    "JournalError",
    "JournalMetrics",
    "Replay",
    "commit_entry",
    "entry_events",
    "weight_entry",
]

log = structlog.get_logger("cutover.migration")

#: Appends between two rewrites of the journal from the pending writes.
COMPACT_EVERY = 500
VERSION = 1


class JournalError(Exception):
    """The journal exists but cannot be read (its path is in the message)."""


@dataclass(frozen=True)
class Replay:
    """What a journal held: its entries in order, the fence epoch it was written under, and how
    many lines were skipped as torn or corrupt."""

    entries: tuple[dict[str, Any], ...]
    epoch: int = 0
    skipped: int = 0


class JournalMetrics:
    """The journals' metrics, shared by every journal file of a process: the pending gauge sums
    them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.journals: list[Journal] = []
        self.pending = Gauge(
            "cutover_state_journal_pending",
            "Writes held in the local journals, buffered store writes and a cluster member's "
            "fail-static changes (0: nothing to replay)",
            registry=registry,
        )
        self.errors = Counter(
            "cutover_state_journal_errors",
            "Journal appends or removals that failed (the decision stayed in memory only)",
            registry=registry,
        )

    def export(self) -> None:
        """Set the gauge from every journal's pending entries."""
        self.pending.set(sum(j.pending for j in self.journals))


class Journal:
    """One journal file for one store (``store_id``, redacted URL or resolved SQLite path)."""

    def __init__(
        self,
        path: Path,
        store_id: str,
        *,
        epoch: Callable[[], int] = lambda: 0,
        registry: CollectorRegistry | None = None,
        metrics: JournalMetrics | None = None,
        ops: tuple[str, ...] = ("commit", "weight"),
    ) -> None:
        """``epoch``: the lease epoch the writes are made under (a cluster leader's fence);
        ``metrics`` (or a fresh one in ``registry``); ``ops``: the entries this file may hold."""
        self.path = path
        self.store_id = store_id
        self.epoch_now = epoch
        self.ops = ops
        self.epoch = 0  # the epoch of the journal read back at start-up
        self.pending = 0  # entries in the file now
        self.errors = 0
        self._appends = 0
        self._complained = False
        self._gap = False  # an append failed: the file misses a write until it is rewritten
        if metrics is None and registry is not None:
            metrics = JournalMetrics(registry)
        self.metrics = metrics
        if metrics is not None:
            metrics.journals.append(self)

    # -- writing ----------------------------------------------------------------------------------

    def append(self, entry: dict[str, Any], current: Iterable[dict[str, Any]] = ()) -> bool:
        """Append ``entry`` durably; False (counted, logged once) when the disk refuses.

        ``current`` yields every pending write as entries (``entry`` included); it is read only to
        rewrite the file: to compact it, or to fill the gap an earlier failed append left.
        """
        try:
            if self._gap or self._appends >= COMPACT_EVERY:
                self._rewrite(current)
                self._gap = False
                log.info("journal_compacted", path=str(self.path), entries=self.pending)
            else:
                self._append_lines([entry], header=self.pending == 0)
                self.pending += 1
            self._appends += 1
        except OSError as exc:
            self._gap = True
            self._failed("append", exc)
            return False
        self._complained = False
        self._export()
        return True

    def replace(self, entries: list[dict[str, Any]]) -> None:
        """Rewrite the file with ``entries`` only (remove it when there are none); never raises."""
        if not entries:
            self.clear()
            return
        try:
            self._rewrite(entries)
        except OSError as exc:
            self._gap = True
            self._failed("rewrite", exc)
            return
        self._gap = False
        self._export()

    def clear(self) -> None:
        """Remove the file: every write it held is in the store."""
        if self.pending == 0 and not self.path.exists():
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            self._failed("remove", exc)
            return
        self.pending = self._appends = 0
        self._gap = False
        self._export()

    def _header(self) -> dict[str, Any]:
        return {"journal": VERSION, "store": self.store_id, "epoch": self.epoch_now()}

    def _append_lines(self, entries: list[dict[str, Any]], *, header: bool) -> None:
        lines = ([self._header()] if header else []) + entries
        data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in lines).encode()
        if header:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if header else 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _rewrite(self, current: Iterable[dict[str, Any]]) -> None:
        entries = list(current)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for e in [self._header(), *entries]:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.pending, self._appends = len(entries), 0

    def _failed(self, what: str, exc: OSError) -> None:
        self.errors += 1
        if self.metrics is not None:
            self.metrics.errors.inc()
        if not self._complained:  # once per run of failures: every tick of a full disk would log
            self._complained = True
            log.error(
                "journal_write_failed",
                action=what,
                path=str(self.path),
                error=exc.strerror or str(exc),
            )

    def _export(self) -> None:
        if self.metrics is not None:
            self.metrics.export()

    # -- reading ----------------------------------------------------------------------------------

    def read(self) -> Replay:
        """The journal's entries (empty when there is none, or it belongs to another store)."""
        try:
            text = self.path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return Replay(())
        except OSError as exc:
            raise JournalError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        lines = [line for line in text.split("\n") if line.strip()]
        parsed, skipped = list(_parse(lines)), 0
        header = parsed[0] if parsed and parsed[0] is not None else None
        if header is None or header.get("journal") != VERSION:
            self._set_aside("no header")
            return Replay((), skipped=len(lines))
        if header.get("store") != self.store_id:
            self._set_aside(f"of store {header.get('store')!r}")
            return Replay(())
        entries = []
        for number, entry in enumerate(parsed[1:], start=2):
            if entry is None or entry.get("op") not in self.ops:
                skipped += 1
                log.warning("journal_line_skipped", path=str(self.path), line=number)
                continue
            entries.append(entry)
        self.pending, self.epoch = len(entries), int(header.get("epoch") or 0)
        self._gap = bool(entries)  # the next append rewrites the file under the current epoch
        self._export()
        return Replay(tuple(entries), self.epoch, skipped)

    def _set_aside(self, why: str) -> None:
        aside = self.path.with_name(self.path.name + ".ignored")
        log.warning("journal_not_replayed", path=str(self.path), moved_to=str(aside), why=why)
        with contextlib.suppress(OSError):
            os.replace(self.path, aside)


def _parse(lines: list[str]) -> Iterator[dict[str, Any] | None]:
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            yield None
            continue
        yield value if isinstance(value, dict) else None


def commit_entry(
    state: MigrationState, events: Iterable[Event], snapshot: Snapshot | None
) -> dict[str, Any]:
    """The line of a buffered ``commit``."""
    return {
        "op": "commit",
        "route": state.route,
        "state": state.to_dict(),
        "events": [e.to_dict() for e in events],
        "snapshot": None if snapshot is None else snapshot.to_dict(),
    }


def weight_entry(route: str, weight_bps: int, events: Iterable[Event]) -> dict[str, Any]:
    """The line of a buffered ``save_weight``."""
    return {
        "op": "weight",
        "route": route,
        "weight_bps": weight_bps,
        "events": [e.to_dict() for e in events],
    }


def entry_events(entry: dict[str, Any]) -> list[Event]:
    """The events of a journal line."""
    return [Event.from_dict(e) for e in entry.get("events") or ()]
