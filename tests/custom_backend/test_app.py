"""The ASGI app itself: body limits on the wire, failures, lifespan and request logging."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from custom_backend.app import ENGINE_THREADS, CustomBackendApp, create_app
from custom_backend.asgi import Message
from custom_backend.logs import capture_logs
from custom_backend.settings import CustomSettings
from engine import EngineError
from engine.facade import Engine

KEY = {"x-api-key": "k"}


class FailingEngine(Engine):
    """A real engine whose task listing fails the way a broken engine would."""

    failure: Exception = RuntimeError("boom")

    def list_tasks(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise self.failure


def _settings(tmp_path: Path, **overrides: Any) -> CustomSettings:
    (tmp_path / "root").mkdir(exist_ok=True)
    values: dict[str, Any] = {
        "api_key": "k",
        "project_root": tmp_path / "root",
        "database": tmp_path / "db.sqlite",
        "max_body_bytes": 100,
    }
    values.update(overrides)
    return CustomSettings(**values)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[CustomBackendApp]:
    """An app over an empty project."""
    app = create_app(_settings(tmp_path))
    yield app
    app.close()


async def _call(
    app: CustomBackendApp, scope: dict[str, Any], chunks: list[Message]
) -> list[Message]:
    sent: list[Message] = []
    pending = list(chunks)

    async def receive() -> Message:
        return pending.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "query_string": b"", "headers": headers}


async def test_streamed_body_over_the_limit_is_413(app: CustomBackendApp) -> None:
    """Without a content-length the bytes received count: past the limit, 413 before routing."""
    chunks: list[Message] = [
        {"type": "http.request", "body": b"x" * 60, "more_body": True},
        {"type": "http.request", "body": b"x" * 60, "more_body": False},
    ]
    sent = await _call(app, _scope("POST", "/anywhere", []), chunks)
    assert sent[0]["status"] == 413
    assert sent[1]["body"] == b'{"detail":"Request body too large"}'
    assert (b"connection", b"close") in sent[0]["headers"]


async def test_client_gone_mid_body_gets_nothing(app: CustomBackendApp) -> None:
    """A disconnect while the body arrives ends the request without a response."""
    chunks: list[Message] = [
        {"type": "http.request", "body": b"{", "more_body": True},
        {"type": "http.disconnect"},
    ]
    assert await _call(app, _scope("POST", "/api/v1/tasks", [(b"x-api-key", b"k")]), chunks) == []


@pytest.mark.parametrize(
    ("failure", "status", "body"),
    [
        (RuntimeError("boom"), 500, b"Internal Server Error"),
        (EngineError("database is locked"), 502, b'{"detail":"database is locked"}'),
    ],
)
async def test_engine_failures(
    tmp_path: Path, failure: Exception, status: int, body: bytes
) -> None:
    """An engine error is the baseline's 502 with its message; anything unexpected a plain 500."""
    settings = _settings(tmp_path)
    engine = FailingEngine(settings)
    engine.failure = failure
    app = create_app(settings, engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        with capture_logs() as logs:
            response = await client.get("/api/v1/tasks", headers=KEY)
    app.close()
    engine.close()
    assert (response.status_code, response.content) == (status, body)
    assert logs
    assert logs[0]["log_level"] in ("warning", "error")


async def test_lifespan_closes_an_owned_engine(tmp_path: Path) -> None:
    """Startup completes; shutdown closes the engine the app created."""
    app = create_app(_settings(tmp_path))
    messages: list[Message] = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = await _call(app, {"type": "lifespan"}, messages)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    with pytest.raises(EngineError):
        app.engine.list_tasks()


async def test_request_lines_only_at_debug(tmp_path: Path) -> None:
    """At DEBUG each request is one structured line; at INFO nothing is logged for a success."""
    for level, expected in (("DEBUG", 1), ("INFO", 0)):
        app = create_app(_settings(tmp_path, log_level=level))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            with capture_logs() as logs:
                await client.get("/api/v1/system/health")
        app.close()
        lines = [log for log in logs if log["event"] == "request"]
        assert len(lines) == expected
        if lines:
            assert {
                "method": "GET",
                "path": "/api/v1/system/health",
                "status": 200,
            }.items() <= lines[0].items()


async def test_metrics_endpoint_counts_requests(app: CustomBackendApp) -> None:
    """/metrics needs no key and reflects the requests answered so far."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        await client.get("/api/v1/tasks")
        body = (await client.get("/metrics")).text
    assert 'llmstruct_http_requests_total{method="GET",status_class="4xx"} 1.0' in body


async def test_nan_in_an_invalid_body_is_a_clean_422(app: CustomBackendApp) -> None:
    """``{"title": NaN}`` is refused, input echoed as null (FastAPI itself answers 500)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        response = await client.post(
            "/api/v1/tasks",
            content=b'{"title": NaN}',
            headers={**KEY, "content-type": "application/json"},
        )
    assert response.status_code == 422
    issue = response.json()["detail"][0]
    assert (issue["type"], issue["loc"], issue["input"]) == ("string_type", ["body", "title"], None)


async def test_lifespan_sizes_the_engine_threads(tmp_path: Path) -> None:
    """After startup, engine calls (``asyncio.to_thread``) run on the app's small named pool."""
    app = create_app(_settings(tmp_path))
    await _call(
        app, {"type": "lifespan"}, [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    )

    def name() -> str:
        time.sleep(0.01)  # overlap the calls, so a larger pool would show more threads
        return threading.current_thread().name

    names = set(await asyncio.gather(*(asyncio.to_thread(name) for _ in range(8))))
    assert all(name.startswith("custom-backend-engine") for name in names)
    assert 1 <= len(names) <= ENGINE_THREADS
