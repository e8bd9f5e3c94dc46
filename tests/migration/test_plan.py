"""Plan parsing: CLI strings and config mappings into frozen steps, with errors naming the field."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from migration.plan import (
    Plan,
    PlanError,
    Step,
    parse_count,
    parse_duration,
    parse_steps,
    parse_weight,
    plan_from_cli,
    plans_from_config,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60", 60.0), ("60s", 60.0), ("500ms", 0.5), ("5m", 300.0), ("1h30m", 5400.0), ("2.5s", 2.5)],
)
def test_parse_duration(text: str, seconds: float) -> None:
    """Durations accept plain seconds and ms/s/m/h units, combined."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "5x", "m5", "-3", "1h 30m", "inf"])
def test_parse_duration_errors(text: str) -> None:
    """A bad duration names the field and shows the value."""
    with pytest.raises(PlanError, match=r"^hold: "):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "bps"), [("10", 1000), ("0.5", 50), ("25%", 2500), ("shadow", 0), ("100", 10_000)]
)
def test_parse_weight(text: str, bps: int) -> None:
    """Weights are percents (or 'shadow') kept as basis points."""
    assert parse_weight(text) == bps


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("101", "outside 0..100"),
        ("-1", "outside 0..100"),
        ("ten", "not a weight"),
        ("0.001", "finer than 0.01"),
        ("nan", "outside 0..100"),
    ],
)
def test_parse_weight_errors(text: str, message: str) -> None:
    """Out-of-range, non-numeric and too-fine weights are refused."""
    with pytest.raises(PlanError, match=message):
        parse_weight(text)


def test_parse_steps_and_order() -> None:
    """Steps parse in order and must strictly increase."""
    assert parse_steps("shadow, 10,50,100") == (0, 1000, 5000, 10_000)
    with pytest.raises(PlanError, match="must increase"):
        parse_steps("10,50,50")
    with pytest.raises(PlanError, match="no steps"):
        parse_steps(" , ")


def test_parse_count_errors() -> None:
    """Request minimums are whole non-negative numbers."""
    assert parse_count("1_000") == 1000
    with pytest.raises(PlanError, match="min_requests: 'x' is not a whole number"):
        parse_count("x")
    with pytest.raises(PlanError, match=r"within 0\.\.1000000000"):
        parse_count("-5")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: parse_duration(1e308), "longer than 30 days"),
        (lambda: parse_duration("31d"), "not a duration"),
        (lambda: parse_duration("721h"), "longer than 30 days"),
        (lambda: parse_duration(True), "True is not a duration"),
        (lambda: parse_count(10**12), "within"),
        (lambda: parse_count(True), "True is not a whole number"),
        (lambda: parse_count(5.5), "not a whole number"),  # type: ignore[arg-type]
        (lambda: parse_weight(True), "True is not a weight"),
    ],
)
def test_numbers_are_bounded_and_never_booleans(call: Callable[[], object], message: str) -> None:
    """A hold of 1e308 s, a count of 10**12, a boolean anywhere: a PlanError naming the value."""
    with pytest.raises(PlanError, match=message):
        call()


def test_plan_from_cli() -> None:
    """The CLI strings build one plan with hold, minimum and gates applied per step."""
    plan = plan_from_cli("tasks", "10,50,100", hold="60s", min_requests="500", gates="100")
    assert plan == Plan(
        "tasks",
        (Step(1000, 60.0, 500), Step(5000, 60.0, 500), Step(10_000, 60.0, 500, gate=True)),
    )
    with pytest.raises(PlanError, match="gates: 30% is not one of the steps"):
        plan_from_cli("tasks", "10,50", gates="30")


