"""Fallback to the baseline, injected faults, observers and response taps over real sockets."""

from __future__ import annotations

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
        self, route: str, backend: str, status: int, duration_s: float, error_kind: str | None
    ) -> None:
        assert duration_s >= 0
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
    assert recorder.calls == [
        ("default", "candidate", 503, None), ("default", "baseline", 503, None),
    ] * 2  # fmt: skip
    assert registry.get_sample_value("cutover_fallbacks_total", {"route": "default"}) == 2
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
            ("default", "candidate", 502, "connect"), ("default", "baseline", 200, None),
        ]  # fmt: skip
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
        "default", "baseline", "GET", "/json?x=1", 200,
    )  # fmt: skip
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
