"""``/api/v1/system``: liveness (no auth) and service status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from fastapi_backend.auth import AuthenticatedRoute, document_api_key
from fastapi_backend.bridges import Bridge
from fastapi_backend.models import Health, Status
from fastapi_backend.responses import BRIDGE_ERRORS, error_responses
from fastapi_backend.routes import BridgeDep

VERSION = "0.1.0"

public = APIRouter(prefix="/api/v1/system", tags=["system"])
router = APIRouter(
    prefix="/api/v1/system",
    tags=["system"],
    route_class=AuthenticatedRoute,
    dependencies=[Depends(document_api_key)],
)


@public.get("/health", response_model=Health, operation_id="health")
async def health() -> dict[str, Any]:
    """Liveness of the API process; answered without the CLI so probes stay cheap."""
    return {"status": "ok", "version": VERSION}


@router.get(
    "/status",
    response_model=Status,
    operation_id="status",
    responses=error_responses(401, *BRIDGE_ERRORS),
)
async def status(bridge: Bridge = BridgeDep) -> dict[str, Any]:
    """Project root, last scan summary and task counts."""
    return await bridge.status()
