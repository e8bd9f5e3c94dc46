"""Fixtures: the two deliberately different upstreams on loopback and a service wired to them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry

from gateway.config import UpstreamConfig, build_config
from gateway.observer import Exchange
from gateway.shadow.config import RouteShadowConfig, ShadowSettings
from gateway.shadow.sender import PoolSender
from gateway.shadow.service import ShadowService
from tests.gateway.shadow.upstreams import VariantApp, serve


@dataclass
class Upstreams:
    baseline: VariantApp
    candidate: VariantApp
    urls: dict[str, str]


@pytest.fixture
async def upstreams() -> AsyncIterator[Upstreams]:
    baseline, candidate = VariantApp("baseline"), VariantApp("candidate")
    async with serve(baseline) as b_url, serve(candidate) as c_url:
        yield Upstreams(baseline, candidate, {"baseline": b_url, "candidate": c_url})


def scripted_draw(values: Iterator[float] | list[float]) -> Callable[[], float]:
    """A draw returning ``values`` in order (then 0.99 forever: sampled, never a probe)."""
    it = iter(values)
    return lambda: next(it, 0.99)


async def primary_exchange(
    sender: PoolSender,
    route: str,
    path: str,
    *,
    method: str = "GET",
    backend: str = "baseline",
    headers: tuple[tuple[bytes, bytes], ...] = (),
    body: bytes | None = None,
) -> Exchange:
    """Fetch the primary response for real and package it as the gateway's tap would."""
    text_headers = [(n.decode(), v.decode()) for n, v in headers]
    response = await sender.send(backend, method, path, text_headers, body, 5.0)
    return Exchange(
        route=route,
        backend=backend,
        method=method,
        target=path,
        request_headers=headers,
        request_body=body,
        status=response.status,
        response_headers=tuple((n.encode(), v.encode()) for n, v in response.headers),
        response_body=response.body,
    )


def upstream_configs(urls: dict[str, str]) -> dict[str, UpstreamConfig]:
    """The gateway's upstream config for each named URL (what the shadow sender is built from)."""
    config = build_config({"upstreams": {name: {"url": url} for name, url in urls.items()}})
    return {name: config.upstream(name) for name in urls}


@pytest.fixture
async def sender(upstreams: Upstreams) -> AsyncIterator[PoolSender]:
    client = PoolSender(upstream_configs(upstreams.urls))
    yield client
    await client.close()


def make_service(
    sender: PoolSender,
    routes: dict[str, RouteShadowConfig],
    draw: Callable[[], float],
    **settings: object,
) -> tuple[ShadowService, CollectorRegistry]:
    registry = CollectorRegistry()
    service = ShadowService(
        ShadowSettings(**settings),  # type: ignore[arg-type]
        sender,
        registry,
        routes=routes,
        draw=draw,
    )
    return service, registry
