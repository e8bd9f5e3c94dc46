"""``WS /api/v1/ws``: ping and streamed scan progress (seed 000, "Day 15-17: Real-time Features").

Auth comes from the same headers as HTTP or ``?api_key=`` (browsers cannot set headers on a
WebSocket). A refused client is accepted and then closed with 1008 (policy violation):
closing before the handshake completes would turn into an HTTP 403 and the client would
never see the code API.md promises.

Messages are handled one at a time; a bad message gets ``{"type": "error"}`` and
the connection stays open.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from fastapi_backend.auth import API_KEY_STATE, auth_failure, presented_key
from fastapi_backend.bridges import Bridge, BridgeError
from fastapi_backend.models import ScanRequest, ScanResponse
from fastapi_backend.routes import BRIDGE_STATE

POLICY_VIOLATION = 1008

router = APIRouter(prefix="/api/v1", tags=["websocket"])


def error_message(detail: str) -> dict[str, Any]:
    """The ``error`` message of the protocol."""
    return {"type": "error", "data": {"detail": detail}}


def describe_validation_error(error: ValidationError) -> str:
    """One line of pydantic's errors: ``Invalid scan request: paths: Input should be ...``."""
    parts = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "data"
        parts.append(f"{location}: {item['msg']}")
    return "Invalid scan request: " + "; ".join(parts)


def parse_message(text: str) -> tuple[str, Any] | str:
    """``(type, data)`` of a client message, or the error detail if not a typed JSON object."""
    try:
        message = json.loads(text)
    except ValueError:
        return "Invalid message: not JSON"
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "Invalid message: expected a JSON object with a string 'type'"
    return message["type"], message.get("data")


@router.websocket("/ws")
async def websocket_endpoint(websocket: WebSocket) -> None:
    """Authenticate, then answer ping and scan messages until the client disconnects."""
    expected: str = getattr(websocket.app.state, API_KEY_STATE)
    presented = presented_key(websocket.headers) or websocket.query_params.get("api_key") or None
    await websocket.accept()
    failure = auth_failure(presented, expected)
    if failure is not None:
        await websocket.close(code=POLICY_VIOLATION, reason=failure)
        return
    bridge: Bridge = getattr(websocket.app.state, BRIDGE_STATE)
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                await websocket.send_json(error_message("Invalid message: expected a text frame"))
                continue
            await handle_message(websocket, bridge, text)


async def handle_message(websocket: WebSocket, bridge: Bridge, text: str) -> None:
    """Answer one client message."""
    parsed = parse_message(text)
    if isinstance(parsed, str):
        await websocket.send_json(error_message(parsed))
        return
    kind, data = parsed
    if kind == "ping":
        await websocket.send_json({"type": "pong"})
    elif kind == "scan":
        await stream_scan(websocket, bridge, {} if data is None else data)
    else:
        await websocket.send_json(error_message(f"Unknown message type: {kind}"))


async def stream_scan(websocket: WebSocket, bridge: Bridge, data: Any) -> None:
    """Relay the bridge's scan events; ``scan_completed`` data goes through ``ScanResponse``."""
    try:
        request = ScanRequest.model_validate(data)
    except ValidationError as exc:
        await websocket.send_json(error_message(describe_validation_error(exc)))
        return
    events = bridge.scan_events(request.paths, request.include_patterns, request.exclude_patterns)
    try:
        async with contextlib.aclosing(events):
            async for event in events:
                if event.get("type") == "scan_completed":
                    completed = ScanResponse.model_validate(event.get("data"))
                    event = {"type": "scan_completed", "data": completed.model_dump(mode="json")}
                await websocket.send_json(event)
    except BridgeError as exc:
        await websocket.send_json(error_message(exc.detail))
    except ValidationError as exc:
        await websocket.send_json(error_message(f"Invalid scan result: {exc.error_count()} errors"))
