"""A step's evidence accumulates settled buckets only, from its start (migration.step_evidence)."""

from __future__ import annotations

import json

import pytest

from migration.analysis import Policy
from migration.metrics import MigrationMetrics
from migration.step_checks import aa_alarms, sequential_checks
from migration.step_evidence import SettledSource, StepEvidence
from migration.testing import FakeClock
from migration.verdict import StepWindows


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


def grown(
    seconds: int = 150, errors_every: int = 0
) -> tuple[StepEvidence, MigrationMetrics, FakeClock]:
    """Evidence pulled every second over ``seconds`` of feed (restarts every 60 s)."""
    clock = FakeClock(1000.0)
    metrics = MigrationMetrics(clock)
    evidence = StepEvidence()
    evidence.pull(metrics, "api")
    for _ in range(seconds):
        feed(metrics, clock, 1, errors_every)
        evidence.pull(metrics, "api")
    return evidence, metrics, clock


def windows(evidence: StepEvidence) -> StepWindows:
    """The evidence as the controller hands it to the analysis."""
    return StepWindows(
        evidence.baseline, evidence.candidate, evidence.restarts(), evidence.halves()
    )


def totals(evidence: StepEvidence) -> tuple[object, ...]:
    """What the tests read, sketches by their bucket counts."""
    w = windows(evidence)
    sides = [w.baseline, w.candidate, *w.halves] if w.halves else []
    sides += [side for _, b, c in w.restarts for side in (b, c)]
    return (
        evidence.seconds,
        [k for k, _, _ in w.restarts],
        [(s.requests, s.errors, s.latency.keyed_counts() if s.latency else None) for s in sides],
    )


@pytest.mark.parametrize(("seconds", "errors_every"), [(0, 0), (3, 0), (59, 5), (150, 0), (400, 3)])
def test_to_data_round_trips(seconds: int, errors_every: int) -> None:
    """from_data(to_data()) holds the same totals, restarts and halves, through JSON."""
    evidence, _, _ = grown(seconds, errors_every)
    restored = StepEvidence.from_data(json.loads(json.dumps(evidence.to_data())))
    assert totals(restored) == totals(evidence)
    assert restored.to_data() == evidence.to_data()
    assert restored.candidate_requests == seconds * 10


@pytest.mark.parametrize(("seconds", "errors_every"), [(30, 0), (150, 0), (150, 2)])
def test_a_restored_evidence_gets_the_same_verdict(seconds: int, errors_every: int) -> None:
    """The sequential checks and the A/A pair judge a restored evidence as the original."""
    evidence, _, _ = grown(seconds, errors_every)
    restored = StepEvidence.from_data(evidence.to_data())
    policy = Policy()
    for full in (False, True):
        judged = [
            sequential_checks(windows(e), policy, full, False, "") for e in (evidence, restored)
        ]
        assert judged[0] == judged[1]
    assert aa_alarms(windows(restored), policy) == aa_alarms(windows(evidence), policy)


def test_the_first_pull_after_a_restore_adds_nothing() -> None:
    """A restored evidence's first pull marks where counting resumes; later ones add once."""
    evidence, metrics, clock = grown(10)
    restored = StepEvidence.from_data(evidence.to_data())
    feed(metrics, clock, 5)  # settled before the restored one's first pull: the gap
    restored.pull(metrics, "api")
    assert restored.candidate.requests == 100
    feed(metrics, clock, 3)
    restored.pull(metrics, "api")
    restored.pull(metrics, "api")
    assert restored.candidate.requests == 130


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"v": 2},
        {"v": 1},
        {
            "v": 1,
            "restart_s": 60.0,
            "keep": 4,
            "seconds": 1.0,
            "pulls": 2,
            "step": {"v": 1},
            "restarts": [],
            "halves": [],
        },
    ],
)
def test_from_data_refuses_anything_else(data: object) -> None:
    """Another version, a missing field or a bad bucket is a ValueError (the step starts anew)."""
    with pytest.raises(ValueError, match=r"step evidence|evidence payload"):
        StepEvidence.from_data(data)
