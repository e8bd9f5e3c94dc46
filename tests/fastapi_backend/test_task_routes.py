"""/api/v1/tasks CRUD, filters and validation over the in-process bridge."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fastapi_backend.conftest import AUTH

TASK_FIELDS = [
    "id",
    "title",
    "description",
    "status",
    "priority",
    "tags",
    "estimated_effort",
    "created_at",
    "updated_at",
]
UNKNOWN_ID = "f" * 32


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/tasks", json={"title": "task", **fields}, headers=AUTH)
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    return task


async def test_create_returns_201_open_task_in_field_order(client: httpx.AsyncClient) -> None:
    """POST creates an open task with defaults, fields in API.md order."""
    task = await create(client, title="Write docs", tags=["docs"])
    assert list(task) == TASK_FIELDS
    assert task["status"] == "open"
    assert task["priority"] == "medium"
    assert task["description"] == ""
    assert task["estimated_effort"] is None
    assert task["tags"] == ["docs"]
    assert len(task["id"]) == 32


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"title": ""}, ["body", "title"]),
        ({"title": "x" * 201}, ["body", "title"]),
        ({"title": "t", "priority": "asap"}, ["body", "priority"]),
        ({"title": "t", "estimated_effort": "e" * 51}, ["body", "estimated_effort"]),
        ({}, ["body", "title"]),
    ],
    ids=["empty-title", "long-title", "bad-priority", "long-effort", "missing-title"],
)
async def test_create_invalid_body_is_422(
    client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    """Invalid TaskCreateRequest fields are FastAPI's 422 at the field."""
    response = await client.post("/api/v1/tasks", json=body, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


async def test_malformed_json_is_422_json_invalid(client: httpx.AsyncClient) -> None:
    """Malformed JSON with a valid key is the json_invalid 422."""
    response = await client.post(
        "/api/v1/tasks",
        content=b'{"title": }',
        headers={**AUTH, "content-type": "application/json"},
    )
    error = response.json()["detail"][0]
    assert response.status_code == 422
    assert (error["type"], error["msg"], error["input"]) == (
        "json_invalid",
        "JSON decode error",
        {},
    )


async def test_get_returns_the_created_task(client: httpx.AsyncClient) -> None:
    """GET by id returns the same task."""
    task = await create(client)
    response = await client.get(f"/api/v1/tasks/{task['id']}", headers=AUTH)
    assert response.status_code == 200
    assert response.json() == task


async def test_unknown_id_is_404_everywhere(client: httpx.AsyncClient) -> None:
    """GET, PATCH and DELETE of an unknown id are 404 Task not found."""
    url = f"/api/v1/tasks/{UNKNOWN_ID}"
    for response in (
        await client.get(url, headers=AUTH),
        await client.patch(url, json={"title": "x"}, headers=AUTH),
        await client.delete(url, headers=AUTH),
    ):
        assert response.status_code == 404
        assert response.json() == {"detail": "Task not found"}


async def test_patch_changes_only_given_fields(client: httpx.AsyncClient) -> None:
    """PATCH status leaves title, tags and effort as they were."""
    task = await create(client, title="keep", tags=["a"], estimated_effort="1h")
    response = await client.patch(
        f"/api/v1/tasks/{task['id']}", json={"status": "in_progress"}, headers=AUTH
    )
    updated = response.json()
    assert response.status_code == 200
    assert updated["status"] == "in_progress"
    assert (updated["title"], updated["tags"], updated["estimated_effort"]) == ("keep", ["a"], "1h")


async def test_patch_null_effort_clears_it(client: httpx.AsyncClient) -> None:
    """estimated_effort: null clears the estimate."""
    task = await create(client, estimated_effort="1h")
    response = await client.patch(
        f"/api/v1/tasks/{task['id']}", json={"estimated_effort": None}, headers=AUTH
    )
    assert response.json()["estimated_effort"] is None


@pytest.mark.parametrize(
    "body",
    [{"title": None}, {"status": "paused"}, {"tags": "a"}],
    ids=["null-title", "bad-status", "tags-not-list"],
)
async def test_patch_invalid_body_is_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    """PATCH refuses a null title, an unknown status and non-list tags."""
    task = await create(client)
    response = await client.patch(f"/api/v1/tasks/{task['id']}", json=body, headers=AUTH)
    assert response.status_code == 422


async def test_delete_is_204_with_empty_body(client: httpx.AsyncClient) -> None:
    """DELETE answers 204 with no body, and the task is gone."""
    task = await create(client)
    response = await client.delete(f"/api/v1/tasks/{task['id']}", headers=AUTH)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/api/v1/tasks/{task['id']}", headers=AUTH)).status_code == 404


async def test_list_filters_and_paginates(client: httpx.AsyncClient) -> None:
    """status, priority, tag and q filter; limit/offset page; total counts all matches."""
    await create(client, title="Alpha report", priority="high", tags=["x"])
    beta = await create(client, title="beta", description="the ALPHA part", tags=["y"])
    await client.patch(f"/api/v1/tasks/{beta['id']}", json={"status": "done"}, headers=AUTH)
    await create(client, title="gamma", priority="low", tags=["x"])

    async def titles(**params: Any) -> list[str]:
        response = await client.get("/api/v1/tasks", params=params, headers=AUTH)
        assert response.status_code == 200
        return [item["title"] for item in response.json()["items"]]

    assert await titles(status="done") == ["beta"]
    assert await titles(priority="high") == ["Alpha report"]
    assert sorted(await titles(tag="x")) == ["Alpha report", "gamma"]
    assert sorted(await titles(q="alpha")) == ["Alpha report", "beta"]
    page = (
        await client.get("/api/v1/tasks", params={"limit": 1, "offset": 1}, headers=AUTH)
    ).json()
    assert (len(page["items"]), page["total"], page["limit"], page["offset"]) == (1, 3, 1, 1)


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 201}, ["query", "limit"]),
        ({"offset": -1}, ["query", "offset"]),
        ({"status": "paused"}, ["query", "status"]),
    ],
    ids=["limit-0", "limit-201", "offset-negative", "bad-status"],
)
async def test_list_invalid_query_is_422(
    client: httpx.AsyncClient, params: dict[str, Any], loc: list[str]
) -> None:
    """Out-of-range limit/offset and unknown status are 422 at the query parameter."""
    response = await client.get("/api/v1/tasks", params=params, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


async def test_task_counts_follow_status(client: httpx.AsyncClient) -> None:
    """status.task_counts reflects created and updated tasks."""
    task = await create(client)
    await create(client)
    await client.patch(f"/api/v1/tasks/{task['id']}", json={"status": "cancelled"}, headers=AUTH)
    counts = (await client.get("/api/v1/system/status", headers=AUTH)).json()["task_counts"]
    assert counts == {"open": 1, "in_progress": 0, "done": 0, "cancelled": 1}
