"""Noise cancellation for shadow differences — Diffy's method, as pure functions.

Some fields differ between *any* two calls: timestamps, generated ids, durations. Instead of asking
operators to list them, a share of shadows goes back to the backend that served (a *same-backend
probe*). For each route and field we then know two rates:

- ``other_rate``: share of cross-backend comparisons in which the field differed;
- ``same_rate``: share of same-backend probes in which it differed — the noise floor.

A field difference is *real* only when ``other_rate`` exceeds ``same_rate`` by an absolute margin
AND by a relative one (``other_rate > same_rate * (1 + relative)``). A timestamp differs in ~100 %
of both, so it falls out; a renamed field differs in 100 % of cross-backend comparisons and 0 % of
probes, so it stays. Until a route has ``min_probes`` probes there is no noise floor and every
difference counts (an unknown is treated as suspect, not as noise).

Status and allow-listed header differences are never noise: the issue counts them as mismatches
outright, since a client always notices them.
"""

from __future__ import annotations

from dataclasses import dataclass

from contracts.compare import HEADER_PREFIX, STATUS_PATH


@dataclass(frozen=True, slots=True)
class NoiseThresholds:
    """How far above the noise floor a field's difference rate must be to count."""

    relative: float = 0.5
    absolute: float = 0.05
    min_probes: int = 5


@dataclass(frozen=True, slots=True)
class FieldRates:
    """Counts behind a field verdict, kept so reports can show *why*."""

    other_diffs: int
    other_total: int
    same_diffs: int
    same_total: int

    @property
    def other_rate(self) -> float:
        """Share of cross-backend comparisons with this difference."""
        return self.other_diffs / self.other_total if self.other_total else 0.0

    @property
    def same_rate(self) -> float:
        """Share of same-backend probes with this difference (the noise floor)."""
        return self.same_diffs / self.same_total if self.same_total else 0.0


def always_real(field: str) -> bool:
    """Status and header differences are mismatches whatever the noise floor says."""
    return field == STATUS_PATH or field.startswith(HEADER_PREFIX)


def is_real(field: str, rates: FieldRates, thresholds: NoiseThresholds) -> bool:
    """True when this field's cross-backend differences stand out of its noise floor."""
    if always_real(field):
        return True
    if rates.other_diffs == 0:
        return False
    floor = rates.same_rate if rates.same_total >= thresholds.min_probes else 0.0
    excess = rates.other_rate - floor
    return excess > thresholds.absolute and rates.other_rate > floor * (1.0 + thresholds.relative)


def classify(fields_real: list[bool]) -> str:
    """Outcome of one cross-backend comparison from the verdicts of its differing fields."""
    if not fields_real:
        return "matched"
    return "mismatched" if any(fields_real) else "noise"
