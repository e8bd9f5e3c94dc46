"""/system/status and /project/{info,scan,context} over the in-process bridge on a tmp project."""

from __future__ import annotations

import httpx

from tests.fastapi_backend.conftest import AUTH


async def test_status_before_any_scan(client: httpx.AsyncClient) -> None:
    """status reports the root, no last scan and zero task counts on a fresh database."""
    response = await client.get("/api/v1/system/status", headers=AUTH)
    body = response.json()
    assert response.status_code == 200
    assert list(body) == ["status", "version", "project_root", "last_scan", "task_counts"]
    assert body["last_scan"] is None
    assert body["task_counts"] == {"open": 0, "in_progress": 0, "done": 0, "cancelled": 0}


async def test_project_info_reads_pyproject(client: httpx.AsyncClient) -> None:
    """info takes name/version/description from pyproject.toml, fields in API.md order."""
    response = await client.get("/api/v1/project/info", headers=AUTH)
    body = response.json()
    assert response.status_code == 200
    assert list(body) == [
        "name",
        "version",
        "description",
        "root",
        "file_count",
        "total_lines",
        "languages",
        "last_scan",
    ]
    assert (body["name"], body["version"], body["description"]) == (
        "demo",
        "1.2.3",
        "A demo project",
    )
    assert body["languages"]["Python"] == 3


async def test_scan_completes_with_syntax_error_listed(client: httpx.AsyncClient) -> None:
    """A scan of the whole root completes; the broken file lands in errors."""
    response = await client.post("/api/v1/project/scan", json={}, headers=AUTH)
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "completed"
    assert body["files_scanned"] == 3
    assert body["classes"] == 1
    assert [error["path"] for error in body["errors"]] == ["broken.py"]
    assert body["finished_at"].endswith("Z")


async def test_scan_is_stored_as_last_scan(client: httpx.AsyncClient) -> None:
    """After a scan, status and info report it as the last scan."""
    scan = (await client.post("/api/v1/project/scan", json={}, headers=AUTH)).json()
    status = (await client.get("/api/v1/system/status", headers=AUTH)).json()
    info = (await client.get("/api/v1/project/info", headers=AUTH)).json()
    assert status["last_scan"]["scan_id"] == scan["scan_id"]
    assert info["last_scan"] == scan["finished_at"]


async def test_scan_path_outside_root_is_400(client: httpx.AsyncClient) -> None:
    """A scan path escaping the root with .. is 400 with API.md's message."""
    response = await client.post("/api/v1/project/scan", json={"paths": ["../etc"]}, headers=AUTH)
    assert response.status_code == 400
    assert response.json() == {"detail": "Path is outside the project root: ../etc"}


async def test_scan_invalid_body_is_422(client: httpx.AsyncClient) -> None:
    """paths must be a list of strings: FastAPI's 422 at body.paths."""
    response = await client.post("/api/v1/project/scan", json={"paths": "pkg"}, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "paths"]


async def test_context_runs_a_scan_when_there_is_none(client: httpx.AsyncClient) -> None:
    """FULL context on a fresh database scans first and returns files from it."""
    response = await client.get("/api/v1/project/context/FULL", headers=AUTH)
    body = response.json()
    assert response.status_code == 200
    assert list(body) == [
        "mode",
        "token_count",
        "file_count",
        "max_tokens",
        "truncated",
        "context_data",
    ]
    assert body["mode"] == "FULL"
    assert body["max_tokens"] == 8000
    assert body["file_count"] > 0


async def test_context_passes_query_parameters(client: httpx.AsyncClient) -> None:
    """max_tokens and include_files reach the engine."""
    response = await client.get(
        "/api/v1/project/context/FOCUSED",
        params={"max_tokens": 50, "include_files": ["pkg/shapes.py"], "query": "circle"},
        headers=AUTH,
    )
    assert response.status_code == 200
    assert response.json()["max_tokens"] == 50


async def test_context_invalid_mode_is_422_enum(client: httpx.AsyncClient) -> None:
    """A lowercase mode is FastAPI's enum error at path.mode."""
    response = await client.get("/api/v1/project/context/full", headers=AUTH)
    error = response.json()["detail"][0]
    assert response.status_code == 422
    assert (error["type"], error["loc"]) == ("enum", ["path", "mode"])


async def test_context_max_tokens_out_of_range_is_422(client: httpx.AsyncClient) -> None:
    """max_tokens 0 is below 1: 422 at query.max_tokens."""
    response = await client.get(
        "/api/v1/project/context/MINIMAL", params={"max_tokens": 0}, headers=AUTH
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "max_tokens"]


async def test_context_include_file_outside_root_is_400(client: httpx.AsyncClient) -> None:
    """An absolute include_files entry is outside the root: 400."""
    response = await client.get(
        "/api/v1/project/context/FULL", params={"include_files": ["/etc/passwd"]}, headers=AUTH
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Path is outside the project root: /etc/passwd"}
