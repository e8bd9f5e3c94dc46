"""The shadow service end to end against two real upstreams on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import orjson
import pytest

from contracts.validators import ContractValidator
from gateway.observer import Exchange
from gateway.shadow.config import RouteShadowConfig, parse_route_shadow
from gateway.shadow.sender import PoolSender, ShadowResponse
from gateway.shadow.service import ShadowService
from tests.gateway.shadow.conftest import (
    Upstreams,
    make_service,
    primary_exchange,
    scripted_draw,
    upstream_configs,
)

pytestmark = pytest.mark.integration


async def test_report_names_real_differences_and_suppresses_noise(
    upstreams: Upstreams, sender: PoolSender
) -> None:
    """Renamed field, changed type and reordered array are reported; timestamp and id are noise."""
    config = RouteShadowConfig(percent=100, same_backend_percent=50)
    # 10 probes first (draw < 0.5), then 20 cross-backend shadows.
    service, registry = make_service(
        sender, {"items": config}, scripted_draw([0.0] * 10), noise_min_probes=5
    )
    service.start()
    try:
        for _ in range(10):
            service.on_response(await primary_exchange(sender, "items", "/items"))
        await service.drain()
        for _ in range(20):
            service.on_response(await primary_exchange(sender, "items", "/items"))
        await service.drain()
    finally:
        await service.close()
    detail = service.evidence.detail("items")
    verdicts = {f["field"]: f["verdict"] for f in detail["fields"]}
    assert verdicts == {
        "$.name": "real",
        "$.title": "real",
        "$.count": "real",
        "$.tags": "real",
        "$.id": "noise",
        "$.generated_at": "noise",
    }
    kinds = {f["field"]: set(f["kinds"]) for f in detail["fields"]}
    assert kinds["$.name"] == {"missing"}
    assert kinds["$.title"] == {"extra"}
    assert kinds["$.count"] == {"type"}
    assert kinds["$.tags"] == {"order"}
    assert detail["outcomes"]["mismatched"] == 20
    assert detail["noise_probes"]["compared"] == 10
    assert len(upstreams.candidate.shadow_requests) == 20
    assert len(upstreams.baseline.shadow_requests) == 10
    value = registry.get_sample_value
    assert (
        value("cutover_shadow_field_mismatches_total", {"route": "items", "field": "$.count"}) == 20
    )
    assert (
        value("cutover_shadow_field_mismatches_total", {"route": "items", "field": "$.id"}) is None
    )


async def test_noise_only_shadows_and_rules(upstreams: Upstreams, sender: PoolSender) -> None:
    """A response differing only by noise is ``noise``; ignore/unordered rules mute real fields."""
    clock = RouteShadowConfig(percent=100, same_backend_percent=50)
    ruled = parse_route_shadow(
        {
            "percent": 100,
            "same_backend_percent": 0,
            "ignore": ["$.id", "$.generated_at", "$.name", "$.title"],
            "unordered": ["$.tags"],
        }
    )
    service, registry = make_service(
        sender, {"clock": clock, "items": ruled}, scripted_draw([0.0] * 6), noise_min_probes=5
    )
    service.start()
    try:
        for _ in range(6):
            service.on_response(await primary_exchange(sender, "clock", "/clock"))
        await service.drain()
        for _ in range(5):
            service.on_response(await primary_exchange(sender, "clock", "/clock"))
            service.on_response(await primary_exchange(sender, "items", "/items"))
        await service.drain()
    finally:
        await service.close()
    assert service.evidence.summary("clock")["outcomes"]["noise"] == 5
    items = service.evidence.detail("items")
    assert [f["field"] for f in items["fields"]] == ["$.count"]  # only the type change is left
    assert (
        registry.get_sample_value("cutover_shadow_total", {"route": "clock", "outcome": "noise"})
        == 5
    )


async def test_post_is_not_shadowed_by_default(upstreams: Upstreams, sender: PoolSender) -> None:
    """A POST on a 100 % route produces no shadow request; the opt-in route does shadow it."""
    plain = RouteShadowConfig(percent=100, same_backend_percent=0)
    opted = parse_route_shadow(
        {"percent": 100, "same_backend_percent": 0, "methods": ["GET", "POST"]}
    )
    service, _ = make_service(sender, {"plain": plain, "opted": opted}, scripted_draw([]))
    service.start()
    try:
        body = b'{"title": "x"}'
        headers = ((b"content-type", b"application/json"), (b"content-length", b"14"))
        service.on_response(
            await primary_exchange(
                sender, "plain", "/clock", method="POST", headers=headers, body=body
            )
        )
        await service.drain()
        assert upstreams.candidate.shadow_requests == []
        service.on_response(
            await primary_exchange(
                sender, "opted", "/clock", method="POST", headers=headers, body=body
            )
        )
        await service.drain()
    finally:
        await service.close()
    assert [(m, p) for m, p, _ in upstreams.candidate.shadow_requests] == [("POST", "/clock")]
    assert service.evidence.summary("plain")["compared"] == 0


async def test_shadow_carries_header_query_and_request_headers(
    upstreams: Upstreams, sender: PoolSender
) -> None:
    """The shadow repeats method, path, query and headers, and adds ``X-Cutover-Shadow: 1``."""
    service, _ = make_service(
        sender, {"r": RouteShadowConfig(percent=100, same_backend_percent=0)}, scripted_draw([])
    )
    service.start()
    try:
        headers = ((b"accept", b"application/json"), (b"x-trace", b"abc"))
        service.on_response(await primary_exchange(sender, "r", "/clock?x=1&y=2", headers=headers))
        await service.drain()
    finally:
        await service.close()
    [(method, path, seen)] = upstreams.candidate.shadow_requests
    assert (method, path) == ("GET", "/clock")
    assert seen["x-trace"] == "abc"
    assert seen["x-cutover-shadow"] == "1"
    assert upstreams.candidate.requests[-1][2]["x-cutover-shadow"] == "1"


async def test_shadow_timeout_is_errored_not_raised(
    upstreams: Upstreams, sender: PoolSender
) -> None:
    """A shadow slower than the route's timeout is counted as errored (reason ``timeout``)."""
    config = RouteShadowConfig(percent=100, same_backend_percent=0, timeout_s=0.2)
    service, registry = make_service(sender, {"slow": config}, scripted_draw([]))
    x = await primary_exchange(sender, "slow", "/clock")
    slow = Exchange(
        x.route, x.backend, x.method, "/slow", x.request_headers, x.request_body,
        x.status, x.response_headers, x.response_body,
    )  # fmt: skip
    service.start()
    started = time.perf_counter()
    try:
        service.on_response(slow)
        await service.drain()
    finally:
        await service.close()
    assert time.perf_counter() - started < 2.0
    detail = service.evidence.detail("slow")
    assert detail["outcomes"]["errored"] == 1
    assert detail["errors"] == {"timeout": 1}
    assert (
        registry.get_sample_value("cutover_shadow_total", {"route": "slow", "outcome": "errored"})
        == 1
    )


