"""One task store behind both stacks: a task written through one is read, changed and deleted
through the other, and the candidate's read caches never hide a write made by the baseline. On both
stores: a SQLite file and a PostgreSQL database (``database`` in conftest; issue #13, item 8), where
the caches' token is the engine's version row."""

from __future__ import annotations

import httpx
import pytest

from tests.parity.conftest import API_KEY, Backends

KEY = {"x-api-key": API_KEY}
TASKS = "/api/v1/tasks"


@pytest.mark.parametrize("writer", ["fastapi", "custom"])
async def test_lifecycle_across_backends(backends: Backends, writer: str) -> None:
    """Create on one backend; get, patch and delete on the other; each step is visible on both."""
    clients = dict(backends.pair())
    first = clients[writer]
    other = clients["custom" if writer == "fastapi" else "fastapi"]
    created = await first.post(TASKS, json={"title": "Shared", "tags": ["x"]}, headers=KEY)
    assert created.status_code == 201
    task = created.json()
    url = f"{TASKS}/{task['id']}"

    assert (await other.get(url, headers=KEY)).json() == task
    patched = await other.patch(url, json={"status": "done", "title": "Shared!"}, headers=KEY)
    assert patched.status_code == 200
    assert (await first.get(url, headers=KEY)).json() == patched.json()
    assert patched.json()["status"] == "done"

    assert (await other.delete(url, headers=KEY)).status_code == 204
    for client in (first, other):
        gone = await client.get(url, headers=KEY)
        assert (gone.status_code, gone.json()) == (404, {"detail": "Task not found"})


async def _get(client: httpx.AsyncClient, path: str) -> httpx.Response:
    response = await client.get(path, headers=KEY)
    assert response.status_code in (200, 404), response.text
    return response


async def test_cached_reads_follow_baseline_writes(backends: Backends) -> None:
    """Reads the candidate has cached (task, list, status) change as soon as the baseline writes."""
    custom, fastapi = backends.custom, backends.fastapi
    task = (await fastapi.post(TASKS, json={"title": "Cached"}, headers=KEY)).json()
    url = f"{TASKS}/{task['id']}"
    for _ in range(2):  # the second read is a cache hit
        assert (await _get(custom, url)).json()["title"] == "Cached"
        assert (await _get(custom, TASKS)).json()["total"] == 1
        assert (await _get(custom, "/api/v1/system/status")).json()["task_counts"]["open"] == 1

    await fastapi.patch(url, json={"title": "Changed", "status": "in_progress"}, headers=KEY)
    await fastapi.post(TASKS, json={"title": "Second"}, headers=KEY)

    assert (await _get(custom, url)).json()["title"] == "Changed"
    assert (await _get(custom, TASKS)).json()["total"] == 2
    counts = (await _get(custom, "/api/v1/system/status")).json()["task_counts"]
    assert (counts["open"], counts["in_progress"]) == (1, 1)

    await fastapi.delete(url, headers=KEY)
    assert (await _get(custom, url)).status_code == 404


async def test_cached_context_and_info_follow_changes(backends: Backends) -> None:
    """A new scan, task (SESSION) or a changed file shows in the candidate's cached answers."""
    custom, fastapi = backends.custom, backends.fastapi
    session = "/api/v1/project/context/SESSION"
    before = (await _get(custom, session)).json()
    assert (await _get(custom, session)).json() == before
    await fastapi.post(TASKS, json={"title": "Session task"}, headers=KEY)
    after = (await _get(custom, session)).json()
    assert after != before

    info = (await _get(custom, "/api/v1/project/info")).json()
    assert (await _get(custom, "/api/v1/project/info")).json() == info
    (backends.root / "pkg" / "c.py").write_text("x = 1\ny = 2\n")
    grown = (await _get(custom, "/api/v1/project/info")).json()
    assert grown["file_count"] == info["file_count"] + 1
    assert grown["total_lines"] == info["total_lines"] + 2
    assert grown == (await _get(fastapi, "/api/v1/project/info")).json()

    minimal = "/api/v1/project/context/MINIMAL"
    first = (await _get(custom, minimal)).json()
    await fastapi.post("/api/v1/project/scan", json={}, headers=KEY)
    rescanned = (await _get(custom, minimal)).json()
    assert rescanned["context_data"]["scan"]["scan_id"] != first["context_data"]["scan"]["scan_id"]
