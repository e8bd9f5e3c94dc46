"""Prometheus exposition of the rollout decision: its inputs, thresholds and outcomes.

An operator looking at a rollback should see *why* without reading logs: every check's value per
backend, its threshold and the sample counts are gauges, updated at each evaluation. Labels are
bounded: ``route`` (configured route names), ``check`` (:data:`migration.analysis.CHECKS`),
``backend`` (baseline/candidate) and ``reason`` (a check name, ``manual`` or ``abort``).

``cutover_migration_phase`` codes (stable): 0 pending, 1 running, 2 paused, 3 awaiting_gate,
4 rolled_back, 5 completed, 6 aborted.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from migration.analysis import CheckResult, Verdict
from migration.seams import BASELINE, CANDIDATE
from migration.state import PHASE_CODES, MigrationState

__all__ = ["DecisionMetrics"]


class DecisionMetrics:
    """The ``cutover_migration_*`` / ``cutover_analysis_*`` metrics, on an injected registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.phase = Gauge(
            "cutover_migration_phase",
            "Migration phase per route: 0 pending, 1 running, 2 paused, 3 awaiting_gate, "
            "4 rolled_back, 5 completed, 6 aborted.",
            ["route"],
            registry=registry,
        )
        self.step = Gauge(
            "cutover_migration_step",
            "Index (0-based) of the plan step a route's migration is on.",
            ["route"],
            registry=registry,
        )
        self.weight = Gauge(
            "cutover_migration_weight_bps",
            "Candidate weight the migration controller has set, in basis points.",
            ["route"],
            registry=registry,
        )
        self.value = Gauge(
            "cutover_analysis_value",
            "Value a check measured at the last evaluation (seconds for latency, ratio for rates).",
            ["route", "check", "backend"],
            registry=registry,
        )
        self.threshold = Gauge(
            "cutover_analysis_threshold",
            "Threshold the candidate's value was compared with at the last evaluation.",
            ["route", "check"],
            registry=registry,
        )
        self.samples = Gauge(
            "cutover_analysis_samples",
            "Requests per backend in the analysis window at the last evaluation.",
            ["route", "backend"],
            registry=registry,
        )
        self.rollbacks = Counter(
            "cutover_rollbacks",
            "Rollbacks per route and reason (the failing check, 'manual' or 'abort').",
            ["route", "reason"],
            registry=registry,
        )
        self.promotions = Counter(
            "cutover_promotions",
            "Step promotions per route (automatic or by an operator).",
            ["route"],
            registry=registry,
        )

    def state(self, state: MigrationState) -> None:
        """Export the phase, step and weight of ``state``."""
        self.phase.labels(state.route).set(PHASE_CODES[state.phase])
        self.step.labels(state.route).set(state.step_index)
        self.weight.labels(state.route).set(state.weight_bps)

    def verdict(self, route: str, verdict: Verdict, baseline_n: int, candidate_n: int) -> None:
        """Export every check's numbers from one evaluation."""
        self.samples.labels(route, BASELINE).set(baseline_n)
        self.samples.labels(route, CANDIDATE).set(candidate_n)
        for check in verdict.checks:
            self._check(route, check)

    def _check(self, route: str, check: CheckResult) -> None:
        if check.candidate is not None:
            self.value.labels(route, check.name, CANDIDATE).set(check.candidate)
        if check.baseline is not None:
            self.value.labels(route, check.name, BASELINE).set(check.baseline)
        if check.threshold is not None:
            self.threshold.labels(route, check.name).set(check.threshold)

    def rolled_back(self, route: str, reasons: Iterable[str]) -> None:
        """Count a rollback once per reason label."""
        for reason in sorted(set(reasons)) or ["unknown"]:
            self.rollbacks.labels(route, reason).inc()

    def promoted(self, route: str) -> None:
        """Count a promotion."""
        self.promotions.labels(route).inc()
