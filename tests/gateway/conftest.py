"""Fixtures: two scripted upstreams on loopback and a gateway factory running in the test's loop."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig, build_config
from gateway.observer import RequestObserver, ResponseTap
from gateway.server import Gateway
from gateway.testing import Client
from tests.gateway.upstreams import Upstream

TOKEN = "admin-secret"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CUTOVER_* variable from the outside leaks into a test's config."""
    for key in list(os.environ):
        if key.startswith("CUTOVER_"):
            monkeypatch.delenv(key)


@pytest.fixture
async def upstreams() -> AsyncIterator[tuple[Upstream, Upstream]]:
    """A baseline and a candidate upstream, started."""
    baseline, candidate = Upstream("baseline"), Upstream("candidate")
    await baseline.start()
    await candidate.start()
    yield baseline, candidate
    await baseline.stop()
    await candidate.stop()


def config_for(baseline: str, candidate: str, **extra: Any) -> GatewayConfig:
    """A config pointing at two upstream URLs, both listeners on free ports."""
    upstream = {"connect_timeout_s": 1.0, "read_timeout_s": 2.0, "total_timeout_s": 5.0}
    data: dict[str, Any] = {
        "upstreams": {
            "baseline": {"url": baseline, **upstream},
            "candidate": {"url": candidate, **upstream},
        },
        "listeners": {"public": {"port": 0}, "admin": {"port": 0}},
        "admin_token": TOKEN,
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return build_config(data)


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def make_gateway(
    upstreams: tuple[Upstream, Upstream],
) -> AsyncIterator[GatewayFactory]:
    """Start gateways in front of the two upstreams; all are stopped after the test."""
    started: list[Gateway] = []

    async def factory(
        *,
        registry: CollectorRegistry | None = None,
        observers: tuple[RequestObserver, ...] = (),
        taps: tuple[ResponseTap, ...] = (),
        seed: int = 7,
        **extra: Any,
    ) -> Gateway:
        baseline, candidate = upstreams
        config = config_for(baseline.url, candidate.url, **extra)
        gateway = Gateway(
            config,
            registry or CollectorRegistry(),
            observers=observers,
            taps=taps,
            rng=random.Random(seed),
        )
        await gateway.start()
        started.append(gateway)
        return gateway

    yield factory
    for gateway in started:
        await gateway.stop()


def client(gateway: Gateway, **kwargs: Any) -> httpx.AsyncClient:
    """An httpx client for the gateway's public listener."""
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{gateway.public_port}", timeout=10.0, **kwargs
    )


def admin_client(gateway: Gateway, token: str | None = TOKEN) -> httpx.AsyncClient:
    """An httpx client for the admin listener (with the token unless None)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{gateway.admin_port}", timeout=10.0, headers=headers
    )


@pytest.fixture
async def clients() -> AsyncIterator[list[Client]]:
    """In-process clients (``gateway.testing.Client``) a test makes, closed after it."""
    made: list[Client] = []
    yield made
    for client in made:
        client.close()
