"""Fault decisions are pure: a seeded random source gives exact, checkable outcomes."""

from __future__ import annotations

import json
import random

import pytest
from pydantic import ValidationError

from gateway.faults import NO_FAULT, FaultRequest, FaultSpec, decide, draw_delay_ms


def test_no_spec_no_fault() -> None:
    """Without a spec (or an inactive one) nothing happens."""
    assert decide(None, random.Random(1), "GET", b"/") is NO_FAULT
    assert decide(FaultSpec(), random.Random(1), "GET", b"/") is NO_FAULT


def test_fixed_delay() -> None:
    """A fixed delay is exactly the configured milliseconds."""
    action = decide(FaultSpec(delay_ms=250), random.Random(1), "GET", b"/")
    assert action.delay_s == 0.25
    assert action.abort_status is None


def test_abort_share_matches_percent() -> None:
    """About ``abort_percent`` % of decisions abort with the configured status."""
    rng = random.Random(42)
    spec = FaultSpec(abort_percent=30, abort_status=502)
    actions = [decide(spec, rng, "GET", b"/") for _ in range(5000)]
    aborted = [a for a in actions if a.abort_status is not None]
    assert abs(len(aborted) / 5000 - 0.30) < 0.03
    assert {a.abort_status for a in aborted} == {502}


@pytest.mark.parametrize(
    ("spec", "low", "high", "mean"),
    [
        (FaultSpec(delay_ms=100, delay_distribution="uniform", delay_max_ms=300), 100, 300, 200),
        (FaultSpec(delay_ms=100, delay_distribution="normal", delay_stddev_ms=10), 40, 160, 100),
        (FaultSpec(delay_ms=100, delay_distribution="lognormal", delay_sigma=0.5), 0, 10_000, None),
    ],
)
def test_delay_distributions(spec: FaultSpec, low: float, high: float, mean: float | None) -> None:
    """Each distribution stays in its range, never negative, with the expected centre."""
    rng = random.Random(7)
    draws = [draw_delay_ms(spec, rng) for _ in range(3000)]
    assert all(low <= d <= high for d in draws)
    if mean is not None:
        assert abs(sum(draws) / len(draws) - mean) < mean * 0.05
    else:
        assert abs(sorted(draws)[1500] - 100) < 10  # lognormal: the median is delay_ms


def test_normal_is_clipped_at_zero() -> None:
    """A wide normal never yields a negative delay."""
    rng = random.Random(3)
    spec = FaultSpec(delay_ms=1, delay_distribution="normal", delay_stddev_ms=100)
    assert min(draw_delay_ms(spec, rng) for _ in range(500)) == 0.0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"abort_percent": 101}, "abort_percent"),
        ({"abort_status": 200}, "abort_status"),
        ({"delay_ms": -1}, "delay_ms"),
        ({"delay_distribution": "pareto"}, "delay_distribution"),
        ({"delay_ms": 10, "delay_max_ms": 5}, ""),
        ({"bogus": 1}, "bogus"),
        ({"methods": ["GE T"]}, "methods"),
        ({"methods": "POST"}, "methods"),
        ({"path": "api/v1/tasks"}, "path"),
        ({"path": ""}, "path"),
    ],
)
def test_fault_request_validation(body: dict[str, object], field: str) -> None:
    """The admin body is validated field by field."""
    with pytest.raises(ValidationError) as info:
        FaultRequest.model_validate(body)
    assert field in str(info.value)


DELAY = 300.0


