"""Prometheus exposition of the rollout decision: its inputs, thresholds and outcomes.

An operator looking at a rollback should see *why* without reading logs: every check's value per
backend, its threshold and the sample counts are gauges, updated at each evaluation. Labels are
bounded: ``route`` (configured route names), ``check`` (:data:`migration.analysis.CHECKS`),
``backend`` (baseline/candidate) and ``reason`` (a check name, ``manual`` or ``abort``).

``cutover_migration_phase`` codes (stable): 0 pending, 1 running, 2 paused, 3 awaiting_gate,
4 rolled_back, 5 completed, 6 aborted.

Faults (issue #12): the attempts in flight per backend (all, past the latency limit, the oldest
one's age) are decision inputs too; ``cutover_migration_condition`` says what holds a route
(``baseline_degraded``, ``candidate_stuck``); ``cutover_state_store_errors_total`` and
``cutover_state_store_failing`` show a store that cannot be written (alert
``CutoverStateStoreFailing``), while rollbacks go on and promotions are refused;
``cutover_step_evidence_save_errors_total`` counts saves of step evidence it refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from migration.analysis import BackendWindow, CheckResult, Verdict
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
        self.inflight = Gauge(
            "cutover_analysis_inflight",
            "Upstream attempts in flight per backend at the last evaluation.",
            ["route", "backend"],
            registry=registry,
        )
        self.inflight_slow = Gauge(
            "cutover_analysis_inflight_slow",
            "Attempts in flight for longer than the analysis' latency limit (counted as slow).",
            ["route", "backend"],
            registry=registry,
        )
        self.inflight_oldest = Gauge(
            "cutover_analysis_inflight_oldest_seconds",
            "Age of the oldest attempt in flight per backend at the last evaluation.",
            ["route", "backend"],
            registry=registry,
        )
        self.conditions = Gauge(
            "cutover_migration_condition",
            "1 while a condition holds a route's migration (baseline_degraded, candidate_stuck, "
            "stalled, share_mismatch).",
            ["route", "condition"],
            registry=registry,
        )
        self.store_errors = Counter(
            "cutover_state_store_errors",
            "Failed reads and writes of the migration state store (each retry counts).",
            registry=registry,
        )
        self.store_failing = Gauge(
            "cutover_state_store_failing",
            "1 while the state store has writes it could not make (promotions are refused).",
            registry=registry,
        )
        self.store_pending = Gauge(
            "cutover_state_store_pending",
            "Routes whose state is kept in memory until the state store takes it.",
            registry=registry,
        )
        self._store_errors_seen = 0
        self.store_failing.set(0)
        self.store_pending.set(0)
        self.evidence_save_errors = Counter(
            "cutover_step_evidence_save_errors",
            "Saves of a step's sequential evidence the state store refused (each is superseded "
            "by the next; a restart then resumes from an older save).",
            registry=registry,
        )
        self.aa_steps = Counter(
            "cutover_analysis_aa_steps",
            "Steps whose baseline evidence was also judged against itself (live A/A calibration).",
            ["route"],
            registry=registry,
        )
        self.aa_alarms = Counter(
            "cutover_analysis_aa_alarms",
            "Steps in which a harm check fired on the baseline against itself: false alarms.",
            ["route", "check"],
            registry=registry,
        )
        self.promotions = Counter(
            "cutover_promotions",
            "Step promotions per route (automatic or by an operator).",
            ["route"],
            registry=registry,
        )

    def evidence_save_failed(self) -> None:
        """Count a save of step evidence that failed (:mod:`migration.evidence_saver`)."""
        self.evidence_save_errors.inc()

    def aa_step(self, route: str) -> None:
        """Count a step whose baseline halves are an A/A trial (:mod:`migration.calibration`)."""
        self.aa_steps.labels(route).inc()

    def aa_alarm(self, route: str, check: str) -> None:
        """Count a step in which ``check`` fired on the baseline against itself."""
        self.aa_alarms.labels(route, check).inc()

    def state(self, state: MigrationState) -> None:
        """Export the phase, step and weight of ``state``."""
        self.phase.labels(state.route).set(PHASE_CODES[state.phase])
        self.step.labels(state.route).set(state.step_index)
        self.weight.labels(state.route).set(state.weight_bps)

    def verdict(
        self, route: str, verdict: Verdict, baseline: BackendWindow, candidate: BackendWindow
    ) -> None:
        """Export every check's numbers and both backends' inputs from one evaluation."""
        for backend, window in ((BASELINE, baseline), (CANDIDATE, candidate)):
            self.samples.labels(route, backend).set(window.requests)
            self.inflight.labels(route, backend).set(window.inflight)
            self.inflight_slow.labels(route, backend).set(window.slow_inflight)
            self.inflight_oldest.labels(route, backend).set(window.oldest_inflight_s)
        for check in verdict.checks:
            if check.operation is None:  # per-operation numbers are the windows' (bounded labels)
                self._check(route, check)

    def condition(self, route: str, name: str, on: bool) -> None:
        """Export whether condition ``name`` holds ``route``."""
        self.conditions.labels(route, name).set(1 if on else 0)

    def store(self, failing: bool, errors: int, pending: int) -> None:
        """Export the state store's health (``errors`` is the store's running total)."""
        if errors > self._store_errors_seen:
            self.store_errors.inc(errors - self._store_errors_seen)
            self._store_errors_seen = errors
        self.store_failing.set(1 if failing else 0)
        self.store_pending.set(pending)

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
