"""WS /api/v1/ws on a real uvicorn server: auth (close 1008), ping, errors, scan progress."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError

from engine.settings import LlmstructSettings
from fastapi_backend.app import create_app
from fastapi_backend.bridges import Bridge, CLIBridge, InProcessBridge
from tests.fastapi_backend.asgi_server import serve
from tests.fastapi_backend.conftest import API_KEY, AUTH

pytestmark = pytest.mark.integration

SCAN_FIELDS = [
    "scan_id",
    "status",
    "files_scanned",
    "files_cached",
    "total_lines",
    "modules",
    "classes",
    "functions",
    "errors",
    "started_at",
    "finished_at",
    "duration_ms",
]


@pytest.fixture
async def address(settings: LlmstructSettings, bridge: InProcessBridge) -> AsyncIterator[str]:
    """The app over the in-process bridge, served on loopback."""
    async with serve(create_app(settings, bridge=bridge, registry=CollectorRegistry())) as where:
        yield where


async def exchange(ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(message))
    answer: dict[str, Any] = json.loads(await ws.recv())
    return answer


async def scan_messages(ws: ClientConnection, data: dict[str, Any]) -> list[dict[str, Any]]:
    """Send a scan and collect messages up to scan_completed or error."""
    await ws.send(json.dumps({"type": "scan", "data": data}))
    messages = []
    while True:
        message = json.loads(await ws.recv())
        messages.append(message)
        if message["type"] in {"scan_completed", "error"}:
            return messages


@pytest.mark.parametrize(
    ("query", "reason"),
    [("", "Missing API key"), ("?api_key=wrong", "Invalid API key")],
    ids=["missing", "wrong"],
)
async def test_unauthenticated_socket_is_closed_with_1008(
    address: str, query: str, reason: str
) -> None:
    """Without a valid key the server closes with 1008 and says why."""
    async with connect(f"ws://{address}/api/v1/ws{query}") as ws:
        with pytest.raises(ConnectionClosedError) as caught:
            await ws.recv()
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (1008, reason)


async def test_query_key_allows_ping(address: str) -> None:
    """?api_key= authenticates; ping answers pong."""
    async with connect(f"ws://{address}/api/v1/ws?api_key={API_KEY}") as ws:
        assert await exchange(ws, {"type": "ping"}) == {"type": "pong"}


async def test_bad_messages_get_errors_and_the_socket_stays_open(address: str) -> None:
    """Non-JSON, untyped, unknown and binary messages get an error; ping still works after."""
    async with connect(f"ws://{address}/api/v1/ws", additional_headers=AUTH) as ws:
        await ws.send("{nope")
        assert json.loads(await ws.recv()) == {
            "type": "error",
            "data": {"detail": "Invalid message: not JSON"},
        }
        assert (await exchange(ws, {"data": 1}))["type"] == "error"
        unknown = await exchange(ws, {"type": "dance"})
        assert unknown == {"type": "error", "data": {"detail": "Unknown message type: dance"}}
        await ws.send(b"\x00\x01")
        assert (
            json.loads(await ws.recv())["data"]["detail"]
            == "Invalid message: expected a text frame"
        )
        assert await exchange(ws, {"type": "ping"}) == {"type": "pong"}


async def test_scan_streams_progress_then_completion(address: str) -> None:
    """scan_started(total), a scan_progress per file, then scan_completed (ScanResponse)."""
    async with connect(f"ws://{address}/api/v1/ws", additional_headers=AUTH) as ws:
        messages = await scan_messages(ws, {})
    started, *progress, completed = messages
    assert started == {"type": "scan_started", "data": {"total": 3}}
    assert [m["type"] for m in progress] == ["scan_progress"] * 3
    assert [m["data"]["current"] for m in progress] == [1, 2, 3]
    assert {m["data"]["path"] for m in progress} == {
        "broken.py",
        "pkg/__init__.py",
        "pkg/shapes.py",
    }
    assert [m["data"]["error"] is not None for m in progress].count(True) == 1
    assert completed["type"] == "scan_completed"
    assert list(completed["data"]) == SCAN_FIELDS
    assert completed["data"]["files_scanned"] == 3


async def test_invalid_scan_data_is_an_error(address: str) -> None:
    """A ScanRequest that fails validation answers an error naming the field."""
    async with connect(f"ws://{address}/api/v1/ws", additional_headers=AUTH) as ws:
        answer = await exchange(ws, {"type": "scan", "data": {"paths": "pkg"}})
        assert answer["type"] == "error"
        assert answer["data"]["detail"].startswith("Invalid scan request: paths:")
        assert await exchange(ws, {"type": "ping"}) == {"type": "pong"}


async def test_scan_outside_root_is_an_error(address: str) -> None:
    """A scan path outside the root answers an error with the engine's message."""
    async with connect(f"ws://{address}/api/v1/ws", additional_headers=AUTH) as ws:
        messages = await scan_messages(ws, {"paths": ["../x"]})
    assert messages[-1] == {
        "type": "error",
        "data": {"detail": "Path is outside the project root: ../x"},
    }


async def test_scan_streams_through_the_cli(settings: LlmstructSettings) -> None:
    """Over CLIBridge, scan --progress lines are relayed as they come."""
    cli: Bridge = CLIBridge(settings)
    async with (
        serve(create_app(settings, bridge=cli, registry=CollectorRegistry())) as where,
        connect(f"ws://{where}/api/v1/ws", additional_headers=AUTH) as ws,
    ):
        messages = await scan_messages(ws, {"paths": ["pkg"]})
    assert [m["type"] for m in messages] == [
        "scan_started",
        "scan_progress",
        "scan_progress",
        "scan_completed",
    ]
    assert messages[-1]["data"]["files_scanned"] == 2


async def test_stalled_cli_scan_times_out_with_an_error(
    settings: LlmstructSettings, tmp_path: Path
) -> None:
    """A CLI that starts a scan and then stalls is killed; the client gets the 504 message."""
    stall = tmp_path / "stall.sh"
    stall.write_text('echo \'{"type": "scan_started", "data": {"total": 1}}\'\nexec sleep 30\n')
    quick = settings.model_copy(update={"cli_timeout": 0.5})
    cli: Bridge = CLIBridge(quick, command=["/bin/sh", str(stall)])
    async with (
        serve(create_app(quick, bridge=cli, registry=CollectorRegistry())) as where,
        connect(f"ws://{where}/api/v1/ws", additional_headers=AUTH) as ws,
    ):
        messages = await scan_messages(ws, {})
        assert await exchange(ws, {"type": "ping"}) == {"type": "pong"}
    assert messages == [
        {"type": "scan_started", "data": {"total": 1}},
        {"type": "error", "data": {"detail": "CLI call timed out after 0.5s"}},
    ]
