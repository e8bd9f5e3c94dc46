"""Body limit (413), access log, request counter, /metrics and CORS of the legacy app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from engine.settings import LlmstructSettings
from fastapi_backend.app import create_app
from fastapi_backend.bridges import InProcessBridge
from fastapi_backend.metrics import method_label, status_class
from tests.fastapi_backend.conftest import AUTH

TOO_LARGE = {"detail": "Request body too large"}


def small_app_client(
    settings_factory: Callable[..., LlmstructSettings],
    bridge: InProcessBridge,
    registry: CollectorRegistry | None = None,
    **overrides: object,
) -> httpx.AsyncClient:
    app = create_app(settings_factory(**overrides), bridge=bridge, registry=registry)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def test_declared_length_over_limit_is_413(
    settings_factory: Callable[..., LlmstructSettings], bridge: InProcessBridge
) -> None:
    """A Content-Length above max_body_bytes is refused with 413 before auth or validation."""
    async with small_app_client(settings_factory, bridge, max_body_bytes=64) as client:
        response = await client.post("/api/v1/tasks", json={"title": "x" * 100})
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


async def test_streamed_body_over_limit_is_413(
    settings_factory: Callable[..., LlmstructSettings], bridge: InProcessBridge
) -> None:
    """A chunked body without Content-Length is counted as it arrives and refused past the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(10):
            yield b"x" * 20
        yield b'"}'

    async with small_app_client(settings_factory, bridge, max_body_bytes=64) as client:
        response = await client.post(
            "/api/v1/tasks", content=chunks(), headers={**AUTH, "content-type": "application/json"}
        )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


async def test_streamed_body_within_limit_reaches_the_route(
    settings_factory: Callable[..., LlmstructSettings], bridge: InProcessBridge
) -> None:
    """A chunked body under the limit is replayed whole to the route."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": '
        yield b'"chunked"}'

    async with small_app_client(settings_factory, bridge, max_body_bytes=64) as client:
        response = await client.post(
            "/api/v1/tasks", content=chunks(), headers={**AUTH, "content-type": "application/json"}
        )
    assert response.status_code == 201
    assert response.json()["title"] == "chunked"


async def test_access_log_has_one_line_per_request(client: httpx.AsyncClient) -> None:
    """Each request logs method, path, status and duration once."""
    with capture_logs() as logs:
        await client.get("/api/v1/tasks/" + "0" * 32, headers=AUTH)
    assert len(logs) == 1
    line = logs[0]
    assert (line["event"], line["method"], line["path"], line["status"]) == (
        "request",
        "GET",
        "/api/v1/tasks/" + "0" * 32,
        404,
    )
    assert line["duration_ms"] >= 0


async def test_requests_are_counted_by_method_and_status_class(
    settings_factory: Callable[..., LlmstructSettings], bridge: InProcessBridge
) -> None:
    """llmstruct_http_requests_total counts answers by method and status class."""
    registry = CollectorRegistry()
    async with small_app_client(settings_factory, bridge, registry) as client:
        await client.get("/api/v1/system/health")
        await client.get("/api/v1/system/health")
        await client.get("/api/v1/system/status")
    total = "llmstruct_http_requests_total"
    assert registry.get_sample_value(total, {"method": "GET", "status_class": "2xx"}) == 2
    assert registry.get_sample_value(total, {"method": "GET", "status_class": "4xx"}) == 1


async def test_metrics_endpoint_exposes_process_and_requests(client: httpx.AsyncClient) -> None:
    """/metrics needs no key and serves process memory and the request counter in text format."""
    await client.get("/api/v1/system/health")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "process_resident_memory_bytes" in response.text
    assert 'llmstruct_http_requests_total{method="GET",status_class="2xx"}' in response.text


async def test_metrics_is_not_in_openapi(client: httpx.AsyncClient) -> None:
    """/metrics stays out of the contract."""
    document = (await client.get("/openapi.json")).json()
    assert "/metrics" not in document["paths"]


def test_labels_stay_bounded() -> None:
    """Unknown methods fold into OTHER; statuses into their class."""
    assert (method_label("PATCH"), method_label("BREW")) == ("PATCH", "OTHER")
    assert (status_class(204), status_class(504), status_class(42)) == ("2xx", "5xx", "other")


async def test_cors_preflight_allows_configured_origin(
    settings_factory: Callable[..., LlmstructSettings], bridge: InProcessBridge
) -> None:
    """A preflight from an allowed origin is answered by the CORS middleware without a key."""
    async with small_app_client(
        settings_factory, bridge, cors_origins=["https://ui.example"]
    ) as client:
        response = await client.options(
            "/api/v1/tasks",
            headers={
                "Origin": "https://ui.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key",
            },
        )
        refused = await client.options(
            "/api/v1/tasks",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://ui.example"
    assert refused.status_code == 400
