"""``/api/v1/project``: project info, scans and LLM contexts (seed 000, "Day 8-10")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from fastapi_backend.auth import AuthenticatedRoute, document_api_key
from fastapi_backend.bridges import Bridge
from fastapi_backend.models import (
    ContextMode,
    ContextResponse,
    ProjectInfo,
    ScanRequest,
    ScanResponse,
)
from fastapi_backend.responses import BRIDGE_ERRORS, error_responses
from fastapi_backend.routes import BridgeDep

router = APIRouter(
    prefix="/api/v1/project",
    tags=["project"],
    route_class=AuthenticatedRoute,
    dependencies=[Depends(document_api_key)],
)


@router.get(
    "/info",
    response_model=ProjectInfo,
    operation_id="project_info",
    responses=error_responses(401, *BRIDGE_ERRORS),
)
async def project_info(bridge: Bridge = BridgeDep) -> dict[str, Any]:
    """Name, version and description from ``pyproject.toml`` plus file statistics of the root."""
    return await bridge.project_info()


@router.post(
    "/scan",
    response_model=ScanResponse,
    operation_id="scan_project",
    responses=error_responses(400, 401, 413, *BRIDGE_ERRORS),
)
async def scan_project(request: ScanRequest, bridge: Bridge = BridgeDep) -> dict[str, Any]:
    """Scan the project (or the given paths under it) and store the result as the last scan."""
    return await bridge.scan(request.paths, request.include_patterns, request.exclude_patterns)


@router.get(
    "/context/{mode}",
    response_model=ContextResponse,
    operation_id="get_context",
    responses=error_responses(400, 401, *BRIDGE_ERRORS),
)
async def get_context(
    mode: ContextMode,
    query: str | None = Query(default=None, description="Focus the context on this text"),
    include_files: list[str] = Query(
        default=[], description="Files (relative to the root) to include; repeatable"
    ),
    max_tokens: int = Query(default=8000, ge=1, le=1_000_000, description="Token budget"),
    bridge: Bridge = BridgeDep,
) -> dict[str, Any]:
    """Build an LLM context from the last scan (a full scan runs first when there is none)."""
    return await bridge.context(mode.value, query, include_files, max_tokens)
