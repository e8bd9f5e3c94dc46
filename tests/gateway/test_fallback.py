"""Fallback to the baseline, injected faults, observers and response taps over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import random

import pytest
from prometheus_client import CollectorRegistry

from gateway.faults import FaultSpec
from gateway.observer import Exchange
from gateway.server import Gateway
from tests.gateway.conftest import GatewayFactory, client, config_for
from tests.gateway.upstreams import Upstream
from tests.support.servers import free_port

pytestmark = pytest.mark.integration
ALL_CANDIDATE = [{"name": "default", "paths": ["/*"], "weight_bps": 10_000}]


class Recorder:
    """An observer that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int, str | None]] = []

    def observe(
        self,
        route: str,
        backend: str,
        status: int,
        duration_s: float,
        error_kind: str | None,
        operation: str,
    ) -> None:
        assert duration_s >= 0
        assert operation == ""  # these gateways have no classifier
        self.calls.append((route, backend, status, error_kind))


class Tap:
    """A response tap that wants GETs and keeps the exchanges."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def wants(self, route: str, method: str) -> bool:
        return method == "GET"

    def on_response(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)


async def test_candidate_5xx_falls_back_to_the_baseline(make_gateway: GatewayFactory) -> None:
    """A candidate 503 on a GET is answered by the baseline; both attempts are counted."""
    registry, recorder = CollectorRegistry(), Recorder()
    gateway = await make_gateway(registry=registry, observers=(recorder,), routes=ALL_CANDIDATE)
    async with client(gateway) as c:
        for _ in range(2):  # the first over a new connection, the second over a pooled one
            r = await c.get("/status/503")
            assert r.status_code == 503
            assert r.json()["backend"] == "baseline"
            assert r.headers["x-cutover-backend"] == "baseline"
    assert (
        recorder.calls
        == [
            ("default", "candidate", 503, None),
            ("default", "baseline", 503, None),
        ]
        * 2
    )
    labels = {"route": "default", "to": "baseline"}
    assert registry.get_sample_value("cutover_fallbacks_total", labels) == 2
    labels = {"route": "default", "backend": "candidate", "code_class": "5xx"}
    assert registry.get_sample_value("cutover_requests_total", labels) == 2


async def test_candidate_connect_error_falls_back(upstreams: tuple[Upstream, Upstream]) -> None:
    """A candidate that refuses connections is invisible to the client of an idempotent request."""
    recorder = Recorder()
    config = config_for(upstreams[0].url, f"http://127.0.0.1:{free_port()}", routes=ALL_CANDIDATE)
    gateway = Gateway(config, observers=[recorder])
    await gateway.start()
    try:
        async with client(gateway) as c:
            r = await c.get("/json")
        assert r.status_code == 200
        assert r.headers["x-cutover-backend"] == "baseline"
        assert recorder.calls == [
            ("default", "candidate", 502, "connect"),
            ("default", "baseline", 200, None),
        ]
    finally:
        await gateway.stop()


async def test_candidate_timeout_falls_back(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """A candidate read timeout on a GET becomes the baseline's answer."""
    gateway = await make_gateway(
        routes=ALL_CANDIDATE,
        upstreams={"candidate": {"url": upstreams[1].url, "read_timeout_s": 0.2}},
    )
    async with client(gateway) as c:
        r = await c.get("/slow/1000")
    assert r.status_code == 200
    assert r.json()["backend"] == "baseline"


async def test_post_is_not_retried(make_gateway: GatewayFactory) -> None:
    """A non-idempotent request gets the candidate's failure as is."""
    gateway = await make_gateway(routes=ALL_CANDIDATE)
    async with client(gateway) as c:
        r = await c.post("/status/503", content=b"{}")
    assert r.status_code == 503
    assert r.headers["x-cutover-backend"] == "candidate"


@pytest.mark.parametrize(("opt_in", "backend"), [(True, "baseline"), (False, "candidate")])
async def test_put_falls_back_only_when_the_route_opts_in(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream], opt_in: bool, backend: str
) -> None:
    """PUT with a small body is replayed on the baseline only with ``fallback_methods: [PUT]``."""
    route = {**ALL_CANDIDATE[0], "fallback_methods": ["PUT"] if opt_in else []}
    gateway = await make_gateway(routes=[route])
    async with client(gateway) as c:
        r = await c.put("/status/500", content=b'{"a":1}')
    assert r.headers["x-cutover-backend"] == backend
    if opt_in:
        assert upstreams[0].seen.requests[-1]["body_size"] == 7


