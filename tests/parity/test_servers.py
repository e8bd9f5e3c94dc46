"""Both stacks as real servers on loopback (``python -m custom_backend`` / ``python -m
fastapi_backend``).

The in-process suite covers every case; this one proves the same holds through uvicorn, sockets
and the WebSocket handshake: a few HTTP answers, the scan stream, the 1008 refusal and the
candidate's /metrics. Twice: over one SQLite file, and over one PostgreSQL database (issue #13,
item 8) with the baseline in its default subprocess bridge, so every baseline request is an
``llmstruct`` CLI opening the URL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.parity.conftest import API_KEY, make_project
from tests.parity.normalize import Answer, normalise
from tests.support.postgres import PostgresServer
from tests.support.postgres import postgres_server as postgres_server  # the fixture
from tests.support.servers import free_port, python_argv, run_process

pytestmark = pytest.mark.integration

KEY = {"x-api-key": API_KEY}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Base URLs (``http://127.0.0.1:PORT``) of both servers over one project and one database."""
    base = tmp_path_factory.mktemp("servers")
    root = make_project(base / "project")
    database, bridge, schema = str(Path(base) / "shared.db"), "inprocess", ""
    server: PostgresServer | None = None
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        schema = server.create_schema()
        database = server.url(options=f"-csearch_path%3D{schema}")
        bridge = "subprocess"
    env = {
        "LLMSTRUCT_API_KEY": API_KEY,
        "LLMSTRUCT_PROJECT_ROOT": str(root),
        "LLMSTRUCT_DATABASE": database,
        "LLMSTRUCT_BRIDGE_MODE": bridge,
        "LLMSTRUCT_LOG_LEVEL": "WARNING",
        "LLMSTRUCT_MAX_BODY_BYTES": "4096",
    }
    ports = {"fastapi": free_port(), "custom": free_port()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    health = "/api/v1/system/health"
    with (
        run_process(
            python_argv("-m", "fastapi_backend", "--port", str(ports["fastapi"])),
            urls["fastapi"] + health,
            env=env,
        ),
        run_process(
            python_argv("-m", "custom_backend", "--port", str(ports["custom"])),
            urls["custom"] + health,
            env=env,
        ),
    ):
        yield urls
    if server is not None:
        assert server.has_table(schema, "tasks"), "the servers did not use PostgreSQL"


REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/v1/system/health", {}),
    ("GET", "/api/v1/system/status", {"headers": {}}),
    ("GET", "/api/v1/project/info", {}),
    ("GET", "/api/v1/project/context/MINIMAL", {}),
    ("GET", "/api/v1/project/context/nope", {"params": {"max_tokens": "0"}}),
    (
        "POST",
        "/api/v1/tasks",
        {"content": b'{"title": }', "headers": {**KEY, "content-type": "application/json"}},
    ),
    ("POST", "/api/v1/tasks", {"json": {"title": ""}}),
    (
        "POST",
        "/api/v1/project/scan",
        {"content": b"x" * 5000, "headers": {**KEY, "content-type": "application/json"}},
    ),
    ("GET", "/api/v1/tasks", {"params": {"limit": "500"}}),
    ("GET", "/api/v1/tasks/unknown", {}),
    ("DELETE", "/api/v1/tasks", {}),
    ("GET", "/nowhere", {}),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"), REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS]
)
async def test_same_answer_over_sockets(
    servers: dict[str, str], method: str, path: str, kwargs: dict[str, Any]
) -> None:
    """Through real servers the answers match too (status, headers that matter, normalised body)."""
    kwargs = {"headers": KEY, **kwargs}
    answers = []
    for name in ("fastapi", "custom"):
        async with httpx.AsyncClient(base_url=servers[name], timeout=30) as client:
            answers.append(Answer.of(await client.request(method, path, **kwargs)))
    assert answers[1] == answers[0]


async def _ws_scan(url: str) -> list[Any]:
    ws_url = url.replace("http://", "ws://") + "/api/v1/ws"
    messages = []
    async with connect(ws_url, additional_headers=KEY) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        messages.append(json.loads(await ws.recv()))
        await ws.send(
            json.dumps(
                {"type": "scan", "data": {"paths": ["pkg"], "include_patterns": ["**/*.py"]}}
            )
        )
        while True:
            message = json.loads(await ws.recv())
            messages.append(message)
            if message["type"] not in ("scan_started", "scan_progress"):
                break
    return messages


async def test_websocket_scan_stream_matches(servers: dict[str, str]) -> None:
    """The WebSocket scan stream (started, a progress per file, completed) is the same on both."""
    baseline = await _ws_scan(servers["fastapi"])
    candidate = await _ws_scan(servers["custom"])
    assert normalise(candidate) == normalise(baseline)
    assert [m["type"] for m in candidate][:2] == ["pong", "scan_started"]
    assert candidate[-1]["type"] == "scan_completed"
    assert candidate[1]["data"]["total"] == len(candidate) - 3


async def test_websocket_refusal_matches(servers: dict[str, str]) -> None:
    """A wrong key is accepted, then closed with 1008 and the same reason, by both servers."""
    closes = []
    for name in ("fastapi", "custom"):
        async with connect(
            servers[name].replace("http://", "ws://") + "/api/v1/ws?api_key=bad"
        ) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
        assert closed.value.rcvd is not None
        closes.append((closed.value.rcvd.code, closed.value.rcvd.reason))
    assert closes[0] == closes[1] == (1008, "Invalid API key")


async def test_candidate_metrics(servers: dict[str, str]) -> None:
    """/metrics needs no key and exports process memory and requests by method and class."""
    async with httpx.AsyncClient(base_url=servers["custom"]) as client:
        await client.get("/api/v1/system/health")
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "process_resident_memory_bytes" in response.text
    assert 'llmstruct_http_requests_total{method="GET",status_class="2xx"}' in response.text


async def test_task_written_through_one_server_is_read_through_the_other(
    servers: dict[str, str],
) -> None:
    """A baseline write (own process or the CLI) shows at once in the candidate's cached reads."""
    async with (
        httpx.AsyncClient(base_url=servers["fastapi"], headers=KEY, timeout=30) as baseline,
        httpx.AsyncClient(base_url=servers["custom"], headers=KEY, timeout=30) as candidate,
    ):
        task = (await baseline.post("/api/v1/tasks", json={"title": "Across"})).json()
        url = f"/api/v1/tasks/{task['id']}"
        for _ in range(2):  # the second read is a cache hit
            assert (await candidate.get(url)).json() == task
        changed = await baseline.patch(url, json={"status": "done"})
        assert (await candidate.get(url)).json() == changed.json()
        assert (await baseline.delete(url)).status_code == 204
        assert (await candidate.get(url)).status_code == 404
