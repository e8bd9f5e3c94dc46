"""Shadow evidence: outcome counts, per-field difference counts and samples, bounded in memory.

Every shadow ends here with one of six outcomes (matched, mismatched, noise, expected, errored,
dropped) — or, for a same-backend probe, as input to the noise floor. ``expected`` is a comparison
whose only differences are changes the contract diff documented (:mod:`contracts.expected`): it
counts as compared, never as a mismatch. Memory per route is fixed: at most
``max_fields_per_route`` fields are tracked (later ones are folded into ``other``), each with at
most ``samples_per_field`` samples, and a time-bucketed ring of fixed size for windowed rates.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from contracts.compare import Comparison, Difference
from gateway.shadow.config import ShadowSettings
from gateway.shadow.metrics import OTHER_FIELD, ShadowMetrics
from gateway.shadow.noise import FieldRates, NoiseThresholds, always_real, classify, is_real
from gateway.shadow.samples import Sample
from gateway.shadow.windows import Clock, CounterRing

OUTCOMES = ("matched", "mismatched", "noise", "expected", "errored", "dropped")
PROBE_RESULTS = ("compared", "errored", "dropped")
MAX_ERROR_REASONS = 16
SampleFactory = Callable[[tuple[Difference, ...]], Sample]


class _FieldStats:
    """Counts and recent samples of one field on one route."""

    __slots__ = ("kinds", "other_diffs", "same_diffs", "samples")

    def __init__(self, samples: int) -> None:
        self.other_diffs = 0
        self.same_diffs = 0
        self.kinds: dict[str, int] = {}
        self.samples: deque[Sample] = deque(maxlen=samples)


class _RouteStats:
    """Everything kept about one route's shadows."""

    __slots__ = ("errors", "fields", "outcomes", "probes", "ring")

    def __init__(self, ring: CounterRing) -> None:
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.probes = dict.fromkeys(PROBE_RESULTS, 0)
        self.fields: dict[str, _FieldStats] = {}
        self.errors: dict[str, int] = {}
        self.ring = ring

    @property
    def compared(self) -> int:
        outcomes = self.outcomes
        return (
            outcomes["matched"] + outcomes["mismatched"] + outcomes["noise"] + outcomes["expected"]
        )


