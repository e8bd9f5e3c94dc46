"""The API's routers, one module per area of seed 000's layout (project, tasks, system, ws)."""

from __future__ import annotations

from fastapi import Depends, Request

from fastapi_backend.bridges import Bridge

BRIDGE_STATE = "llmstruct_bridge"


def get_bridge(request: Request) -> Bridge:
    """The app's bridge (set by ``create_app``), as a dependency routes can override in tests."""
    bridge: Bridge = getattr(request.app.state, BRIDGE_STATE)
    return bridge


BridgeDep = Depends(get_bridge)
