"""Live contract validation of primary and shadow responses (issue 4 §5).

Each response whose body the gateway buffered is checked with the compiled validators of
``contracts/validators.py``: an undocumented status, an undocumented content type and a JSON body
that breaks the operation's schema for that status are violations; a request path the contract does
not know is not checked at all. Checks run off the critical path, on a worker; this module is the
synchronous part: validate one response, count the result per route, backend and kind, and keep the
last few samples per route and kind, redacted like shadow samples.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from contracts.validators import NO_BODY, ContractValidator, Violation, media_type
from gateway.observer import ContractObserver
from gateway.shadow.config import ShadowSettings
from gateway.shadow.exchanges import content_type
from gateway.shadow.metrics import OTHER_FIELD, ShadowMetrics
from gateway.shadow.samples import HeaderPairs, Sample
from gateway.shadow.windows import Clock, CounterRing

MAX_KINDS_PER_ROUTE = 32
_UNDECODABLE = object()


@dataclass(frozen=True, slots=True)
class CheckJob:
    """One response to check. ``body`` is the full body bytes."""

    route: str
    backend: str
    method: str
    target: str
    request_headers: HeaderPairs
    status: int
    headers: HeaderPairs
    body: bytes


class ContractEvidence:
    """Counts and samples of contract checks; bounded per route."""

    def __init__(self, settings: ShadowSettings, metrics: ShadowMetrics, clock: Clock) -> None:
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._checked: dict[tuple[str, str], int] = {}
        self._violated: dict[tuple[str, str], int] = {}
        self._kinds: dict[tuple[str, str, str], int] = {}
        self._kinds_per_route: dict[str, set[str]] = {}
        self._samples: dict[tuple[str, str], deque[Sample]] = {}
        self._rings: dict[str, CounterRing] = {}
        self.dropped: dict[str, int] = {}

    def _ring(self, route: str) -> CounterRing:
        ring = self._rings.get(route)
        if ring is None:
            s = self._settings
            ring = self._rings[route] = CounterRing(
                s.window_bucket_s, s.window_horizon_s, self._clock
            )
        return ring

    def _kind(self, route: str, kind: str) -> str:
        kinds = self._kinds_per_route.setdefault(route, set())
        if kind in kinds:
            return kind
        if len(kinds) < MAX_KINDS_PER_ROUTE:
            kinds.add(kind)
            return kind
        return OTHER_FIELD

    def record(
        self,
        route: str,
        backend: str,
        violations: Sequence[Violation],
        sample: Callable[[tuple[str, ...]], Sample],
    ) -> None:
        """Count one checked response and its violations (none = conforming)."""
        key = (route, backend)
        self._checked[key] = self._checked.get(key, 0) + 1
        self._metrics.inc(self._metrics.contract_checks, route, backend)
        ring = self._ring(route)
        ring.add(f"checked:{backend}")
        if not violations:
            return
        self._violated[key] = self._violated.get(key, 0) + 1
        ring.add(f"violated:{backend}")
        details = tuple(describe(v) for v in violations[:10])
        kept = sample(details)
        seen: set[str] = set()
        for violation in violations:
            kind = self._kind(route, violation.kind)
            if kind in seen:
                continue
            seen.add(kind)
            self._kinds[(route, backend, kind)] = self._kinds.get((route, backend, kind), 0) + 1
            self._metrics.inc(self._metrics.violations, route, backend, kind)
            samples = self._samples.get((route, kind))
            if samples is None:
                samples = self._samples[(route, kind)] = deque(
                    maxlen=self._settings.samples_per_field
                )
            samples.append(kept)

    def record_drop(self, route: str) -> None:
        """Count a response not checked because the check queue was full."""
        self.dropped[route] = self.dropped.get(route, 0) + 1
        self._metrics.inc(self._metrics.contract_checks_dropped, route)

    def window(self, route: str, window_s: float, backend: str | None = None) -> tuple[int, int]:
        """``(checked, violated)`` responses of ``route`` (one backend or all) in the window."""
        ring = self._rings.get(route)
        if ring is None:
            return 0, 0
        backends = (backend,) if backend else sorted({b for r, b in self._checked if r == route})
        names = tuple(f"{p}:{b}" for b in backends for p in ("checked", "violated"))
        sums = ring.totals(names, window_s)
        checked = sum(sums[f"checked:{b}"] for b in backends)
        return checked, sum(sums[f"violated:{b}"] for b in backends)

    def routes(self) -> list[str]:
        """Routes with at least one check."""
        return sorted({r for r, _ in self._checked})

    def summary(self, route: str) -> dict[str, Any]:
        """Checked and violated responses per backend, violations per backend and kind."""
        backends: dict[str, Any] = {}
        for (r, backend), checked in sorted(self._checked.items()):
            if r != route:
                continue
            kinds = {k: n for (r2, b, k), n in self._kinds.items() if r2 == route and b == backend}
            violated = self._violated.get((route, backend), 0)
            backends[backend] = {
                "checked": checked,
                "violated": violated,
                "violation_rate": violated / checked if checked else None,
                "kinds": kinds,
            }
        return {"backends": backends, "dropped": self.dropped.get(route, 0)}

    def detail(self, route: str) -> dict[str, Any]:
        """Summary plus the samples kept per violation kind."""
        out = self.summary(route)
        out["samples"] = {
            kind: [s.to_dict() for s in samples]
            for (r, kind), samples in sorted(self._samples.items())
            if r == route
        }
        return out

    def size(self) -> dict[str, int]:
        """How much is held — for tests of the memory bound."""
        return {
            "keys": len(self._kinds),
            "samples": sum(len(s) for s in self._samples.values()),
        }


class ContractChecker:
    """Validates one response and records the result (the check worker's handler)."""

    def __init__(
        self,
        validator: ContractValidator,
        evidence: ContractEvidence,
        make_sample: Callable[[CheckJob, tuple[str, ...]], Sample],
        observers: Sequence[ContractObserver] = (),
    ) -> None:
        self._validator = validator
        self._evidence = evidence
        self._make_sample = make_sample
        self._observers = tuple(observers)

    def check(self, job: CheckJob, known: list[Violation] | None = None) -> list[Violation] | None:
        """Validate ``job``; None when the contract has no operation for it (nothing recorded).

        ``known`` is the result for a response with the same status, content type and body bytes
        (a shadow identical to its primary): it is recorded again without validating again.
        """
        validator = self._validator
        operation = validator.operation_for(job.method, job.target.partition("?")[0])
        if operation is None:
            return None
        if known is not None:
            self._record(job, known)
            return known
        media = content_type(job.headers)
        body: Any = NO_BODY
        if job.body:
            body = job.body
            if media is not None and media_type(media).endswith("json"):
                try:
                    body = orjson.loads(job.body)
                except orjson.JSONDecodeError:
                    body = _UNDECODABLE
        if body is _UNDECODABLE:  # the validator words this case itself
            violations = validator.validate_raw(operation, job.status, media, job.body)
        else:
            violations = validator.validate(operation, job.status, body, media)
        self._record(job, violations)
        return violations

    def _record(self, job: CheckJob, violations: list[Violation]) -> None:
        self._evidence.record(
            job.route, job.backend, violations, lambda details: self._make_sample(job, details)
        )
        for observer in self._observers:
            observer.observe_contract(job.route, job.backend, bool(violations))


def describe(violation: Violation) -> str:
    """One line for samples: ``schema $.items[0].id: 'x' is not of type 'integer'``."""
    return f"{violation.kind} {violation.path}: {violation.message}"