def test_plans_from_config_per_step_overrides() -> None:
    """Config steps may be numbers or mappings overriding hold, minimum and gate."""
    [plan] = plans_from_config(
        {
            "route": "tasks",
            "hold": "30s",
            "min_requests": 100,
            "steps": ["shadow", 10, {"weight": 50, "gate": True}, {"weight": 100, "hold": "5m"}],
        }
    )
    assert plan.steps == (
        Step(0, 30.0, 100),
        Step(1000, 30.0, 100),
        Step(5000, 30.0, 100, True),
        Step(10_000, 300.0, 100),
    )
    assert plan.steps[0].shadow_only
    assert Plan.from_dict(plan.to_dict()) == plan


def test_plans_for_all_routes() -> None:
    """route '*' expands to one plan per known route, and needs the route names."""
    plans = plans_from_config({"route": "*", "steps": "10,100"}, routes=["a", "b"])
    assert [p.route for p in plans] == ["a", "b"]
    with pytest.raises(PlanError, match="needs the gateway's route names"):
        plans_from_config({"steps": [10]})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"route": "r", "steps": []}, "steps: a non-empty list"),
        ({"route": "r", "steps": [10], "bogus": 1}, r"plan: unknown field\(s\) \['bogus'\]"),
        ({"route": "r", "steps": [{"hold": "5s"}]}, r"steps\[0\]\.weight: required"),
        ({"route": "r", "steps": [{"weight": 10, "gate": "yes"}]}, r"steps\[0\]\.gate"),
        ({"route": "r", "steps": [{"weight": 10, "hold": "soon"}]}, r"steps\[0\]\.hold"),
        ({"route": "r", "steps": [True]}, r"steps\[0\]: True is not a weight"),
        ({"route": "r", "steps": [50, 10]}, "must increase"),
        ({"route": "r", "steps": [10], "hold": "x"}, "hold: 'x'"),
        ({"route": "", "steps": [10]}, "route: must not be empty"),
    ],
)
def test_plan_config_errors(config: dict[str, object], message: str) -> None:
    """Each bad config value is reported with its field path."""
    with pytest.raises(PlanError, match=message):
        plans_from_config(config)


def test_deadline_and_on_stall_from_config() -> None:
    """A plan-wide deadline and on_stall apply to every step; a step may set its own deadline."""
    [plan] = plans_from_config(
        {
            "route": "tasks",
            "deadline": "10m",
            "on_stall": "rollback",
            "steps": [10, {"weight": 50, "deadline": "1h"}],
        }
    )
    assert [s.deadline_s for s in plan.steps] == [600.0, 3600.0]
    assert plan.on_stall == "rollback"
    assert Plan.from_dict(plan.to_dict()) == plan


def test_deadline_defaults_and_old_records() -> None:
    """Without them a step's deadline is 30 min, on_stall holds; stored plans without them load."""
    [plan] = plans_from_config({"route": "tasks", "steps": [10, 100]})
    assert (plan.steps[0].deadline_s, plan.on_stall) == (1800.0, "hold")
    old = {"route": "tasks", "steps": [{"weight_bps": 1000, "hold_s": 60.0, "min_requests": 5}]}
    assert Plan.from_dict(old).steps[0].deadline_s == 1800.0


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"on_stall": "panic"}, "on_stall"),
        ({"deadline": "0s"}, "deadline"),
        ({"steps": [{"weight": 10, "deadline": "soon"}]}, "steps[0].deadline"),
    ],
)
def test_bad_deadline_or_on_stall_names_the_field(config: dict[str, object], field: str) -> None:
    """A bad deadline or on_stall stops start-up naming the field."""
    with pytest.raises(PlanError, match=rf"^{re.escape(field)}:"):
        plans_from_config({"route": "tasks", "steps": [10, 100]} | config)


def test_cli_deadline_and_on_stall() -> None:
    """The CLI's --deadline and --on-stall build the same plan."""
    plan = plan_from_cli("tasks", "10,100", deadline="5m", on_stall="rollback")
    assert {s.deadline_s for s in plan.steps} == {300.0}
    assert plan.on_stall == "rollback"
