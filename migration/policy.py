"""The analysis policy: every threshold the rollout decision uses, with documented defaults.

Frozen and validated at construction; :meth:`Policy.from_mapping` parses the ``policy`` section of a
config file and names the field on any bad value, so a bad policy stops start-up.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from migration.plan import parse_duration

__all__ = ["ANALYSES", "MAX_WINDOW_S", "Policy"]

#: The analyses a policy can choose (``Policy.analysis``).
ANALYSES = ("sequential", "windowed")

#: The longest analysis window: :class:`~migration.metrics.MigrationMetrics` keeps 60 one-second
#: buckets.
MAX_WINDOW_S = 60.0
#: The longest any other duration of the policy may be.
MAX_DURATION_S = 3600.0
_WHOLE = re.compile(r"[+-]?[0-9]+")


def _number(raw: object, whole: bool, where: str) -> float | int:
    """A config number, strictly: YAML gives int/float, the environment gives strings.

    ``True`` is not 1, ``3.7`` is not the whole number 3, and NaN or infinities are no numbers.
    """
    kind = "a whole number" if whole else "a number"
    value: float | int
    if isinstance(raw, str) and whole and _WHOLE.fullmatch(raw.strip()):
        value = int(raw)
    elif isinstance(raw, str) and not whole:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{where}: expected {kind}, got {raw!r}") from None
    elif (isinstance(raw, int) and not isinstance(raw, bool)) or (
        isinstance(raw, float) and not whole
    ):
        value = raw
    else:
        raise ValueError(f"{where}: expected {kind}, got {raw!r}")
    if not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {raw!r}")
    return value


@dataclass(frozen=True)
class Policy:
    """Thresholds of the analysis. Defaults are documented per field; all are configurable.

    The absolute limits come from the seeds: p95 above 200 ms is seed 001's migration trigger and
    an error rate under 1 % is seed 000's target.
    """

    window_s: float = 10.0  #: span of the windows analysed; short so a regression is not diluted
    min_samples: int = 100  #: per backend in the window before latency/error checks decide
    alpha: float = 0.01  #: one-sided significance a soft check needs to fail
    hard_alpha: float = 0.001  #: significance the hard error-rate limit needs
    p95_tolerance: float = 0.20  #: candidate p95 may exceed baseline p95 by 20 % ...
    p95_slack_s: float = 0.005  #: ... or by 5 ms, whichever is larger
    max_p95_s: float = 0.200  #: seed 001: p95 above 200 ms is a reason to migrate, not to arrive
    error_margin: float = 0.005  #: candidate error rate may exceed baseline's by 0.5 points
    max_error_rate: float = 0.01  #: seed 000: < 1 % errors; past it (significantly) is hard
    max_contract_violation_rate: float = 0.005  #: share of candidate responses off-contract
    max_shadow_mismatch_rate: float = 0.01  #: share of shadow comparisons that differ
    min_rate_samples: int = 50  #: shadow comparisons / contract checks before they decide
    unreachable_min_attempts: int = 10  #: recent attempts needed to call a backend unreachable
    unreachable_fraction: float = 0.9  #: share of those that failed to connect
    failure_limit: int = 3  #: consecutive soft-failing evaluations before a rollback
    stuck_after_s: float = 1.0  #: in-flight age (at least the latency limit) that counts as stuck
    stuck_min: int = 5  #: stuck candidate attempts, with none on the baseline, that roll back
    baseline_max_error_rate: float = 0.05  #: baseline error rate that invalidates the comparison
    fallback_p99_factor: float = 3.0  #: auto candidate fallback deadline = this x baseline p99
    fallback_min_samples: int = 20  #: baseline samples before an auto deadline is published
    #: ``sequential`` (default): the windowed checks for the recent and hard, plus always-valid
    #: tests over the whole step that decide promotion (:mod:`migration.sequential`);
    #: ``windowed``: the windowed checks alone (the analysis before issue #14, kept to compare).
    analysis: str = "sequential"
    window_alpha: float = 0.001  #: ``sequential``: the windowed soft checks' alpha (``alpha``
    #: applies with ``windowed``), they watch for large recent regressions only
    false_rollback_budget: float = 0.002  #: per step: chance a healthy step is rolled back by the
    #: sequential harm tests, split evenly across them
    false_promotion_budget: float = 0.05  #: per step: chance a candidate worse than the margins
    #: below is promoted, split evenly across the non-inferiority tests
    latency_margin: float = 0.01  #: harm: the candidate's share of requests slower than the
    #: baseline's p95 exceeds the baseline's own (5 %) by more than this (1 point)
    latency_shift_margin: float = 0.05  #: harm: the candidate's geometric mean latency (mean of
    #: log latency, :mod:`migration.latency_shift`) is shown above the baseline's x (1 + this)
    latency_shift_winsor: float = 0.001  #: the shift test clamps log latencies at the pooled
    #: quantiles this far from either end (0.1 % and 99.9 %), bounding the heavy tail's weight
    latency_ni_margin: float = 0.05  #: promotion: that excess is shown to be under 5 points
    error_ni_margin: float = 0.01  #: promotion: candidate errors shown under baseline + 1 point
    seq_restart_s: float = 60.0  #: the harm tests also judge the evidence since each restart,
    #: one every this many seconds of a step (a late regression is not diluted)
    seq_min_samples: int = 50  #: per backend over the step before a sequential test decides
    share_tolerance: float = 0.10  #: the candidate's observed share of the step's requests may
    #: differ from the weight by this much (10 points) before ``share_mismatch`` warns
    share_min_requests: int = 200  #: requests in the step before the observed share is judged

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Policy:
        """Parse a config mapping (YAML); durations may be strings (``"10s"``, ``"5ms"``).

        Raises :class:`ValueError` naming the field for unknown fields and bad values.
        """
        known = {f.name: f for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"policy: unknown field(s) {sorted(unknown)}")
        values: dict[str, Any] = {}
        for name, raw in data.items():
            where = f"policy.{name}"
            if known[name].type == "str":
                if not isinstance(raw, str):
                    raise ValueError(f"{where}: expected a string, got {raw!r}")
                values[name] = raw.strip()
                continue
            if name.endswith("_s") and isinstance(raw, str) and not _is_plain_number(raw):
                values[name] = parse_duration(raw, where)
                continue
            whole = known[name].type == "int"
            number = _number(raw, whole, where)
            values[name] = int(number) if whole else float(number)
        return cls(**values)

    def __post_init__(self) -> None:
        for name in (
            "window_s", "alpha", "hard_alpha", "max_error_rate", "unreachable_fraction",
            "stuck_after_s", "baseline_max_error_rate", "fallback_p99_factor", "window_alpha",
            "seq_restart_s",
        ):  # fmt: skip
            if not getattr(self, name) > 0:
                raise ValueError(f"policy.{name}: must be > 0, got {getattr(self, name)!r}")
        for name in (
            "alpha", "hard_alpha", "unreachable_fraction", "baseline_max_error_rate",
            "window_alpha",
        ):  # fmt: skip
            if getattr(self, name) > 1:
                raise ValueError(f"policy.{name}: must be <= 1, got {getattr(self, name)!r}")
        for f in fields(self):
            if f.name.endswith("_s"):
                limit = MAX_WINDOW_S if f.name == "window_s" else MAX_DURATION_S
                value = getattr(self, f.name)
                if not math.isfinite(value) or value > limit:
                    raise ValueError(f"policy.{f.name}: must be at most {limit:g} s, got {value!r}")
        if self.analysis not in ANALYSES:
            raise ValueError(
                f"policy.analysis: must be one of {', '.join(ANALYSES)}, got {self.analysis!r}"
            )
        for name in ("false_rollback_budget", "false_promotion_budget"):
            if not 0 < getattr(self, name) < 0.5:
                raise ValueError(
                    f"policy.{name}: must be > 0 and < 0.5, got {getattr(self, name)!r}"
                )
        winsor = self.latency_shift_winsor
        if not 0 <= winsor < 0.25:
            raise ValueError(
                f"policy.latency_shift_winsor: must be >= 0 and < 0.25, got {winsor!r}"
            )
        for name in (
            "latency_margin", "latency_ni_margin", "error_ni_margin", "share_tolerance",
            "latency_shift_margin",
        ):  # fmt: skip
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"policy.{name}: must be > 0 and < 1, got {getattr(self, name)!r}")
        if self.failure_limit < 1:
            raise ValueError(f"policy.failure_limit: must be >= 1, got {self.failure_limit!r}")
        for name in (
            "min_samples", "min_rate_samples", "unreachable_min_attempts", "stuck_min",
            "fallback_min_samples", "seq_min_samples", "share_min_requests",
        ):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"policy.{name}: must be >= 1, got {getattr(self, name)!r}")


def _is_plain_number(text: str) -> bool:
    """True for a string that is a number without a unit (``"10"``, ``"0.5"``): seconds."""
    try:
        float(text)
    except ValueError:
        return False
    return True
