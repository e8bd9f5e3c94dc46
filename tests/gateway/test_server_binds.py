"""How ``--workers`` gateways bind: no public listener, SO_REUSEPORT, overridden admin address."""

from __future__ import annotations

import socket

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.server import Gateway
from tests.gateway.conftest import config_for
from tests.gateway.upstreams import Upstream
from tests.support.servers import free_port


async def test_a_gateway_without_public_listener_serves_only_admin(
    upstreams: tuple[Upstream, Upstream],
) -> None:
    """``public=False`` binds the admin port only; public_port stays the configured port."""
    port = free_port()
    config = config_for(upstreams[0].url, upstreams[1].url, listeners={"public": {"port": port}})
    gateway = Gateway(config, CollectorRegistry(), public=False)
    await gateway.start()
    try:
        assert gateway.proxy is None
        assert gateway.pools == {}
        assert gateway.public_port == port
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        async with httpx.AsyncClient() as http:
            ready = await http.get(f"http://127.0.0.1:{gateway.admin_port}/readyz")
        assert ready.status_code == 200
    finally:
        await gateway.stop()


async def test_two_gateways_share_a_public_port_with_reuse_port(
    upstreams: tuple[Upstream, Upstream],
) -> None:
    """Two ``reuse_port=True`` gateways bind one public port; each on its own admin address."""
    port = free_port()
    config = config_for(upstreams[0].url, upstreams[1].url, listeners={"public": {"port": port}})
    first = Gateway(config, reuse_port=True, admin_bind=("127.0.0.1", 0))
    second = Gateway(config, reuse_port=True, admin_bind=("127.0.0.1", 0))
    await first.start()
    try:
        await second.start()
        try:
            assert first.public_port == second.public_port == port
            assert first.admin_port != second.admin_port
            async with httpx.AsyncClient() as http:
                answer = await http.get(f"http://127.0.0.1:{port}/json")
            assert answer.status_code == 200
        finally:
            await second.stop()
    finally:
        await first.stop()


async def test_without_reuse_port_a_second_bind_fails(
    upstreams: tuple[Upstream, Upstream],
) -> None:
    """The default stays exclusive: a second gateway on a bound public port raises OSError."""
    port = free_port()
    config = config_for(upstreams[0].url, upstreams[1].url, listeners={"public": {"port": port}})
    first = Gateway(config)
    await first.start()
    try:
        second = Gateway(config, admin_bind=("127.0.0.1", 0))
        with pytest.raises(OSError, match="in use"):
            await second.start()
    finally:
        await first.stop()
