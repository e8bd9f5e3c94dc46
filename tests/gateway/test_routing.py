"""Backend choice as pure functions: patterns, sticky buckets, weighted split, trusted override."""

from __future__ import annotations

import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.config import OverrideConfig, RouteConfig, StickyConfig
from gateway.routing import (
    BUCKETS,
    KEYS_SATURATED,
    BucketCache,
    KeySketch,
    RouteTable,
    bucket_of,
    compile_patterns,
    cookie_value,
    override_trusted,
    split,
    sticky_key,
)

STICKY = StickyConfig(headers=("x-api-key", "authorization"), cookie="sid", client_address=True)
NO_OVERRIDE = OverrideConfig(
    token=None, token_header="x-cutover-override-token", trusted_networks=()
)


def route(name: str, paths: tuple[str, ...], methods: frozenset[str] = frozenset()) -> RouteConfig:
    return RouteConfig(name, paths, methods, 0, STICKY, frozenset({"GET", "HEAD", "OPTIONS"}))


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/api/v1/tasks*", "/api/v1/tasks", True),
        ("/api/v1/tasks*", "/api/v1/tasks/7", True),
        ("/api/v1/tasks*", "/api/v1/taskforce", False),
        ("/api/v1/tasks*", "/api/v1/tasksx", True),
        ("/api/v1/tasks", "/api/v1/tasks/7", False),
        ("/api/v1/tasks", "/api/v1/tasks", True),
        ("/*", "/", True),
        ("*", "/anything/at/all", True),
        ("/api/*/info", "/api/v1/project/info", True),
        ("/a.b", "/aXb", False),
    ],
)
def test_patterns(pattern: str, path: str, matches: bool) -> None:
    """``*`` spans any characters including ``/``; everything else is literal."""
    assert (compile_patterns([pattern]).match(path) is not None) is matches


def test_first_matching_route_wins_and_methods_filter() -> None:
    """Routes are tried in order; a route limited to some methods lets others fall through."""
    table = RouteTable(
        [
            route("writes", ("/api/v1/tasks*",), frozenset({"POST"})),
            route("tasks", ("/api/v1/tasks*",)),
            route("default", ("/*",)),
        ],
        NO_OVERRIDE,
    )
    assert table.match("POST", "/api/v1/tasks") == 0
    assert table.match("GET", "/api/v1/tasks") == 1
    assert table.match("GET", "/health") == 2
    assert RouteTable([route("only", ("/x",))], NO_OVERRIDE).match("GET", "/y") is None


def test_bucket_is_stable_and_in_range() -> None:
    """The bucket of a key is a fixed BLAKE2b-derived number (not ``hash()``), 0..9999."""
    assert bucket_of(b"client-a") == bucket_of(b"client-a")
    assert bucket_of(b"client-a") == 2502  # pinned: must not change across releases or hosts
    assert all(0 <= bucket_of(str(i).encode()) < BUCKETS for i in range(200))


def test_bucket_cache_agrees_and_stays_bounded() -> None:
    """The memo returns the same buckets and never holds more than its size."""
    cache = BucketCache(size=8)
    for i in range(50):
        assert cache(str(i).encode()) == bucket_of(str(i).encode())
    assert len(cache) <= 8


@pytest.mark.parametrize(
    ("headers", "client", "expected"),
    [
        ({b"x-api-key": b"k1", b"authorization": b"Bearer t"}, "10.0.0.1", b"k1"),
        ({b"authorization": b"Bearer t"}, "10.0.0.1", b"Bearer t"),
        ({b"cookie": b"a=1; sid=abc"}, "10.0.0.1", b"abc"),
        ({b"x-api-key": b""}, "10.0.0.1", b"10.0.0.1"),
        ({}, "10.0.0.1", b"10.0.0.1"),
        ({}, None, None),
    ],
)
def test_sticky_key_priority(
    headers: dict[bytes, bytes], client: str | None, expected: bytes | None
) -> None:
    """First present header, else the cookie, else the client address, else no key."""
    assert sticky_key(STICKY, headers, client) == expected


def test_no_client_address_fallback_means_no_key() -> None:
    """With ``client_address: false`` a request without header or cookie has no key."""
    sticky = StickyConfig(headers=("X-API-Key",), cookie=None, client_address=False)
    assert sticky_key(sticky, {}, "10.0.0.1") is None
    assert sticky_key(sticky, {b"x-api-key": b"k"}, "10.0.0.1") == b"k"


def test_cookie_value_parsing() -> None:
    """Cookie pairs are split on ``;`` and quoted values unquoted (RFC 6265 §4.2)."""
    assert cookie_value(b'a=1; sid="x y"; b=2', b"sid") == b"x y"
    assert cookie_value(b"sidx=1", b"sid") is None


def test_weight_extremes_ignore_the_key() -> None:
    """0 bps is always baseline and 10000 bps always candidate."""
    assert split(0, b"k", random.random) == "baseline"
    assert split(BUCKETS, b"k", random.random) == "candidate"


@settings(max_examples=40, deadline=None)
@given(weight=st.integers(min_value=0, max_value=BUCKETS), seed=st.integers(0, 2**32))
def test_candidate_share_converges_to_the_weight(weight: int, seed: int) -> None:
    """Over many distinct sticky keys the candidate share is the weight (±3 points)."""
    rng = random.Random(seed)
    n = 4000
    keys = [rng.randbytes(12) for _ in range(n)]
    share = sum(split(weight, k, rng.random) == "candidate" for k in keys) / n
    assert abs(share - weight / BUCKETS) < 0.03