async def test_connect_failure_is_errored(upstreams: Upstreams) -> None:
    """A backend that refuses connections yields an errored shadow, never an exception."""
    from tests.support.servers import free_port

    urls = {**upstreams.urls, "candidate": f"http://127.0.0.1:{free_port()}"}
    sender = PoolSender(upstream_configs(urls))
    service, _ = make_service(
        sender, {"r": RouteShadowConfig(percent=100, same_backend_percent=0)}, scripted_draw([])
    )
    service.start()
    try:
        service.on_response(await primary_exchange(sender, "r", "/clock"))
        await service.drain()
    finally:
        await service.close()
        await sender.close()
    assert service.evidence.detail("r")["errors"] == {"connect": 1}


class BlockedSender:
    """A sender whose every request waits for ``release`` — a stand-in for a stuck backend."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()
        self.started = 0

    async def send(
        self,
        backend: str,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        timeout: float,  # noqa: ASYNC109 - the ShadowSender seam's signature
    ) -> ShadowResponse:
        self.started += 1
        self.entered.set()
        await self.release.wait()
        return ShadowResponse(200, (("content-type", "application/json"),), b"{}")


async def test_saturated_queue_drops_and_counts_without_blocking(
    upstreams: Upstreams, sender: PoolSender
) -> None:
    """With the queue full, further shadows are dropped and counted and enqueueing stays O(1)."""
    blocked = BlockedSender()
    from prometheus_client import CollectorRegistry

    from gateway.shadow.config import ShadowSettings

    registry = CollectorRegistry()
    service = ShadowService(
        ShadowSettings(queue_size=2, workers=1),
        blocked,
        registry,
        routes={"r": RouteShadowConfig(percent=100, same_backend_percent=0)},
        draw=scripted_draw([]),
    )
    exchange = await primary_exchange(sender, "r", "/clock")
    service.start()
    try:
        service.on_response(exchange)
        await blocked.entered.wait()  # the worker took it and is stuck in send()
        started = time.perf_counter()
        for _ in range(1000):
            service.on_response(exchange)
        per_call = (time.perf_counter() - started) / 1000
        assert blocked.started == 1
        assert service.shadow_queue.depth == 2
        assert registry.get_sample_value("cutover_shadow_queue_depth") == 2
        assert registry.get_sample_value("cutover_shadow_dropped_total", {"route": "r"}) == 998
        assert service.evidence.summary("r")["outcomes"]["dropped"] == 998
        assert per_call < 0.001
        blocked.release.set()
        await service.drain()
    finally:
        await service.close()
    assert service.evidence.summary("r")["compared"] == 3


async def test_secrets_are_redacted_in_samples(upstreams: Upstreams, sender: PoolSender) -> None:
    """Authorization, X-API-Key, Cookie, Set-Cookie and ?api_key= never appear in kept samples."""
    service, _ = make_service(
        sender, {"s": RouteShadowConfig(percent=100, same_backend_percent=0)}, scripted_draw([])
    )
    headers = (
        (b"authorization", b"Bearer topsecret-bearer"),
        (b"x-api-key", b"topsecret-key"),
        (b"cookie", b"sid=topsecret-sid"),
    )
    service.start()
    try:
        service.on_response(
            await primary_exchange(
                sender, "s", "/secret?api_key=topsecret-query&x=1", headers=headers
            )
        )
        await service.drain()
    finally:
        await service.close()
    detail = service.evidence.detail("s")
    [field] = detail["fields"]
    assert field["field"] == "$.variant"
    [sample] = field["samples"]
    assert sample["request"]["headers"]["authorization"] == "[redacted]"
    assert sample["request"]["path"] == "/secret?api_key=[redacted]&x=1"
    text = orjson.dumps(detail).decode()
    assert "topsecret" not in text


async def test_contract_violations_counted_per_backend(
    upstreams: Upstreams, sender: PoolSender
) -> None:
    """Primary and shadow responses are validated; a bad candidate health body is a violation."""
    from prometheus_client import CollectorRegistry

    from gateway.shadow.config import ShadowSettings

    observed: list[tuple[str, str, bool]] = []

    class Observer:
        """Records what the migration metrics would receive."""

        def observe_contract(self, route: str, backend: str, violated: bool) -> None:
            observed.append((route, backend, violated))

        def observe_shadow(self, route: str, mismatched: bool) -> None:
            observed.append((route, "shadow", mismatched))

    registry = CollectorRegistry()
    service = ShadowService(
        ShadowSettings(),
        sender,
        registry,
        routes={"health": RouteShadowConfig(percent=100, same_backend_percent=0)},
        validator=ContractValidator.from_path(),
        observers=[Observer()],
        draw=scripted_draw([]),
    )
    service.start()
    try:
        assert service.wants("health", "GET")
        service.on_response(await primary_exchange(sender, "health", "/api/v1/system/health"))
        service.on_response(await primary_exchange(sender, "health", "/nowhere"))  # not in contract
        await service.drain()
    finally:
        await service.close()
    summary = service.contracts.detail("health")
    assert summary["backends"]["baseline"]["checked"] == 1
    assert summary["backends"]["baseline"]["violated"] == 0
    assert summary["backends"]["candidate"]["violated"] == 1
    assert summary["backends"]["candidate"]["kinds"] == {"schema": 1}
    [sample] = summary["samples"]["schema"]
    assert "$.status" in sample["details"][0]
    value = registry.get_sample_value
    labels = {"route": "health", "backend": "candidate", "kind": "schema"}
    assert value("cutover_contract_violations_total", labels) == 1
    assert value("cutover_contract_checks_total", {"route": "health", "backend": "baseline"}) == 1
    rates = service.rates("health", 60, backend="candidate")
    assert rates.samples == 2  # /health and /nowhere were both compared
    assert rates.violation_rate == 1.0
    assert ("health", "shadow", True) in observed  # health bodies differ across backends
    assert ("health", "candidate", True) in observed
    assert ("health", "baseline", False) in observed


async def test_check_primaries_off_checks_only_shadowed_exchanges(
    upstreams: Upstreams, sender: PoolSender
) -> None:
    """With ``check_primaries: false`` only shadowed exchanges are checked (and tapped at all)."""
    from prometheus_client import CollectorRegistry

    from gateway.shadow.config import ShadowSettings

    service = ShadowService(
        ShadowSettings(check_primaries=False),
        sender,
        CollectorRegistry(),
        routes={
            "shadowed": RouteShadowConfig(percent=100, same_backend_percent=0),
            "plain": RouteShadowConfig(),
        },
        validator=ContractValidator.from_path(),
        draw=scripted_draw([]),
    )
    assert not service.wants("plain", "GET")
    assert service.wants("shadowed", "GET")
    try:
        health = "/api/v1/system/health"
        service.on_response(await primary_exchange(sender, "plain", health))
        service.on_response(await primary_exchange(sender, "shadowed", health))
        await service.drain()
    finally:
        await service.close()
    assert service.contracts.summary("plain")["backends"] == {}
    backends = service.contracts.summary("shadowed")["backends"]
    assert (backends["baseline"]["checked"], backends["candidate"]["checked"]) == (1, 1)


async def test_stale_shadows_are_dropped_not_sent(upstreams: Upstreams, sender: PoolSender) -> None:
    """A shadow that waited longer than ``max_queue_age_s`` for a worker is dropped and counted."""
    from prometheus_client import CollectorRegistry

    from gateway.shadow.config import ShadowSettings

    now = [100.0]
    registry = CollectorRegistry()
    service = ShadowService(
        ShadowSettings(max_queue_age_s=0.5),
        sender,
        registry,
        routes={"r": RouteShadowConfig(percent=100, same_backend_percent=0)},
        monotonic=lambda: now[0],
        draw=scripted_draw([]),
    )
    exchange = await primary_exchange(sender, "r", "/clock")
    try:
        service.on_response(exchange)  # enqueued at t=100 (workers start on the loop)
        now[0] += 1.0  # the worker picks it up a second later
        await service.drain()
        now[0] += 0.1
        service.on_response(exchange)
        await service.drain()
    finally:
        await service.close()
    outcomes = service.evidence.summary("r")["outcomes"]
    assert (outcomes["dropped"], outcomes["matched"] + outcomes["mismatched"]) == (1, 1)
    assert len(upstreams.candidate.shadow_requests) == 1
    assert registry.get_sample_value("cutover_shadow_dropped_total", {"route": "r"}) == 1
