"""The analysis' vocabulary: checks, their outcomes, the inputs they read and the verdict.

Plain frozen values shared by the windowed checks (:mod:`migration.analysis`), the sequential ones
(:mod:`migration.step_checks`), the controller and the views; :mod:`migration.analysis` re-exports
them and documents what each check means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from migration.seams import RateSample
from migration.sketch import LatencySketch

__all__ = [
    "CHECKS",
    "CONTROL_CHECK",
    "HARD_CHECKS",
    "NON_INFERIORITY",
    "SEQUENTIAL_HARM",
    "BackendWindow",
    "CheckResult",
    "CheckStatus",
    "Decision",
    "StepProgress",
    "StepWindows",
    "Verdict",
]

CHECKS = (
    "unreachable",
    "stuck",
    "error_rate_limit",
    "error_rate",
    "latency_p95",
    "latency_limit",
    "contract_violations",
    "shadow_mismatch",
    "baseline_health",
    "seq_error_rate",
    "seq_latency",
    "seq_latency_shift",
    "ni_error_rate",
    "ni_latency",
)
HARD_CHECKS = frozenset({"unreachable", "stuck", "error_rate_limit"})
#: Sequential harm tests: valid however often they are read, so one failure rolls back.
SEQUENTIAL_HARM = frozenset({"seq_error_rate", "seq_latency", "seq_latency_shift"})
#: Sequential non-inferiority tests: what a live step needs to promote (``analysis: sequential``).
NON_INFERIORITY = frozenset({"ni_error_rate", "ni_latency"})
#: The check that judges the baseline (the control), not the candidate.
CONTROL_CHECK = "baseline_health"


class Decision(StrEnum):
    """What the controller should do with the current step."""

    PROMOTE = "promote"
    HOLD = "hold"
    INCONCLUSIVE = "inconclusive"
    ROLLBACK = "rollback"


class CheckStatus(StrEnum):
    """Outcome of one check."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class BackendWindow:
    """One backend's numbers over the analysis window, and its attempts still in flight.

    ``recent_connect_errors`` counts connect errors *and* timeouts among the last attempts (both
    mean "no answer"). ``slow_inflight`` are in-flight attempts older than :func:`slow_after_s`,
    ``stuck`` those older than :func:`stuck_after_s`, ``oldest_inflight_s`` the oldest one's age.
    """

    requests: int = 0
    errors: int = 0
    latency: LatencySketch | None = None
    recent_attempts: int = 0
    recent_connect_errors: int = 0
    contract: RateSample = field(default_factory=lambda: RateSample(0, 0))
    inflight: int = 0
    slow_inflight: int = 0
    stuck: int = 0
    oldest_inflight_s: float = 0.0

    @property
    def latency_count(self) -> int:
        """Latency samples in the window, counting the slow in-flight attempts."""
        return (0 if self.latency is None else self.latency.count) + self.slow_inflight

    def count_above(self, limit_s: float) -> int:
        """Samples slower than ``limit_s`` (the slow in-flight ones are, if ``limit_s`` is at most
        the limit they were counted against, which the controller guarantees)."""
        finished = 0 if self.latency is None else self.latency.count_above(limit_s)
        return finished + self.slow_inflight

    def p95_at_least(self, limit_s: float) -> bool:
        """Whether the p95 over finished *and* in-flight attempts exceeds ``limit_s``."""
        n = self.latency_count
        return n > 0 and self.count_above(limit_s) > 0.05 * n

    def p95(self) -> float | None:
        """p95 latency in seconds, ``None`` without samples."""
        return None if self.latency is None else self.latency.quantile(0.95)


@dataclass(frozen=True)
class StepWindows:
    """Both backends' evidence since the step began
    (:class:`~migration.step_evidence.StepEvidence`).

    ``restarts``: the same evidence since later points of the step, ``(k, baseline, candidate)``
    for the k-th restart (every ``Policy.seq_restart_s``): a regression that starts late in a long
    step is judged on evidence the healthy minutes before it do not dilute.
    """

    baseline: BackendWindow
    candidate: BackendWindow
    restarts: tuple[tuple[int, BackendWindow, BackendWindow], ...] = ()
    #: The baseline's evidence in two interleaved halves: the live A/A calibration pair.
    halves: tuple[BackendWindow, BackendWindow] | None = None


@dataclass(frozen=True)
class StepProgress:
    """Where the migration stands in its current step (the state the decision depends on)."""

    weight_bps: int
    held_s: float
    requests: int
    hold_s: float
    min_requests: int
    consecutive_failures: int = 0

    @property
    def shadow_only(self) -> bool:
        """A 0 % step: judged on shadow comparisons."""
        return self.weight_bps == 0


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome and the numbers behind it."""

    name: str
    status: CheckStatus
    candidate: float | None = None
    baseline: float | None = None
    threshold: float | None = None
    samples: int = 0
    baseline_samples: int = 0
    p_value: float | None = None
    detail: str = ""
    #: The operation this check judged (``None``: the whole route).
    operation: str | None = None

    @property
    def label(self) -> str:
        """``name``, or ``name[operation]`` for a check of one operation."""
        return self.name if self.operation is None else f"{self.name}[{self.operation}]"

    @property
    def hard(self) -> bool:
        """Whether a failure of this check is a hard breach (the local guard acts on these too)."""
        return self.name in HARD_CHECKS

    @property
    def immediate(self) -> bool:
        """Whether one failure of this check rolls back (hard breaches and sequential harm)."""
        return self.name in HARD_CHECKS or self.name in SEQUENTIAL_HARM


@dataclass(frozen=True)
class Verdict:
    """The decision, why, and the numbers."""

    decision: Decision
    reasons: tuple[str, ...]
    checks: tuple[CheckResult, ...]
    consecutive_failures: int
    hard_breach: bool = False
    baseline_degraded: bool = False
    #: Harm checks that fired on the baseline against itself (A/A): false alarms, observed live.
    aa_alarms: tuple[str, ...] = ()

    def check(self, name: str) -> CheckResult:
        """The result of check ``name``."""
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(name)

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        """The candidate's checks that failed (a degraded baseline is not the candidate's fault)."""
        return tuple(
            c for c in self.checks if c.status is CheckStatus.FAIL and c.name != CONTROL_CHECK
        )
