"""A step's evidence accumulates settled buckets only, from its start (migration.step_evidence)."""

from __future__ import annotations

from migration.metrics import MigrationMetrics
from migration.step_evidence import SettledSource, StepEvidence
from migration.testing import FakeClock


def feed(metrics: MigrationMetrics, clock: FakeClock, seconds: int, errors_every: int = 0) -> None:
    """Ten baseline and ten candidate attempts per second."""
    for _ in range(seconds):
        start = clock.now
        for i in range(10):
            clock.now = start + i / 10
            failed = errors_every > 0 and i % errors_every == 0
            metrics.observe("api", "baseline", 200, 0.02, None)
            metrics.observe("api", "candidate", 500 if failed else 200, 0.03, None)
        clock.now = start + 1.0


def test_metrics_are_a_settled_source() -> None:
    """MigrationMetrics implements the seam the controller checks for."""
    assert isinstance(MigrationMetrics(FakeClock()), SettledSource)


def test_the_first_pull_marks_the_start() -> None:
    """Traffic before the step began is not the step's evidence."""
    clock = FakeClock(1000.0)
    metrics = MigrationMetrics(clock)
    feed(metrics, clock, 5)
    evidence = StepEvidence()
    evidence.pull(metrics, "api")
    assert evidence.candidate.requests == 0
    feed(metrics, clock, 3)
    evidence.pull(metrics, "api")
    assert (evidence.baseline.requests, evidence.candidate.requests) == (30, 30)


def test_a_start_within_a_second_skips_that_second() -> None:
    """The bucket in progress at the start mixes the previous weight's traffic: not the step's."""
    clock = FakeClock(1000.0)
    metrics = MigrationMetrics(clock)
    for _ in range(7):  # the previous step's traffic in the first 0.7 s of second 1000
        metrics.observe("api", "baseline", 200, 0.02, None)
        clock.advance(0.1)
    evidence = StepEvidence()
    evidence.pull(metrics, "api")  # the step starts at 1000.7
    for _ in range(3):  # the step's own, still in second 1000
        metrics.observe("api", "candidate", 200, 0.03, None)
        clock.advance(0.1)
    feed(metrics, clock, 2)  # seconds 1001 and 1002
    evidence.pull(metrics, "api")
    assert (evidence.baseline.requests, evidence.candidate.requests) == (20, 20)  # not 27, 23


def test_pulls_add_each_settled_bucket_once() -> None:
    """Pulling twice in a second adds nothing twice; the second still filling waits."""
    clock = FakeClock(1000.0)
    metrics = MigrationMetrics(clock)
    evidence = StepEvidence()
    evidence.pull(metrics, "api")
    feed(metrics, clock, 4, errors_every=5)
    evidence.pull(metrics, "api")
    evidence.pull(metrics, "api")
    assert (evidence.candidate.requests, evidence.candidate.errors) == (40, 8)
    metrics.observe("api", "candidate", 200, 0.03, None)  # the current second: not settled
    evidence.pull(metrics, "api")
    assert evidence.candidate.requests == 40
    clock.advance(1.0)
    evidence.pull(metrics, "api")
    assert evidence.candidate.requests == 41
    assert evidence.candidate.latency is not None
    assert evidence.candidate.latency.count == 41


def test_the_step_outlives_the_window() -> None:
    """Five minutes of pulls keep five minutes of evidence, past the 60 s window."""
    clock = FakeClock(1000.0)
    metrics = MigrationMetrics(clock)
    evidence = StepEvidence()
    evidence.pull(metrics, "api")
    for _ in range(300):
        feed(metrics, clock, 1)
        evidence.pull(metrics, "api")
    assert evidence.baseline.requests == 3000


def test_an_unseen_route_has_no_evidence() -> None:
    """A route nothing was observed on pulls empty windows."""
    clock = FakeClock(1000.0)
    evidence = StepEvidence()
    metrics = MigrationMetrics(clock)
    evidence.pull(metrics, "other")
    clock.advance(5)
    evidence.pull(metrics, "other")
    assert evidence.candidate.requests == 0
    assert evidence.candidate.latency is not None
