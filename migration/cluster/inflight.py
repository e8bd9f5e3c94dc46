"""Attempts in flight on every replica: the heartbeat's report, and the leader's sum of them.

A hung backend finishes no attempt, so its evidence is in the attempts still open
(:class:`~migration.seams.InflightSource`). Each data-plane process reports, with its heartbeat,
per route and backend how many attempts wait for a response head and the ages of the oldest ones
(:func:`inflight_report`); the leader keeps the reports of the replicas whose heartbeat is fresh and
answers the controller from them (:class:`MergedInflight`).

Report format (JSON-ready; routes and backends with nothing in flight are left out)::

    {route: {backend: {"n": in flight, "ages": [oldest age s, ...]}}}  # ages descending

Decided here, and why:

* **Bounded**: at most ``limit`` (64) ages per route and backend, the oldest, plus the count.
  The count older than a threshold is then exact while a replica has at most ``limit`` attempts in
  flight, and a lower bound beyond (the unreported ones are younger than the youngest reported):
  the ``stuck`` check needs a few, not all.
* **Ages as reported**: a report is up to one heartbeat old; its ages are not advanced by that,
  because an attempt may have finished since — advancing would call it stuck after it answered.
  A hang is seen at most one heartbeat late, within the "± one interval" the cluster promises.
* A malformed report (a replica from another version, a broken writer) is skipped and counted
  (:attr:`MergedInflight.rejected`); the other replicas' still count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from migration.seams import BACKENDS

__all__ = ["InflightAges", "MergedInflight", "inflight_report"]

#: Ages reported per route and backend.
DEFAULT_LIMIT = 64


class InflightAges(Protocol):
    """What a data plane answers about its open attempts (``gateway.proxy.Proxy`` implements it)."""

    def inflight_ages(self, route: str, backend: str, limit: int) -> tuple[int, list[float]]: ...


def inflight_report(
    proxy: InflightAges, routes: Iterable[str], limit: int = DEFAULT_LIMIT
) -> dict[str, dict[str, dict[str, Any]]]:
    """This process' attempts in flight, per route and backend, for its heartbeat."""
    report: dict[str, dict[str, dict[str, Any]]] = {}
    for route in routes:
        for backend in BACKENDS:
            count, ages = proxy.inflight_ages(route, backend, limit)
            if count:
                entry = {"n": count, "ages": [round(age, 3) for age in ages[:limit]]}
                report.setdefault(route, {})[backend] = entry
    return report


def _parse(report: object) -> dict[tuple[str, str], tuple[int, list[float]]]:
    """``{(route, backend): (count, ages)}``; :class:`ValueError` for a malformed report."""
    if not isinstance(report, dict):
        raise ValueError("in-flight report is not an object")
    out: dict[tuple[str, str], tuple[int, list[float]]] = {}
    for route, backends in report.items():
        if not isinstance(route, str) or not isinstance(backends, dict):
            raise ValueError(f"in-flight report route {route!r} is malformed")
        for backend, entry in backends.items():
            if backend not in BACKENDS or not isinstance(entry, dict):
                raise ValueError(f"in-flight report {route}/{backend} is malformed")
            count, ages = entry.get("n"), entry.get("ages")
            if type(count) is not int or not isinstance(ages, list) or len(ages) > count:
                raise ValueError(f"in-flight report {route}/{backend} is malformed")
            if not all(type(a) in (int, float) and a >= 0 for a in ages):
                raise ValueError(f"in-flight report {route}/{backend} has a bad age")
            out[route, backend] = (count, [float(a) for a in ages])
    return out


class MergedInflight:
    """An :class:`~migration.seams.InflightSource` summing the live replicas' reports."""

    def __init__(self) -> None:
        self._reports: dict[str, dict[tuple[str, str], tuple[int, list[float]]]] = {}
        #: Reports skipped as malformed.
        self.rejected = 0
        self.last_rejection: str | None = None

    def update(self, reports: Mapping[str, object]) -> None:
        """Replace every report with these (replica → report); stale replicas are left out."""
        fresh: dict[str, dict[tuple[str, str], tuple[int, list[float]]]] = {}
        for replica, report in reports.items():
            try:
                fresh[replica] = _parse(report)
            except ValueError as exc:
                self.rejected += 1
                self.last_rejection = f"{replica}: {exc}"
        self._reports = fresh

    def inflight(self, route: str, backend: str, older_than_s: float, /) -> tuple[int, int, float]:
        """``(in flight, older than older_than_s, oldest age s)`` across every replica."""
        count = old = 0
        oldest = 0.0
        for parsed in self._reports.values():
            n, ages = parsed.get((route, backend), (0, []))
            count += n
            old += sum(1 for age in ages if age > older_than_s)
            if ages:
                oldest = max(oldest, *ages)
        return count, old, oldest

    def replicas(self) -> list[str]:
        """Replicas whose report is held, sorted."""
        return sorted(self._reports)
