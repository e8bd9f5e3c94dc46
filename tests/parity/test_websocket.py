"""``/api/v1/ws`` in-process on both apps: the same handshake, the same
messages, the same scan stream."""

from __future__ import annotations

from typing import Any

import pytest

from tests.parity.asgi_ws import AsgiWebSocket
from tests.parity.conftest import API_KEY, Backends
from tests.parity.normalize import normalise

WS = "/api/v1/ws"


async def conversation(app: Any, messages: list[Any], **connect: Any) -> list[Any]:
    """Connect with the key, send each message, collect every answer until
    the one for the last arrives."""
    ws = AsgiWebSocket(app, WS, **connect)
    accepted = await ws.connect()
    assert accepted["type"] == "websocket.accept", accepted
    answers: list[Any] = []
    for message in messages:
        if isinstance(message, str):
            await ws.send_text(message)
        else:
            await ws.send_json(message)
        while True:
            answer = await ws.receive_json()
            answers.append(answer)
            if answer["type"] not in ("scan_started", "scan_progress"):
                break
    await ws.close()
    return answers


MESSAGES: list[Any] = [
    {"type": "ping"},
    "not json",
    "[1, 2]",
    {"type": 5},
    {"type": "dance"},
    {"type": "scan", "data": {"paths": "pkg"}},
    {"type": "scan", "data": ["pkg"]},
    {"type": "scan", "data": {"paths": ["pkg", 1], "include_patterns": None}},
    {"type": "scan", "data": {"paths": ["../outside"]}},
    {"type": "scan", "data": {"paths": ["escape"]}},
    {"type": "scan", "data": {"paths": ["pkg"]}},
    {"type": "scan"},
    {"type": "ping"},
]


@pytest.mark.parametrize(
    "connect",
    [
        {"headers": [(b"x-api-key", API_KEY.encode())]},
        {"headers": [(b"authorization", f"Bearer {API_KEY}".encode())]},
        {"query": f"api_key={API_KEY}".encode()},
    ],
    ids=["x-api-key", "bearer", "query"],
)
async def test_same_conversation(backends: Backends, connect: dict[str, Any]) -> None:
    """Ping, bad messages, bad and good scans: both apps answer message for message alike."""
    fastapi = await conversation(backends.fastapi_app, MESSAGES, **connect)
    custom = await conversation(backends.custom_app, MESSAGES, **connect)
    assert normalise(custom) == normalise(fastapi)
    kinds = [answer["type"] for answer in custom]
    assert kinds[0] == "pong"
    assert "scan_completed" in kinds
    assert any(a["type"] == "scan_progress" and a["data"]["error"] for a in custom)  # broken.py


@pytest.mark.parametrize(
    "connect",
    [{}, {"headers": [(b"x-api-key", b"wrong")]}, {"query": b"api_key="}],
    ids=["no-key", "bad-key", "empty-query-key"],
)
async def test_refused_alike(backends: Backends, connect: dict[str, Any]) -> None:
    """Without the right key both accept, then close with 1008 and the 401 detail as reason."""
    closes = []
    for app in (backends.fastapi_app, backends.custom_app):
        ws = AsgiWebSocket(app, WS, **connect)
        assert (await ws.connect())["type"] == "websocket.accept"
        close = await ws.message()
        await ws.finished()
        closes.append((close["type"], close["code"], close.get("reason")))
    assert closes[0] == closes[1]
    assert closes[1][:2] == ("websocket.close", 1008)


async def test_unknown_path_refused_alike(backends: Backends) -> None:
    """A WebSocket to any other path is closed before the handshake by both."""
    answers = []
    for app in (backends.fastapi_app, backends.custom_app):
        ws = AsgiWebSocket(app, "/api/v1/other")
        answer = await ws.connect()
        await ws.finished()
        answers.append((answer["type"], answer.get("code")))
    assert answers[0] == answers[1]