@pytest.mark.parametrize(
    ("methods", "path", "method", "target", "hit"),
    [
        ((), None, "DELETE", b"/anything?x=1", True),
        (("POST",), None, "POST", b"/api/v1/tasks", True),
        (("POST",), None, "GET", b"/api/v1/tasks", False),
        (("GET", "HEAD"), None, "HEAD", b"/", True),
        ((), "/api/v1/tasks", "GET", b"/api/v1/tasks", True),
        ((), "/api/v1/tasks", "GET", b"/api/v1/tasks?limit=10", True),
        ((), "/api/v1/tasks", "GET", b"/api/v1/tasks/7", False),
        ((), "/api/v1/tasks*", "GET", b"/api/v1/tasks/7", True),
        ((), "/api/v1/tasks/*", "GET", b"/api/v1/tasks", False),
        ((), "/api/*/status", "GET", b"/api/v1/system/status", True),
        ((), "/api/v1/tasks*", "GET", b"/api/v1/project/info", False),
        ((), "*", "GET", b"/x", True),
        (("POST",), "/api/v1/tasks", "POST", b"/api/v1/tasks", True),
        (("POST",), "/api/v1/tasks", "POST", b"/api/v1/tasks/7", False),
        (("POST",), "/api/v1/tasks", "GET", b"/api/v1/tasks", False),
        ((), "/a?b", "GET", b"/a?b", False),  # the query is never part of the path
    ],
)
def test_filter_decides_which_requests_are_hit(
    methods: tuple[str, ...], path: str | None, method: str, target: bytes, hit: bool
) -> None:
    """A filtered fault hits a request only if its method and its path (query cut) both match."""
    spec = FaultSpec(delay_ms=DELAY, methods=methods, path=path)
    action = decide(spec, random.Random(1), method, target)
    assert action.delay_s == (DELAY / 1000 if hit else 0.0)
    assert (action is NO_FAULT) is not hit


def test_filtered_abort_spares_other_requests() -> None:
    """An abort on one operation aborts all of it and nothing else."""
    spec = FaultSpec(abort_percent=100, abort_status=502, methods=("DELETE",), path="/t/*")
    rng = random.Random(5)
    assert decide(spec, rng, "DELETE", b"/t/1").abort_status == 502
    assert decide(spec, rng, "GET", b"/t/1") is NO_FAULT
    assert decide(spec, rng, "DELETE", b"/u/1") is NO_FAULT


def test_spec_normalises_methods() -> None:
    """A spec keeps its methods as an upper-case tuple, whatever sequence it was given."""
    spec = FaultSpec(delay_ms=1, methods=["post", "Get"])  # type: ignore[arg-type]
    assert spec.methods == ("POST", "GET")
    assert spec.filtered
    assert not FaultSpec(delay_ms=1).filtered
    assert hash(spec) == hash(FaultSpec(delay_ms=1, methods=("POST", "GET")))


@pytest.mark.parametrize(
    "spec",
    [
        FaultSpec(delay_ms=5),
        FaultSpec(abort_percent=10, abort_status=502, methods=("POST", "PUT"), path="/a*"),
        FaultSpec(delay_ms=100, delay_distribution="uniform", delay_max_ms=200, path="/x"),
    ],
)
def test_data_round_trips_through_json(spec: FaultSpec) -> None:
    """``to_data`` is plain JSON and ``from_data`` gives the same spec back, filter included."""
    again = FaultSpec.from_data(json.loads(json.dumps(spec.to_data())))
    assert again == spec
    assert again.matches("POST", b"/a/1") == spec.matches("POST", b"/a/1")


def test_data_from_before_filters_loads() -> None:
    """A snapshot written before filters existed reads as a fault on every request."""
    old = {
        "delay_ms": 0.0,
        "delay_distribution": "fixed",
        "delay_stddev_ms": 0.0,
        "delay_max_ms": None,
        "delay_sigma": 0.0,
        "abort_percent": 50.0,
        "abort_status": 503,
    }
    spec = FaultSpec.from_data(old)
    assert (spec.methods, spec.path) == ((), None)
    assert spec.to_data() == old | {"methods": [], "path": None}


def test_request_filter_fields() -> None:
    """The admin body upper-cases methods and drops repeats, keeps the pattern, builds the spec."""
    body = FaultRequest.model_validate(
        {"delay_ms": 300, "methods": ["post", "POST", "put"], "path": "/api/v1/tasks*"}
    )
    assert body.methods == ["POST", "PUT"]
    spec = body.to_spec()
    assert spec == FaultSpec(delay_ms=300, methods=("POST", "PUT"), path="/api/v1/tasks*")
    assert spec.matches("PUT", b"/api/v1/tasks/3")
