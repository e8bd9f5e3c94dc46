"""Shadow comparison and live contract validation, plugged into the gateway as a response tap.

Wiring (a few lines where the gateway is built; ``migration.runtime`` does this)::

    shadow = build_shadow(
        config, registry, config.shadow, contract="openapi.json", observers=[metrics]
    )
    gateway = Gateway(config, registry, taps=[shadow], admin_extensions=[admin_extension(shadow)])
    # a sidecar process (shadow.isolation: process) or workers on this loop
    await shadow.open()
    await gateway.start()
    ...
    await gateway.stop()
    await shadow.close()

Either component is the ``gateway.observer.ResponseTap`` (``wants`` / ``on_response``) and
pushes outcomes to ``observers`` (the migration metrics); ``admin_extension`` registers
``GET /shadow``, ``GET /shadow/{route}`` and ``PUT /shadow/{route}/rate`` (token required). By
default the work runs in ``sidecar.py``, a low-priority process of its own;
``sidecar_client.py`` is the gateway's end (composing ``sidecar_process``, ``sidecar_handoff``,
``sidecar_calls`` and ``sidecar_publications``).

See ``service.py`` for the flow, ``policy.py`` for what is shadowed, ``noise.py`` for how noise is
cancelled and ``evidence.py`` for what is kept.
"""

from gateway.shadow.admin import AdminReply, ShadowAdmin, admin_extension, install_shadow_routes
from gateway.shadow.config import (
    RouteShadowConfig,
    ShadowConfigError,
    ShadowSettings,
    parse_route_shadow,
    parse_shadow_settings,
)
from gateway.shadow.exchanges import SHADOW_HEADER
from gateway.shadow.policy import BackendPair, ShadowDecision, decide
from gateway.shadow.sender import PoolSender, ShadowResponse, ShadowSender
from gateway.shadow.service import ShadowRates, ShadowService, ShadowStats
from gateway.shadow.sidecar_client import ShadowSidecar
from gateway.shadow.sidecar_process import SidecarUnavailable
from gateway.shadow.wiring import build_shadow, build_shadow_service, shadow_routes

__all__ = [
    "SHADOW_HEADER",
    "AdminReply",
    "BackendPair",
    "PoolSender",
    "RouteShadowConfig",
    "ShadowAdmin",
    "ShadowConfigError",
    "ShadowDecision",
    "ShadowRates",
    "ShadowResponse",
    "ShadowSender",
    "ShadowService",
    "ShadowSettings",
    "ShadowSidecar",
    "ShadowStats",
    "SidecarUnavailable",
    "admin_extension",
    "build_shadow",
    "build_shadow_service",
    "decide",
    "install_shadow_routes",
    "parse_route_shadow",
    "parse_shadow_settings",
    "shadow_routes",
]
