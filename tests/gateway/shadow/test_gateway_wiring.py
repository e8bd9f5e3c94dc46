"""The shadow component plugged into the real gateway: tap, admin endpoints, token, latency."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.config import build_config
from gateway.server import Gateway
from gateway.shadow.admin import admin_extension
from gateway.shadow.config import ShadowConfigError, parse_shadow_settings
from gateway.shadow.service import ShadowService
from gateway.shadow.wiring import build_shadow_service
from tests.gateway.shadow.conftest import Upstreams
from tests.gateway.shadow.test_service import BlockedSender

pytestmark = pytest.mark.integration
TOKEN = "shadow-admin-token"


def gateway_config(upstreams: Upstreams) -> Any:
    return build_config(
        {
            "upstreams": {
                "baseline": {"url": upstreams.urls["baseline"]},
                "candidate": {"url": upstreams.urls["candidate"]},
            },
            "routes": [
                {"name": "items", "paths": ["/items"]},
                {"name": "default", "paths": ["/*"]},
            ],
            "listeners": {"public": {"port": 0}, "admin": {"port": 0}},
            "admin_token": TOKEN,
        }
    )


async def running(gateway: Gateway, service: ShadowService) -> AsyncIterator[Gateway]:
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop()
        await service.close()


async def test_gateway_shadows_and_serves_admin_endpoints(upstreams: Upstreams) -> None:
    """Clients get the primary answer; shadows are compared; /shadow endpoints read/set rates."""
    config = gateway_config(upstreams)
    registry = CollectorRegistry()
    settings = parse_shadow_settings(
        {"routes": {"items": {"percent": 100, "same_backend_percent": 0}}}
    )
    service = build_shadow_service(config, registry, settings)
    gateway = Gateway(config, registry, taps=[service], admin_extensions=[admin_extension(service)])
    async for gw in running(gateway, service):
        public = f"http://127.0.0.1:{gw.public_port}"
        admin = f"http://127.0.0.1:{gw.admin_port}"
        async with httpx.AsyncClient() as client:
            for _ in range(3):
                reply = await client.get(f"{public}/items")
                assert reply.status_code == 200
                assert "name" in reply.json()  # the baseline served it
            await service.drain()
            assert len(upstreams.candidate.shadow_requests) == 3
            summary = (await client.get(f"{admin}/shadow")).json()
            items = next(r for r in summary["routes"] if r["route"] == "items")
            assert items["shadow"]["outcomes"]["mismatched"] == 3
            assert "$.name" in items["shadow"]["real_fields"]
            detail = await client.get(f"{admin}/shadow/items")
            assert detail.status_code == 200
            assert {f["field"] for f in detail.json()["shadow"]["fields"]} >= {"$.name", "$.count"}
            assert (await client.get(f"{admin}/shadow/nope")).status_code == 404

            url = f"{admin}/shadow/items/rate"
            assert (await client.put(url, json={"percent": 5})).status_code == 401
            auth = {"Authorization": f"Bearer {TOKEN}"}
            bad = await client.put(url, json={"percent": 500}, headers=auth)
            assert bad.status_code == 422
            assert "percent" in bad.json()["detail"]
            assert (await client.put(url, content=b"{", headers=auth)).status_code == 400
            ok = await client.put(url, json={"percent": 0}, headers=auth)
            assert ok.json() == {"route": "items", "percent": 0.0}
            await client.get(f"{public}/items")
            await service.drain()
            assert len(upstreams.candidate.shadow_requests) == 3  # rate 0: no more shadows


async def test_saturated_queue_keeps_client_latency(upstreams: Upstreams) -> None:
    """With every shadow stuck and the queue full, clients are served as fast and drops counted."""
    config = gateway_config(upstreams)
    registry = CollectorRegistry()
    blocked = BlockedSender()
    settings = parse_shadow_settings({"queue_size": 4, "workers": 1})
    from gateway.shadow.config import RouteShadowConfig

    service = ShadowService(
        settings,
        blocked,
        registry,
        routes={"items": RouteShadowConfig(percent=0), "default": RouteShadowConfig()},
    )
    gateway = Gateway(config, registry, taps=[service])

    async def timed(client: httpx.AsyncClient, url: str, n: int) -> list[float]:
        out = []
        for _ in range(n):
            started = time.perf_counter()
            reply = await client.get(url)
            out.append(time.perf_counter() - started)
            assert reply.status_code == 200
        return out

    async for gw in running(gateway, service):
        url = f"http://127.0.0.1:{gw.public_port}/items"
        async with httpx.AsyncClient() as client:
            await timed(client, url, 10)  # warm up connections
            quiet = await timed(client, url, 60)
            service.set_rate("items", 100)
            saturated = await timed(client, url, 60)
        assert blocked.started == 1
        dropped = registry.get_sample_value("cutover_shadow_dropped_total", {"route": "items"})
        assert dropped == 60 - 1 - 4
        blocked.release.set()
        await asyncio.wait_for(service.drain(), 5)
    assert statistics.median(saturated) < statistics.median(quiet) * 2 + 0.005


def test_shadow_block_for_an_unknown_route_stops_start_up(upstreams: Upstreams) -> None:
    """A ``shadow.routes`` entry naming no gateway route is a config error naming it."""
    settings = parse_shadow_settings({"routes": {"itmes": {"percent": 10}}})
    with pytest.raises(ShadowConfigError, match=r"^shadow\.routes\.itmes: no such gateway route"):
        build_shadow_service(gateway_config(upstreams), CollectorRegistry(), settings)
