"""Every data-plane process follows one versioned config snapshot: weights and faults.

The snapshot (:class:`~migration.cluster.seams.ConfigSnapshot`) is the truth of what the data plane
does; the leader's controller and the operators' admin calls change it through
:meth:`ClusterStore.update_config`, and each process applies a version only if it is newer than the
one it has (:meth:`ConfigFollower.apply`), so a late or repeated read never goes backwards.
Sticky routing stays a pure function of the key and the weight, so equal weights mean every replica
sends a key to the same backend.

Fail-static (issue #13, item 6): reads that fail for ``fail_static_after_s`` put the follower in
``fail_static``: nothing is applied (so no weight can rise), the process keeps serving the last
snapshot. Every applied snapshot is also written to a local file (``cache_path``, atomically), read
back at start-up before the store answers, so a replica restarted during an outage serves the same
weights as before it. While fail-static a process may still *lower* a weight on its own
(:mod:`migration.cluster.guard`): such changes are kept in :attr:`ConfigFollower.local_changes` and
published to the store when it returns, which is how the leader records them as events. With a
local journal (:mod:`migration.cluster.local_journal`, via :attr:`ConfigFollower.on_keep`) they
also survive a crash before the store returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

from gateway.config import BACKENDS
from gateway.faults import FaultSpec
from gateway.state import GatewayState, WeightChange
from migration.cluster.seams import ClusterStore, ConfigSnapshot

__all__ = ["ConfigFollower", "fault_data", "has_snapshot_of", "set_fault_in", "set_weight_in"]

log = structlog.get_logger("cutover.cluster")


def has_snapshot_of(path: Path, store_id: str) -> bool:
    """Whether ``path`` holds a snapshot this process kept for the store ``store_id``."""
    try:
        raw = json.loads(path.read_text("utf-8"))
        return bool(raw.get("store") == store_id and int(raw["version"]) > 0)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def set_weight_in(
    data: dict[str, Any], route: str, bps: int, actor: str, reason: str | None
) -> dict[str, Any]:
    """``data`` with ``route``'s weight set (a pure change for ``update_config``)."""
    weights = dict(data.get("weights") or {})
    weights[route] = {"bps": bps, "actor": actor, "reason": reason}
    return {**data, "weights": weights}


def fault_data(spec: FaultSpec | None) -> dict[str, Any] | None:
    """A fault spec as snapshot JSON."""
    return None if spec is None else spec.to_data()


def set_fault_in(data: dict[str, Any], backend: str, spec: FaultSpec | None) -> dict[str, Any]:
    """``data`` with ``backend``'s fault set or cleared."""
    faults = dict(data.get("faults") or {})
    faults[backend] = fault_data(spec)
    return {**data, "faults": faults}


