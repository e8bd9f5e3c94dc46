"""API-key auth: both header forms, the two 401 bodies, and auth before body validation."""

from __future__ import annotations

import httpx
import pytest

from tests.fastapi_backend.conftest import API_KEY, AUTH


async def test_health_needs_no_key(client: httpx.AsyncClient) -> None:
    """/system/health answers without a key."""
    response = await client.get("/api/v1/system/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": "0.1.0"}


async def test_missing_key_is_401_with_challenge(client: httpx.AsyncClient) -> None:
    """No key: 401 Missing API key with www-authenticate: Bearer."""
    response = await client.get("/api/v1/system/status")
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing API key"}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}],
    ids=["x-api-key", "bearer"],
)
async def test_wrong_key_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """A wrong key in either header: 401 Invalid API key with the challenge."""
    response = await client.get("/api/v1/project/info", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid API key"}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": API_KEY}, {"Authorization": f"Bearer {API_KEY}"}],
    ids=["x-api-key", "bearer"],
)
async def test_either_header_form_is_accepted(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """X-API-Key and Authorization: Bearer both authenticate."""
    response = await client.get("/api/v1/system/status", headers=headers)
    assert response.status_code == 200


async def test_other_authorization_scheme_counts_as_missing(client: httpx.AsyncClient) -> None:
    """Authorization: Basic is not a key: 401 Missing API key."""
    response = await client.get(
        "/api/v1/system/status", headers={"Authorization": f"Basic {API_KEY}"}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing API key"}


async def test_auth_runs_before_body_validation(client: httpx.AsyncClient) -> None:
    """An unauthenticated POST with malformed JSON is 401, not 422."""
    response = await client.post(
        "/api/v1/tasks", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing API key"}


async def test_unauthenticated_invalid_body_on_patch_is_401(client: httpx.AsyncClient) -> None:
    """PATCH with a schema-invalid body and a wrong key is 401 too."""
    response = await client.patch(
        "/api/v1/tasks/" + "0" * 32, json={"status": "nope"}, headers={"X-API-Key": "bad"}
    )
    assert response.status_code == 401


async def test_unknown_path_is_404_even_without_key(client: httpx.AsyncClient) -> None:
    """Routing comes first: an unknown path is FastAPI's 404 Not Found."""
    response = await client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    """A known path with the wrong method is 405 Method Not Allowed, key or not."""
    response = await client.put("/api/v1/tasks", headers=AUTH)
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}
