"""A 405 lists each method of the resource in ``Allow`` (RFC 9110 §15.5.6), not one route's."""

from __future__ import annotations

import httpx
import pytest

from tests.fastapi_backend.conftest import AUTH


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/v1/tasks", "GET, POST"),
        ("PUT", "/api/v1/tasks", "GET, POST"),
        ("OPTIONS", "/api/v1/tasks/abc", "DELETE, GET, PATCH"),
        ("POST", "/api/v1/tasks/abc", "DELETE, GET, PATCH"),
        ("OPTIONS", "/api/v1/system/health", "GET"),
        ("POST", "/metrics", "GET, HEAD"),
    ],
)
async def test_method_not_allowed_lists_every_method(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    """The 405 keeps FastAPI's body and lists all of the path's methods, sorted."""
    response = await client.request(method, path, headers=AUTH)
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
    assert response.headers["allow"] == allow


async def test_other_http_errors_keep_fastapis_answer(client: httpx.AsyncClient) -> None:
    """Only a 405 is touched: a 404 is still FastAPI's ``{"detail": "Not Found"}`` with no Allow."""
    response = await client.get("/api/v1/nowhere", headers=AUTH)
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})
    assert "allow" not in response.headers