@settings(max_examples=40, deadline=None)
@given(weight=st.integers(min_value=0, max_value=BUCKETS), seed=st.integers(0, 2**32))
def test_keyless_draws_converge_to_the_weight(weight: int, seed: int) -> None:
    """Without a key each request is a fresh draw from the injected random source."""
    rng = random.Random(seed)
    share = sum(split(weight, None, rng.random) == "candidate" for _ in range(4000)) / 4000
    assert abs(share - weight / BUCKETS) < 0.03


@settings(max_examples=60, deadline=None)
@given(
    key=st.binary(min_size=1, max_size=40),
    low=st.integers(0, BUCKETS),
    high=st.integers(0, BUCKETS),
)
def test_raising_the_weight_never_moves_a_client_back(key: bytes, low: int, high: int) -> None:
    """A client on the candidate at some weight stays there at every higher weight."""
    low, high = min(low, high), max(low, high)
    if split(low, key, random.random) == "candidate":
        assert split(high, key, random.random) == "candidate"
    if split(high, key, random.random) == "baseline":
        assert split(low, key, random.random) == "baseline"


def test_override_needs_a_trusted_source() -> None:
    """The override header wins only with the token or from a trusted network."""
    override = OverrideConfig(
        token="t0k",
        token_header="x-cutover-override-token",
        trusted_networks=(ipaddress.ip_network("10.1.0.0/16"),),
    )
    table = RouteTable([route("default", ("/*",))], override)
    forced = {b"x-cutover-backend": b"candidate"}
    assert table.choose(0, 0, forced, "192.168.1.1", random.random).backend == "baseline"
    with_token = {**forced, b"x-cutover-override-token": b"t0k"}
    choice = table.choose(0, 0, with_token, "192.168.1.1", random.random)
    assert (choice.backend, choice.reason) == ("candidate", "override")
    wrong_token = {**forced, b"x-cutover-override-token": b"nope"}
    assert table.choose(0, 0, wrong_token, "192.168.1.1", random.random).backend == "baseline"
    assert table.choose(0, 0, forced, "10.1.2.3", random.random).backend == "candidate"
    back = {b"x-cutover-backend": b"baseline"}
    assert table.choose(0, BUCKETS, back, "10.1.2.3", random.random).backend == "baseline"
    assert (
        table.choose(
            0, BUCKETS, {b"x-cutover-backend": b"bogus"}, "10.1.2.3", random.random
        ).backend
        == "candidate"
    )


def test_override_trusted_rejects_garbage_addresses() -> None:
    """An unparsable client address is never trusted."""
    override = OverrideConfig(None, "x-t", (ipaddress.ip_network("0.0.0.0/0"),))
    assert not override_trusted(override, {}, "not-an-ip")
    assert override_trusted(override, {}, "127.0.0.1")


def test_raw_match_agrees_with_match_and_stays_bounded() -> None:
    """The memoised byte-level lookup gives match()'s answers and never holds more than its size."""
    table = RouteTable(
        [route("writes", ("/api/v1/tasks*",), frozenset({"POST"})), route("default", ("/api/*",))],
        NO_OVERRIDE,
    )
    table.match_cache_size = 8
    cases = [("POST", "/api/v1/tasks"), ("GET", "/api/v1/tasks"), ("GET", "/other")]
    cases += [("GET", f"/api/v1/tasks/{i}") for i in range(20)]
    for _ in range(2):  # second pass answers from the cache
        for method, path in cases:
            assert table.match_raw(method.encode(), path.encode()) == table.match(method, path)
            assert table.cached_matches <= 8


def test_key_sketch_counts_distinct_keys_within_a_few_percent() -> None:
    """Linear counting over the buckets: 1 key is 1, 2,000 distinct keys are 2,000 ± 3 %."""
    one = KeySketch()
    for _ in range(50):
        one.mark(bucket_of(b"dev-key"))
    assert one.estimate(0.0) == 1
    many = KeySketch()
    for i in range(2000):
        many.mark(bucket_of(f"client-{i}".encode()))
    assert abs(many.estimate(0.0) - 2000) <= 60


def test_key_sketch_forgets_keys_after_two_periods() -> None:
    """A key seen once is counted for one to two periods, then no more."""
    sketch = KeySketch(period_s=60.0)
    sketch.estimate(0.0)
    sketch.mark(bucket_of(b"gone"))
    assert sketch.estimate(61.0) == 1  # now in the previous generation
    assert sketch.estimate(122.0) == 0


def test_key_sketch_saturates_to_at_least() -> None:
    """With every bucket marked the estimate is the saturation bound, not infinity."""
    sketch = KeySketch()
    for bucket in range(BUCKETS):
        sketch.mark(bucket)
    assert sketch.estimate(0.0) == KEYS_SATURATED


def test_the_split_marks_sticky_keys_only_while_it_splits() -> None:
    """choose() records each sticky key's bucket at 0 < weight < 100 %, none at 0 % or 100 %."""
    table = RouteTable([route("r", ("/*",))], NO_OVERRIDE)
    for weight in (0, BUCKETS):
        table.choose(0, weight, {b"x-api-key": b"k0"}, None, lambda: 0.5)
    assert table.keys[0].estimate(0.0) == 0
    for i in range(10):
        table.choose(0, 5000, {b"x-api-key": f"k{i}".encode()}, None, lambda: 0.5)
    assert table.keys[0].estimate(0.0) == 10