async def test_streamed_bodies_are_not_replayed(make_gateway: GatewayFactory) -> None:
    """A body too large to buffer is not retried: the candidate's answer stands."""
    route = {**ALL_CANDIDATE[0], "fallback_methods": ["PUT"]}
    gateway = await make_gateway(routes=[route], limits={"replay_buffer_bytes": 10})
    async with client(gateway) as c:
        r = await c.put("/status/500", content=b"x" * 100)
    assert r.headers["x-cutover-backend"] == "candidate"


async def test_injected_abort_and_delay(make_gateway: GatewayFactory) -> None:
    """An abort fault answers its status without the upstream; a delay holds the request."""
    registry = CollectorRegistry()
    gateway = await make_gateway(registry=registry)
    gateway.state.set_fault("baseline", FaultSpec(abort_percent=100, abort_status=503))
    async with client(gateway) as c:
        r = await c.get("/json")
        assert r.status_code == 503
        assert r.json()["error"] == "fault_injected"
        labels = {"route": "default", "backend": "baseline", "kind": "fault_abort"}
        assert registry.get_sample_value("cutover_upstream_errors_total", labels) == 1
        gateway.state.set_fault("baseline", FaultSpec(delay_ms=150))
        r = await c.get("/json")
        assert r.status_code == 200
        assert r.elapsed.total_seconds() >= 0.15
        gateway.state.set_fault("baseline", None)
        assert (await c.get("/json")).status_code == 200


async def test_candidate_abort_falls_back(make_gateway: GatewayFactory) -> None:
    """An injected candidate abort counts against the candidate but the client gets the baseline."""
    recorder = Recorder()
    gateway = await make_gateway(routes=ALL_CANDIDATE, observers=(recorder,))
    gateway.state.set_fault("candidate", FaultSpec(abort_percent=100, abort_status=500))
    async with client(gateway) as c:
        r = await c.get("/json")
    assert r.status_code == 200
    assert r.headers["x-cutover-backend"] == "baseline"
    assert recorder.calls[0] == ("default", "candidate", 500, "fault_abort")


async def test_tap_gets_the_exchange(make_gateway: GatewayFactory) -> None:
    """A tap receives the completed exchange with both bodies; unwanted requests are skipped."""
    tap = Tap()
    gateway = await make_gateway(taps=(tap,))
    async with client(gateway) as c:
        r = await c.get("/json?x=1", headers={"X-Trace": "t"})
        await c.post("/upload", content=b"abc")
        chunked = await c.get("/chunked")
    assert len(tap.exchanges) == 2
    first = tap.exchanges[0]
    assert (first.route, first.backend, first.method, first.target, first.status) == (
        "default",
        "baseline",
        "GET",
        "/json?x=1",
        200,
    )
    assert first.response_body == r.content
    assert first.request_body == b""
    assert (b"x-trace", b"t") in first.request_headers
    assert tap.exchanges[1].response_body == chunked.content


async def test_failing_observer_never_hurts_the_client(make_gateway: GatewayFactory) -> None:
    """An observer that raises is logged and ignored."""

    class Broken:
        def observe(self, *args: object) -> None:
            raise RuntimeError("boom")

    gateway = await make_gateway(observers=(Broken(),))
    async with client(gateway) as c:
        assert (await c.get("/json")).status_code == 200


# ------------------------------------------------------------ hung candidate (issue #12, item 1)

HUNG_ROUTE = {**ALL_CANDIDATE[0], "fallback_after_s": 0.3}


