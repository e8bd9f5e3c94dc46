"""The pure shadow decision: methods, sampling (random and sticky), target backend."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest

from gateway.shadow.config import RouteShadowConfig, parse_route_shadow
from gateway.shadow.policy import ShadowDecision, body_replayable, decide, sticky_bucket


def draws(*values: float) -> Callable[[], float]:
    """A draw that returns ``values`` in order and fails if asked for more."""
    it = iter(values)
    return lambda: next(it)


ALL = RouteShadowConfig(percent=100, same_backend_percent=0)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unsafe_methods_are_not_shadowed_by_default(method: str) -> None:
    """POST/PUT/PATCH/DELETE are never shadowed unless the route lists them."""
    assert decide(ALL, "r", "baseline", method, None, True, draws()) is None


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "get"])
def test_safe_methods_are_shadowed_to_the_other_backend(method: str) -> None:
    """A sampled safe request goes to the backend that did not serve it."""
    assert decide(ALL, "r", "baseline", method, None, True, draws()) == ShadowDecision(
        "candidate", False
    )
    assert decide(ALL, "r", "candidate", method, None, True, draws()) == ShadowDecision(
        "baseline", False
    )


def test_route_can_opt_in_to_post() -> None:
    """Listing POST in ``methods`` is the explicit opt-in."""
    config = parse_route_shadow(
        {"percent": 100, "methods": ["GET", "POST"], "same_backend_percent": 0}
    )
    assert decide(config, "r", "baseline", "POST", None, True, draws()) is not None


def test_unreplayable_body_is_not_shadowed() -> None:
    """A streamed or oversized body cannot be replayed, so the request is not shadowed."""
    config = RouteShadowConfig(percent=100, max_body_bytes=4)
    assert body_replayable(config, None, has_body=False)
    assert body_replayable(config, b"1234", has_body=True)
    assert not body_replayable(config, b"12345", has_body=True)
    assert not body_replayable(config, None, has_body=True)
    assert decide(config, "r", "baseline", "GET", None, False, draws()) is None


def test_random_sampling_uses_the_injected_draw() -> None:
    """At 30 %, a draw below 0.30 samples and one above does not."""
    config = RouteShadowConfig(percent=30, same_backend_percent=0)
    assert decide(config, "r", "baseline", "GET", None, True, draws(0.29)) is not None
    assert decide(config, "r", "baseline", "GET", None, True, draws(0.31)) is None
    assert decide(RouteShadowConfig(percent=0), "r", "baseline", "GET", None, True, draws()) is None


def test_same_backend_probe_fraction() -> None:
    """A second draw below ``same_backend_percent`` sends the shadow back to the serving backend."""
    config = RouteShadowConfig(percent=100, same_backend_percent=10)
    assert decide(config, "r", "baseline", "GET", None, True, draws(0.05)) == ShadowDecision(
        "baseline", True
    )
    assert decide(config, "r", "baseline", "GET", None, True, draws(0.5)) == ShadowDecision(
        "candidate", False
    )


def test_sticky_sampling_is_stable_per_key_and_near_the_rate() -> None:
    """With a sticky header, a key is always in or always out, and about ``percent`` keys are in."""
    config = RouteShadowConfig(percent=20, sticky_header="x-api-key", same_backend_percent=0)
    never = draws()  # a sticky decision must not draw
    keys = [f"client-{i}" for i in range(4000)]
    first = [decide(config, "r", "baseline", "GET", k, True, never) is not None for k in keys]
    again = [decide(config, "r", "baseline", "GET", k, True, never) is not None for k in keys]
    assert first == again
    assert 0.17 < sum(first) / len(keys) < 0.23


def test_sticky_buckets_are_salted_by_route() -> None:
    """The same client lands in unrelated buckets on different routes."""
    same = sum(sticky_bucket("a", f"k{i}") == sticky_bucket("b", f"k{i}") for i in range(1000))
    assert same < 10


def test_sticky_without_the_header_falls_back_to_random() -> None:
    """A request without the sticky header is sampled by a random draw."""
    config = RouteShadowConfig(percent=50, sticky_header="x-api-key", same_backend_percent=0)
    assert decide(config, "r", "baseline", "GET", None, True, draws(0.1)) is not None
    assert decide(config, "r", "baseline", "GET", None, True, draws(0.9)) is None


def test_rate_is_respected_over_many_random_draws() -> None:
    """Over many seeded draws the sampled share is close to the rate."""
    rng = random.Random(7)
    config = RouteShadowConfig(percent=10, same_backend_percent=0)
    hits = sum(
        decide(config, "r", "baseline", "GET", None, True, rng.random) is not None
        for _ in itertools.repeat(None, 20000)
    )
    assert 0.09 < hits / 20000 < 0.11