class ConfigFollower:
    """Applies newer config snapshots to one process' gateway state."""

    def __init__(
        self,
        store: ClusterStore,
        state: GatewayState,
        *,
        cache_path: Path | None = None,
        store_id: str = "",
        fail_static_after_s: float = 3.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.state = state
        self.cache_path = cache_path
        self.store_id = store_id  # the cache is only ever read back for the same store
        self.fail_static_after_s = fail_static_after_s
        self._monotonic = monotonic
        self.version = 0
        self.data: dict[str, Any] = {}
        self.synced = False  # the store (or the local file) has been read once
        self.store_up = True
        self.fail_static = False
        self.last_error = ""
        self._failing_since: float | None = None
        #: True while a snapshot is being applied: the state's guard lets these changes through.
        self.applying = False
        #: Weights lowered here while the store was unreachable, to publish when it returns:
        #: route -> (bps, why, wall time of the change).
        self.local_changes: dict[str, tuple[int, str, float]] = {}
        #: Told of every weight a newer snapshot changes (not the publisher's own ``skip``), with
        #: the actor that published it: the leader records them (see ``migration.runtime``).
        self.on_change: Callable[[WeightChange], None] | None = None
        #: Told of the shadow rates a newer snapshot changes (route -> percent).
        self.on_shadow: Callable[[dict[str, float]], None] | None = None
        #: Faults set here while the store was unreachable (same).
        self.local_faults: dict[str, FaultSpec | None] = {}
        #: Told of each change kept locally, ``(kind, key, value, why, at)``: the local journal.
        self.on_keep: Callable[[str, str, object, str, float], None] | None = None
        #: Told once local changes were published (any thread): the journal drops them.
        self.on_published: Callable[[], None] | None = None
        #: Routes whose local change came back from the journal: the store may have its event.
        self.replayed: set[str] = set()

    # -- reading ----------------------------------------------------------------------------------

    def published_weight(self, route: str) -> int | None:
        """``route``'s weight in the newest snapshot this process knows, None if it has none."""
        entry = (self.data.get("weights") or {}).get(route)
        return None if entry is None else int(entry["bps"])

    def load_cache(self) -> bool:
        """Apply the snapshot kept in the local file; False when there is none for this store.

        Only for a start-up the store does not answer: when it answers, its snapshot is the truth
        (a file left by another cluster, or an older run, must never win over it).
        """
        if self.cache_path is None or not self.cache_path.is_file():
            return False
        try:
            raw = json.loads(self.cache_path.read_text("utf-8"))
            snapshot = ConfigSnapshot(int(raw["version"]), dict(raw["data"]))
            store = str(raw.get("store", ""))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("config_cache_unreadable", path=str(self.cache_path), error=str(exc))
            return False
        if store != self.store_id:
            log.warning("config_cache_of_another_store", path=str(self.cache_path), store=store)
            return False
        applied = self.apply(snapshot, persist=False)
        self.synced = True
        log.info("config_cache_loaded", path=str(self.cache_path), version=snapshot.version)
        return applied

    def read(self) -> ConfigSnapshot | None:
        """One read of the store (any thread); failures are recorded, never raised."""
        try:
            snapshot = self.store.read_config()
        except Exception as exc:
            self.failed(exc)
            return None
        self.succeeded()
        self.synced = True
        return snapshot

    def failed(self, exc: BaseException) -> None:
        """A store call failed: after ``fail_static_after_s`` of failures, serve fail-static."""
        now = self._monotonic()
        self.store_up = False
        self.last_error = str(exc)
        if self._failing_since is None:
            self._failing_since = now
            log.warning("state_store_unreachable", error=self.last_error)
        if not self.fail_static and now - self._failing_since >= self.fail_static_after_s:
            self.fail_static = True
            log.error("serving_fail_static", version=self.version, error=self.last_error)

    def succeeded(self) -> None:
        """A store call answered."""
        if self.fail_static:
            log.info("fail_static_ended", version=self.version)
        self.store_up = True
        self.fail_static = False
        self._failing_since = None

    def keep_local(
        self, kind: str, key: str, value: object, why: str, *, journal_soon: bool = False
    ) -> None:
        """Remember a change made here while the store was unreachable (published on its return).

        ``journal_soon``: the caller runs before the change is in force (the state's guard), so on
        an event loop the journal append (an ``fsync``) is left to the loop's next turn, after the
        lower weight applies; the safe direction never waits on the disk.
        """
        at = time.time()
        if kind == "weight":
            assert isinstance(value, int)
            self.local_changes[key] = (value, why, at)
            self.replayed.discard(key)
        else:
            self.local_faults[key] = value if isinstance(value, FaultSpec) else None
        log.warning("change_kept_locally", kind=kind, key=key, why=why)
        if self.on_keep is None:
            return
        try:
            loop = asyncio.get_running_loop() if journal_soon else None
        except RuntimeError:  # no loop (a thread, a test): the caller waits, as before
            loop = None
        if loop is not None:
            loop.call_soon(self._journal, kind, key, value, why, at)
        else:
            self._journal(kind, key, value, why, at)

    def _journal(self, kind: str, key: str, value: object, why: str, at: float) -> None:
        if self.on_keep is None:
            return
        try:
            self.on_keep(kind, key, value, why, at)
        except Exception as exc:  # the change is in force; its journal must not undo that
            log.error("local_journal_failed", kind=kind, key=key, error=repr(exc))

    # -- applying ---------------------------------------------------------------------------------

    def apply(
        self,
        snapshot: ConfigSnapshot | None,
        *,
        skip: tuple[str, str] | None = None,
        persist: bool = True,
    ) -> bool:
        """Put a newer ``snapshot`` in force (event loop thread); False if not newer.

        ``skip`` (kind, key) leaves one entry alone: the change its publisher is applying itself.
        """
        if snapshot is None or snapshot.version <= self.version:
            return False
        self.applying = True
        try:
            self._weights(snapshot.data, skip)
            self._faults(snapshot.data, skip)
        finally:
            self.applying = False
        changes = self._changes(self.data, snapshot.data, skip)
        rates = {
            str(route): float(percent)
            for route, percent in (snapshot.data.get("shadow") or {}).items()
            if (self.data.get("shadow") or {}).get(route) != percent and skip != ("shadow", route)
        }
        self.version, self.data = snapshot.version, snapshot.data
        if persist:
            self._persist(snapshot)
        if rates and self.on_shadow is not None:
            try:
                self.on_shadow(rates)
            except Exception as exc:
                log.error("snapshot_listener_failed", shadow=rates, error=repr(exc))
        for change in changes:
            if self.on_change is not None:
                try:
                    self.on_change(change)
                except Exception as exc:  # a listener must not stop the follower
                    log.error("snapshot_listener_failed", route=change.route, error=repr(exc))
        return True

    def _changes(
        self, old: dict[str, Any], new: dict[str, Any], skip: tuple[str, str] | None
    ) -> list[WeightChange]:
        """The weights ``new`` changes relative to ``old`` (a route new to it: from the local
        one)."""
        before = old.get("weights") or {}
        found = []
        for route, entry in sorted((new.get("weights") or {}).items()):
            if skip == ("weight", route) or route not in self.state.route_names:
                continue
            prior = before.get(route)
            old_bps = int(prior["bps"]) if prior is not None else None
            new_bps = int(entry["bps"])
            if old_bps != new_bps:
                start = self.state.get_weight(route) if old_bps is None else old_bps
                actor = str(entry.get("actor") or "cluster")
                found.append(WeightChange(route, start, new_bps, actor, entry.get("reason")))
        return found

    def _weights(self, data: dict[str, Any], skip: tuple[str, str] | None) -> None:
        for route, entry in (data.get("weights") or {}).items():
            if route not in self.state.route_names or skip == ("weight", route):
                continue
            bps = int(entry["bps"])
            if route in self.local_changes and bps > self.local_changes[route][0]:
                continue  # lowered here while the store was gone: the store learns it first
            if self.state.get_weight(route) != bps:
                self.state.set_weight(
                    route,
                    bps,
                    actor=str(entry.get("actor") or "cluster"),
                    reason=entry.get("reason"),
                )

    def _faults(self, data: dict[str, Any], skip: tuple[str, str] | None) -> None:
        faults = data.get("faults") or {}
        for backend in BACKENDS:
            if backend not in faults or skip == ("fault", backend) or backend in self.local_faults:
                continue
            raw = faults[backend]
            spec = None if raw is None else FaultSpec.from_data(raw)
            if self.state.get_fault(backend) != spec:
                self.state.set_fault(backend, spec, actor="cluster")

    def _persist(self, snapshot: ConfigSnapshot) -> None:
        if self.cache_path is None:
            return
        tmp = self.cache_path.with_name(self.cache_path.name + ".tmp")
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            kept = {"store": self.store_id, "version": snapshot.version, "data": snapshot.data}
            tmp.write_text(json.dumps(kept))
            os.replace(tmp, self.cache_path)
        except OSError as exc:  # a full disk must not stop the data plane following
            log.warning("config_cache_write_failed", path=str(self.cache_path), error=str(exc))
            with contextlib.suppress(OSError):
                tmp.unlink()
