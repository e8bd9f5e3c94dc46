"""``/api/v1/tasks``: task CRUD with filtering and search (seed 000, "Day 11-12")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from engine.tasks import OFFSET_MAX
from fastapi_backend.auth import AuthenticatedRoute, document_api_key
from fastapi_backend.bridges import Bridge
from fastapi_backend.models import (
    Priority,
    TaskCreateRequest,
    TaskList,
    TaskResponse,
    TaskStatus,
    TaskUpdateRequest,
)
from fastapi_backend.responses import BRIDGE_ERRORS, error_responses
from fastapi_backend.routes import BridgeDep

router = APIRouter(
    prefix="/api/v1/tasks",
    tags=["tasks"],
    route_class=AuthenticatedRoute,
    dependencies=[Depends(document_api_key)],
)


@router.post(
    "",
    response_model=TaskResponse,
    status_code=201,
    operation_id="create_task",
    responses=error_responses(400, 401, 413, *BRIDGE_ERRORS),
)
async def create_task(request: TaskCreateRequest, bridge: Bridge = BridgeDep) -> dict[str, Any]:
    """Create a task (status ``open``)."""
    return await bridge.create_task(request.model_dump())


@router.get(
    "",
    response_model=TaskList,
    operation_id="list_tasks",
    responses=error_responses(401, *BRIDGE_ERRORS),
)
async def list_tasks(
    status: TaskStatus | None = Query(default=None),
    priority: Priority | None = Query(default=None),
    tag: str | None = Query(default=None, description="Only tasks carrying this tag"),
    q: str | None = Query(
        default=None, description="Case-insensitive search in title and description"
    ),
    limit: int = Query(default=50, ge=1, le=200),
    # The store's bound (a signed 64-bit SQLite INTEGER): beyond it a 422,
    # not a failed CLI call (502).
    offset: int = Query(default=0, ge=0, le=OFFSET_MAX),
    bridge: Bridge = BridgeDep,
) -> dict[str, Any]:
    """One page of tasks, newest first (``created_at`` descending, then ``id``)."""
    return await bridge.list_tasks(status, priority, tag, q, limit, offset)


@router.get(
    "/{task_id}",
    response_model=TaskResponse,
    operation_id="get_task",
    responses=error_responses(401, 404, *BRIDGE_ERRORS),
)
async def get_task(task_id: str, bridge: Bridge = BridgeDep) -> dict[str, Any]:
    """One task by id."""
    return await bridge.get_task(task_id)


@router.patch(
    "/{task_id}",
    response_model=TaskResponse,
    operation_id="update_task",
    responses=error_responses(400, 401, 404, 413, *BRIDGE_ERRORS),
)
async def update_task(
    task_id: str, request: TaskUpdateRequest, bridge: Bridge = BridgeDep
) -> dict[str, Any]:
    """Change only the fields present in the body."""
    return await bridge.update_task(task_id, request.model_dump(exclude_unset=True))


@router.delete(
    "/{task_id}",
    status_code=204,
    response_class=Response,
    operation_id="delete_task",
    responses=error_responses(401, 404, *BRIDGE_ERRORS),
)
async def delete_task(task_id: str, bridge: Bridge = BridgeDep) -> Response:
    """Delete a task; 204 with an empty body."""
    await bridge.delete_task(task_id)
    return Response(status_code=204)
