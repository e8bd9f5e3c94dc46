"""Live A/A calibration: harm checks judged on the baseline against itself, counted per step."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from migration.analysis import BackendWindow, Policy, StepWindows
from migration.calibration import Calibration
from migration.decision_metrics import DecisionMetrics
from migration.plan import Plan, Step
from migration.step_checks import aa_alarms
from tests.migration.test_analysis import window
from tests.migration.test_controller import ROUTE, Rig


def halves(first: BackendWindow, second: BackendWindow) -> StepWindows:
    """Step evidence whose baseline halves are ``first`` and ``second``."""
    return StepWindows(window(), window(), halves=(first, second))


def test_equal_halves_raise_no_alarm() -> None:
    """Two halves of one healthy baseline: no harm check fires."""
    assert aa_alarms(halves(window(3000, errors=9), window(3000, errors=9)), Policy()) == ()


def test_halves_that_differ_raise_the_alarm() -> None:
    """Halves that really differ fire the checks: the counter sees what a false alarm would be."""
    fired = aa_alarms(halves(window(3000, 0.1, 90), window(3000, 0.05, 9)), Policy())
    assert set(fired) == {"seq_error_rate", "seq_latency", "seq_latency_shift"}


def test_without_halves_nothing_is_judged() -> None:
    """Evidence without halves (or with too few samples) gives no A/A verdict."""
    assert aa_alarms(StepWindows(window(), window()), Policy()) == ()
    assert aa_alarms(halves(window(10), window(10)), Policy()) == ()


def test_alarms_count_once_per_step_and_check() -> None:
    """A check firing on every evaluation of a step counts once; the rate is per step."""
    registry = CollectorRegistry()
    calibration = Calibration(DecisionMetrics(registry))
    calibration.new_step("api")
    for _ in range(5):
        calibration.observe("api", ["seq_latency"])
    calibration.new_step("api")
    view = calibration.view("api", 0.001)
    assert view == {
        "steps": 2,
        "alarms": {"seq_latency": 1},
        "rate": {"seq_latency": 0.5},
        "budget_per_check": 0.001,
    }
    labels = {"route": "api", "check": "seq_latency"}
    assert registry.get_sample_value("cutover_analysis_aa_alarms_total", labels) == 1.0
    assert registry.get_sample_value("cutover_analysis_aa_steps_total", {"route": "api"}) == 2.0


def test_the_controller_calibrates_every_step_it_runs() -> None:
    """A healthy two-step rollout is two A/A trials, with no false alarm on identical traffic."""
    rig = Rig()
    rig.controller.start(Plan(ROUTE, (Step(5000, hold_s=5, min_requests=0), Step(10_000))))
    rig.drive(40)
    view = rig.controller.ledger.calibration(ROUTE)
    assert view["steps"] == 2
    assert view["alarms"] == {}


def test_a_recovered_step_counts_as_a_trial() -> None:
    """A controller that finds a step running (a restart) starts its A/A trial at the first look."""
    rig = Rig()
    rig.controller.start(Plan(ROUTE, (Step(5000, hold_s=600, min_requests=0), Step(10_000))))
    rig.drive(3)
    again = Rig(store=rig.store, clock=rig.clock)
    again.controller.recover()
    again.drive(3)
    assert again.controller.ledger.calibration(ROUTE)["steps"] == 1