class ShadowEvidence:
    """Aggregates shadow results per route; the admin API and the rollout analysis read it."""

    def __init__(self, settings: ShadowSettings, metrics: ShadowMetrics, clock: Clock) -> None:
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._thresholds = NoiseThresholds(
            settings.noise_relative, settings.noise_absolute, settings.noise_min_probes
        )
        self._routes: dict[str, _RouteStats] = {}

    def _route(self, route: str) -> _RouteStats:
        stats = self._routes.get(route)
        if stats is None:
            ring = CounterRing(
                self._settings.window_bucket_s, self._settings.window_horizon_s, self._clock
            )
            stats = self._routes[route] = _RouteStats(ring)
        return stats

    def _field(self, stats: _RouteStats, path: str) -> tuple[str, _FieldStats]:
        """The stats slot for ``path``; past the cap, untracked paths share ``other``."""
        field = stats.fields.get(path)
        if field is not None:
            return path, field
        key = path if len(stats.fields) < self._settings.max_fields_per_route else OTHER_FIELD
        field = stats.fields.get(key)
        if field is None:
            field = stats.fields[key] = _FieldStats(self._settings.samples_per_field)
        return key, field

    def _rates(self, stats: _RouteStats, field: _FieldStats, pending: int = 0) -> FieldRates:
        """Rates of ``field``; ``pending`` counts the comparison being judged, not yet counted."""
        return FieldRates(
            field.other_diffs, stats.compared + pending, field.same_diffs, stats.probes["compared"]
        )

    def record_comparison(
        self,
        route: str,
        same_backend: bool,
        comparison: Comparison,
        sample: SampleFactory,
        expected: int = 0,
    ) -> str:
        """Count one finished comparison; return its outcome (``probe`` for same-backend ones).

        ``expected`` is how many documented differences were taken out of ``comparison`` before;
        when nothing else differs the outcome is ``expected`` rather than ``matched``.
        """
        stats = self._route(route)
        by_field: dict[str, list[Difference]] = {}
        for diff in comparison.differences:
            by_field.setdefault(diff.path, []).append(diff)
        kept = sample(comparison.differences) if by_field else None
        if same_backend:
            stats.probes["compared"] += 1
            self._metrics.inc(self._metrics.noise_probes, route, "compared")
        touched: list[tuple[str, _FieldStats]] = []
        for path, diffs in by_field.items():
            key, field = self._field(stats, path)
            if any(field is seen for _, seen in touched):
                continue  # several untracked paths folded into "other": count it once
            if same_backend:
                field.same_diffs += 1
            else:
                field.other_diffs += 1
            for diff in diffs:
                field.kinds[diff.kind] = field.kinds.get(diff.kind, 0) + 1
            if kept is not None:
                field.samples.append(kept)
            touched.append((key, field))
        if same_backend:
            return "probe"
        verdicts = [
            is_real(path, self._rates(stats, f, pending=1), self._thresholds) for path, f in touched
        ]
        # Status/header differences are mismatches even when folded into "other".
        outcome = "mismatched" if any(map(always_real, by_field)) else classify(verdicts)
        if outcome == "matched" and expected:
            outcome = "expected"
        stats.outcomes[outcome] += 1
        self._metrics.inc(self._metrics.shadows, route, outcome)
        for (path, _), real in zip(touched, verdicts, strict=True):
            if real:
                label = self._metrics.field_label(route, path)
                self._metrics.inc(self._metrics.field_mismatches, route, label)
        stats.ring.add("compared")
        if outcome == "mismatched":
            stats.ring.add("mismatched")
        return outcome

    def record_error(self, route: str, same_backend: bool, reason: str) -> None:
        """Count a shadow that failed or timed out (the client never sees it)."""
        stats = self._route(route)
        if reason not in stats.errors and len(stats.errors) >= MAX_ERROR_REASONS:
            reason = OTHER_FIELD
        stats.errors[reason] = stats.errors.get(reason, 0) + 1
        if same_backend:
            stats.probes["errored"] += 1
            self._metrics.inc(self._metrics.noise_probes, route, "errored")
        else:
            stats.outcomes["errored"] += 1
            self._metrics.inc(self._metrics.shadows, route, "errored")
            stats.ring.add("errored")

    def record_drop(self, route: str, same_backend: bool) -> None:
        """Count a shadow dropped because the queue was full."""
        stats = self._route(route)
        self._metrics.inc(self._metrics.dropped, route)
        if same_backend:
            stats.probes["dropped"] += 1
            self._metrics.inc(self._metrics.noise_probes, route, "dropped")
        else:
            stats.outcomes["dropped"] += 1
            self._metrics.inc(self._metrics.shadows, route, "dropped")

    def window(self, route: str, window_s: float) -> tuple[int, int]:
        """``(compared, mismatched)`` cross-backend shadows of
        ``route`` in the last ``window_s``."""
        stats = self._routes.get(route)
        if stats is None:
            return 0, 0
        sums = stats.ring.totals(("compared", "mismatched"), window_s)
        return sums["compared"], sums["mismatched"]

    def routes(self) -> list[str]:
        """Routes that have shadow evidence, sorted."""
        return sorted(self._routes)

    def field_verdicts(self, route: str) -> dict[str, bool]:
        """Current verdict per tracked field: True = real difference, False = noise."""
        stats = self._routes.get(route)
        if stats is None:
            return {}
        return {
            path: is_real(path, self._rates(stats, field), self._thresholds)
            for path, field in stats.fields.items()
            if field.other_diffs
        }

    def summary(self, route: str) -> dict[str, Any]:
        """Counts and the currently real fields of one route (empty counts if unseen)."""
        stats = self._routes.get(route) or _RouteStats(CounterRing(1, 1, self._clock))
        compared = stats.compared
        verdicts = self.field_verdicts(route)
        real = sorted(
            (p for p, r in verdicts.items() if r),
            key=lambda p: -stats.fields[p].other_diffs,
        )
        return {
            "outcomes": dict(stats.outcomes),
            "noise_probes": dict(stats.probes),
            "compared": compared,
            "mismatch_rate": stats.outcomes["mismatched"] / compared if compared else None,
            "real_fields": real,
            "noise_fields": sorted(p for p, r in verdicts.items() if not r),
        }

    def detail(self, route: str) -> dict[str, Any]:
        """Summary plus every tracked field with its rates, verdict, kinds and samples."""
        out = self.summary(route)
        stats = self._routes.get(route)
        fields: list[dict[str, Any]] = []
        errors: dict[str, int] = {}
        if stats is not None:
            errors = dict(stats.errors)
            for path, field in _by_weight(stats.fields.items()):
                rates = self._rates(stats, field)
                fields.append(
                    {
                        "field": path,
                        "verdict": "real" if is_real(path, rates, self._thresholds) else "noise",
                        "differences": field.other_diffs,
                        "noise_differences": field.same_diffs,
                        "rate": rates.other_rate,
                        "noise_rate": rates.same_rate,
                        "kinds": dict(field.kinds),
                        "samples": [s.to_dict() for s in field.samples],
                    }
                )
        out["fields"] = fields
        out["errors"] = errors
        return out

    def size(self) -> dict[str, int]:
        """How much is held (routes, fields, samples) — for tests and the memory bound."""
        fields = sum(len(s.fields) for s in self._routes.values())
        samples = sum(len(f.samples) for s in self._routes.values() for f in s.fields.values())
        return {"routes": len(self._routes), "fields": fields, "samples": samples}


def _by_weight(items: Iterable[tuple[str, _FieldStats]]) -> list[tuple[str, _FieldStats]]:
    return sorted(items, key=lambda kv: (-kv[1].other_diffs, -kv[1].same_diffs, kv[0]))