async def test_hung_candidate_falls_back_at_the_deadline_on_the_fast_path(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """A pooled candidate connection gone silent costs fallback_after_s, not the read timeout."""
    registry, recorder = CollectorRegistry(), Recorder()
    gateway = await make_gateway(registry=registry, observers=(recorder,), routes=[HUNG_ROUTE])
    async with client(gateway) as c:
        assert (await c.get("/json")).headers["x-cutover-backend"] == "candidate"  # fills the pool
        upstreams[
            1
        ].frozen = True  # the pooled connection: the fast path (tests/gateway/test_testing.py)
        r = await c.get("/json")
    assert r.status_code == 200
    assert r.headers["x-cutover-backend"] == "baseline"
    assert 0.3 <= r.elapsed.total_seconds() < 1.0  # the read timeout is 2 s
    assert recorder.calls[1:] == [
        ("default", "candidate", 504, "fallback_deadline"),
        ("default", "baseline", 200, None),
    ]
    labels = {"route": "default", "backend": "candidate", "kind": "fallback_deadline"}
    assert registry.get_sample_value("cutover_upstream_errors_total", labels) == 1
    await upstreams[1].hang_cancelled.wait()  # the stuck attempt was closed, not left open


async def test_hung_candidate_falls_back_at_the_deadline_on_the_task_path(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """On a fresh candidate connection, a request with no head falls back at the deadline."""
    upstreams[1].frozen = True
    gateway = await make_gateway(routes=[HUNG_ROUTE])
    async with client(gateway) as c:
        r = await c.get("/json")
    assert r.status_code == 200
    assert r.headers["x-cutover-backend"] == "baseline"
    assert 0.3 <= r.elapsed.total_seconds() < 1.0


async def test_the_published_auto_deadline_is_used(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """An ``auto`` route takes the deadline the controller publishes (within its floor)."""
    route = {**ALL_CANDIDATE[0], "fallback_after_floor_s": 0.1}
    gateway = await make_gateway(routes=[route])
    assert gateway.state.fallback_after == [2.0]  # the 5 s default, capped by the 2 s read timeout
    gateway.state.set_fallback_after("default", 0.2)
    upstreams[1].frozen = True
    async with client(gateway) as c:
        r = await c.get("/json")
    assert r.headers["x-cutover-backend"] == "baseline"
    assert 0.2 <= r.elapsed.total_seconds() < 0.9


async def test_a_head_before_the_deadline_is_not_cut(make_gateway: GatewayFactory) -> None:
    """The deadline is for the head only: a candidate answering in time keeps the request."""
    gateway = await make_gateway(routes=[HUNG_ROUTE])
    async with client(gateway) as c:
        r = await c.get("/slow/100")
        big = await c.get("/big/3000000")
    assert r.headers["x-cutover-backend"] == "candidate"
    assert big.headers["x-cutover-backend"] == "candidate"
    assert len(big.content) == 3_000_000


async def test_post_to_a_hung_candidate_waits_the_read_timeout(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """A request that cannot fall back gets no fallback deadline: 504 after the read timeout."""
    upstreams[1].frozen = True
    gateway = await make_gateway(
        routes=[HUNG_ROUTE],
        upstreams={"candidate": {"url": upstreams[1].url, "read_timeout_s": 0.6}},
    )
    async with client(gateway) as c:
        r = await c.post("/json", content=b"{}")
    assert r.status_code == 504
    assert r.json()["error"] == "upstream_timeout"
    assert r.elapsed.total_seconds() >= 0.6


# ------------------------------------------------------------- dead baseline (issue #12, item 3)

RANDOM_10 = {
    "name": "default",
    "paths": ["/*"],
    "weight_bps": 1_000,
    "sticky": {"headers": [], "client_address": False},
}


async def test_dead_baseline_gets_are_answered_by_the_candidate(
    upstreams: tuple[Upstream, Upstream],
) -> None:
    """At 10 %, a closed baseline port turns no GET into an error; POSTs to it stay 502."""
    registry, recorder = CollectorRegistry(), Recorder()
    config = config_for(f"http://127.0.0.1:{free_port()}", upstreams[1].url, routes=[RANDOM_10])
    gateway = Gateway(config, registry, observers=[recorder], rng=random.Random(3))
    await gateway.start()
    try:
        async with client(gateway) as c:
            gets = [await c.get("/json") for _ in range(30)]
            posts = [await c.post("/echo", content=b"{}") for _ in range(10)]
    finally:
        await gateway.stop()
    assert {(r.status_code, r.headers["x-cutover-backend"]) for r in gets} == {(200, "candidate")}
    to_baseline = [r for r in posts if r.headers["x-cutover-backend"] == "baseline"]
    assert to_baseline
    assert {r.status_code for r in to_baseline} == {502}
    fallbacks = registry.get_sample_value(
        "cutover_fallbacks_total", {"route": "default", "to": "candidate"}
    )
    assert fallbacks is not None
    assert fallbacks >= 20
    assert ("default", "baseline", 502, "connect") in recorder.calls


@pytest.mark.parametrize("mode", ["off", "to_baseline"])
async def test_dead_baseline_without_fallback_to_the_candidate_is_502(
    upstreams: tuple[Upstream, Upstream], mode: str
) -> None:
    """``fallback: off`` or ``to_baseline`` keeps today's answer for a dead baseline: 502."""
    route = {"name": "default", "paths": ["/*"], "fallback": mode}
    config = config_for(f"http://127.0.0.1:{free_port()}", upstreams[1].url, routes=[route])
    gateway = Gateway(config)
    await gateway.start()
    try:
        async with client(gateway) as c:
            r = await c.get("/json")
    finally:
        await gateway.stop()
    assert r.status_code == 502
    assert r.headers["x-cutover-backend"] == "baseline"


async def test_fallback_off_keeps_the_candidate_failure(make_gateway: GatewayFactory) -> None:
    """With ``fallback: off`` a candidate 503 on a GET reaches the client."""
    gateway = await make_gateway(routes=[{**ALL_CANDIDATE[0], "fallback": "off"}])
    async with client(gateway) as c:
        r = await c.get("/status/503")
    assert r.status_code == 503
    assert r.headers["x-cutover-backend"] == "candidate"


async def test_baseline_5xx_is_its_answer(make_gateway: GatewayFactory) -> None:
    """A baseline 503 is not retried on the candidate: the control's own answer stands."""
    registry = CollectorRegistry()
    gateway = await make_gateway(registry=registry)
    async with client(gateway) as c:
        r = await c.get("/status/503")
    assert r.status_code == 503
    assert r.headers["x-cutover-backend"] == "baseline"
    assert (
        registry.get_sample_value(
            "cutover_fallbacks_total", {"route": "default", "to": "candidate"}
        )
        is None
    )


async def test_hung_baseline_falls_back_after_its_read_timeout(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """A silent baseline is retried on the candidate at its read timeout (no head deadline)."""
    upstreams[0].frozen = True
    gateway = await make_gateway(
        upstreams={"baseline": {"url": upstreams[0].url, "read_timeout_s": 0.4}}
    )
    async with client(gateway) as c:
        r = await c.get("/json")
    assert r.status_code == 200
    assert r.headers["x-cutover-backend"] == "candidate"
    assert 0.4 <= r.elapsed.total_seconds() < 1.2


# ------------------------------------------------------------------ in-flight evidence


async def test_inflight_reports_stuck_attempts_and_metrics(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """Attempts still waiting are counted per route and backend, with the oldest one's age."""
    registry = CollectorRegistry()
    gateway = await make_gateway(registry=registry, routes=ALL_CANDIDATE)
    proxy = gateway.proxy
    assert proxy is not None
    assert proxy.inflight("default", "candidate", 0.0) == (0, 0, 0.0)
    async with client(gateway) as c:
        pending = asyncio.ensure_future(c.post("/hang", content=b"{}"))
        await upstreams[1].hang_started.wait()
        count, old, oldest = proxy.inflight("default", "candidate", 0.0)
        assert (count, old) == (1, 1)
        assert oldest > 0.0
        assert proxy.inflight("default", "candidate", 60.0)[:2] == (1, 0)
        assert proxy.inflight("other", "candidate", 0.0) == (0, 0, 0.0)
        assert proxy.inflight("default", "baseline", 0.0) == (0, 0, 0.0)
        assert registry.get_sample_value("cutover_upstream_inflight", {"backend": "candidate"}) == 1
        age = registry.get_sample_value(
            "cutover_upstream_inflight_oldest_seconds", {"backend": "candidate"}
        )
        assert age is not None
        assert age > 0.0
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
    await upstreams[1].hang_cancelled.wait()
    assert proxy.inflight("default", "candidate", 0.0) == (0, 0, 0.0)
