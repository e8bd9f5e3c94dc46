"""WebSocket relay: the handshake is routed and pinned; frames and close codes pass both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from gateway.server import Gateway
from tests.gateway.conftest import config_for
from tests.gateway.upstreams import Upstream

pytestmark = pytest.mark.integration


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        if message == "close-4001":
            await ws.close(4001, "bye")
            return
        assert ws.request is not None
        await ws.send(
            f"{ws.request.headers.get('X-Forwarded-For')}:{message!s}"
            if message == "who"
            else message
        )


@pytest.fixture
async def ws_gateway(
    upstreams: tuple[Upstream, Upstream],
) -> AsyncIterator[tuple[Gateway, CollectorRegistry]]:
    """A gateway whose baseline is a WebSocket echo server."""
    async with serve(echo, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        registry = CollectorRegistry()
        gateway = Gateway(config_for(f"http://127.0.0.1:{port}", upstreams[1].url), registry)
        await gateway.start()
        try:
            yield gateway, registry
        finally:
            await gateway.stop()


async def test_frames_are_relayed_both_ways(ws_gateway: tuple[Gateway, CollectorRegistry]) -> None:
    """Text and binary frames go through; the handshake carried forwarding fields."""
    gateway, registry = ws_gateway
    labels = {"route": "default", "backend": "baseline"}
    async with connect(f"ws://127.0.0.1:{gateway.public_port}/api/v1/ws") as ws:
        assert ws.response is not None
        assert ws.response.headers["X-Cutover-Backend"] == "baseline"
        await ws.send("hello")
        assert await ws.recv() == "hello"
        await ws.send(b"\x00\x01" * 40_000)
        assert await ws.recv() == b"\x00\x01" * 40_000
        await ws.send("who")
        assert await ws.recv() == "127.0.0.1:who"
        assert registry.get_sample_value("cutover_websocket_connections", labels) == 1
    assert registry.get_sample_value("cutover_websocket_connections", labels) == 0


async def test_close_codes_pass_through(ws_gateway: tuple[Gateway, CollectorRegistry]) -> None:
    """The upstream's close code and reason reach the client."""
    gateway, _ = ws_gateway
    async with connect(f"ws://127.0.0.1:{gateway.public_port}/ws") as ws:
        await ws.send("close-4001")
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None
    assert (info.value.rcvd.code, info.value.rcvd.reason) == (4001, "bye")


async def test_client_close_code_reaches_the_upstream(
    ws_gateway: tuple[Gateway, CollectorRegistry],
) -> None:
    """A client-initiated close completes the closing handshake through the gateway."""
    gateway, _ = ws_gateway
    ws = await connect(f"ws://127.0.0.1:{gateway.public_port}/ws")
    await ws.close(4002, "client done")
    assert ws.close_code == 4002
