"""``create_app``: the legacy llmstruct API as seed 000 plans it (FastAPI, CLI bridge, API key).

Everything the app needs is passed in or built here, never a module global: the settings (default:
the ``LLMSTRUCT_*`` environment), the bridge (default: the one ``settings.bridge_mode`` names) and
the Prometheus registry. A bridge built here belongs to the app and is closed by its lifespan; a
bridge passed in belongs to the caller.

Middleware, outermost first: access log + request counter (sees every answer, 413s
included), CORS, the body limit. Auth is per route (``fastapi_backend.auth``) so it runs
after routing and before the body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from starlette.exceptions import HTTPException as StarletteHTTPException

from fastapi_backend.auth import API_KEY_STATE
from fastapi_backend.bridges import Bridge, BridgeError, make_bridge
from fastapi_backend.methods import method_aware_http_exception_handler
from fastapi_backend.metrics import HttpMetrics
from fastapi_backend.middleware import AccessLogMiddleware, BodyLimitMiddleware
from fastapi_backend.routes import BRIDGE_STATE, project, system, tasks, websocket

if TYPE_CHECKING:
    from engine.settings import LlmstructSettings

TITLE = "LLMStruct API"
VERSION = system.VERSION
DESCRIPTION = (
    "Codebase scanning, LLM context generation and task management. The legacy stack: engine calls "
    "go through the llmstruct CLI. "
    "Authenticate with `X-API-Key: KEY` or `Authorization: Bearer KEY`."
)


async def bridge_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """A failed engine call becomes the status and ``detail`` API.md assigns to it."""
    assert isinstance(exc, BridgeError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


def create_app(
    settings: LlmstructSettings | None = None,
    bridge: Bridge | None = None,
    registry: CollectorRegistry | None = None,
) -> FastAPI:
    """Build the app; no I/O (the default bridges start work on the first request)."""
    if settings is None:
        from engine.settings import load_settings

        settings = load_settings()
    owned_bridge = bridge is None
    active_bridge = make_bridge(settings) if bridge is None else bridge
    metrics = HttpMetrics(CollectorRegistry() if registry is None else registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned_bridge:
            await active_bridge.aclose()

    app = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION, lifespan=lifespan)
    setattr(app.state, API_KEY_STATE, settings.api_key)
    setattr(app.state, BRIDGE_STATE, active_bridge)
    app.state.settings = settings
    app.state.metrics = metrics

    app.include_router(system.public)
    app.include_router(system.router)
    app.include_router(project.router)
    app.include_router(tasks.router)
    app.include_router(websocket.router)
    app.add_route("/metrics", metrics.endpoint, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(BridgeError, bridge_error_handler)
    app.add_exception_handler(StarletteHTTPException, method_aware_http_exception_handler)

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.cors_origins),
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.add_middleware(
        AccessLogMiddleware, logger=structlog.get_logger("fastapi_backend.access"), metrics=metrics
    )
    return app
