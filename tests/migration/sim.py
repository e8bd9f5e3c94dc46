"""Deterministic traffic for controller tests: a fake clock, a weight split, lognormal latencies."""

from __future__ import annotations

import math
from statistics import NormalDist

from migration.controller import Evaluation, MigrationController
from migration.metrics import MigrationMetrics
from migration.testing import FakeClock, FakeInflight, RecordingWeights

#: 97 evenly spread quantiles of a lognormal with median 20 ms (p95 ~ 45 ms).
LATENCIES = [math.exp(NormalDist(math.log(0.02), 0.5).inv_cdf((i + 0.5) / 97)) for i in range(97)]


class Traffic:
    """Feeds requests split by the weight the controller last set, one second at a time."""

    def __init__(
        self,
        metrics: MigrationMetrics,
        clock: FakeClock,
        weights: RecordingWeights,
        route: str = "api",
        rps: int = 200,
    ) -> None:
        self.metrics, self.clock, self.weights, self.route, self.rps = (
            metrics,
            clock,
            weights,
            route,
            rps,
        )
        self.latency_factor = 1.0
        self.error_every = 0  # every n-th candidate request fails (0: none)
        self.unreachable = False
        self.hung: FakeInflight | None = None  # set: candidate attempts start and never finish
        self.baseline_down = False  # baseline attempts fail to connect
        self.shadow_mismatch_every = 0
        #: Operations the requests cycle through ("" each when empty), and per-operation
        #: candidate latency factors (a regression in one operation).
        self.operations: list[str] = []
        self.operation_factor: dict[str, float] = {}
        #: The candidate's real share is the weight times this (0: one sticky key, on the baseline).
        self.share_factor = 1.0
        self._n = 0
        self._share = 0

    def second(self) -> None:
        """One second of requests, spread evenly."""
        start = self.clock.now
        for i in range(1, self.rps + 1):
            self.clock.now = start + i / self.rps
            self._n += 1
            latency = LATENCIES[self._n % len(LATENCIES)]
            ops = self.operations
            op = ops[self._n % len(ops)] if ops else ""
            self._share += round(self.weights.weights.get(self.route, 0) * self.share_factor)
            if self._share >= 10_000:
                self._share -= 10_000
                self._candidate(latency * self.operation_factor.get(op, 1.0), op)
            elif self.baseline_down:
                self.metrics.observe(self.route, "baseline", 502, 0.001, "connect", op)
            else:
                self.metrics.observe(self.route, "baseline", 200, latency, None, op)
            every = self.shadow_mismatch_every
            self.metrics.observe_shadow(self.route, every > 0 and self._n % every == 0)

    def _candidate(self, latency: float, op: str = "") -> None:
        if self.hung is not None:
            self.hung.start(self.route, "candidate")
            return
        if self.unreachable:
            self.metrics.observe(self.route, "candidate", 502, 0.001, "connect", op)
            return
        failed = self.error_every > 0 and self._n % self.error_every == 0
        status = 500 if failed else 200
        duration = latency * self.latency_factor
        self.metrics.observe(self.route, "candidate", status, duration, None, op)


def drive(controller: MigrationController, traffic: Traffic, seconds: int) -> list[Evaluation]:
    """``seconds`` of traffic with one controller step after each second."""
    out: list[Evaluation] = []
    for _ in range(seconds):
        traffic.second()
        out.extend(controller.step())
    return out
