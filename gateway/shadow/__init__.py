"""Shadow comparison and live contract validation, plugged into the gateway as a response tap.

Wiring (a few lines where the gateway is built)::

    service = build_shadow_service(config, registry, parse_shadow_settings(raw.get("shadow")),
                                   validator=ContractValidator.from_path(), observers=[metrics])
    gateway = Gateway(config, registry, taps=[service], admin_extensions=[admin_extension(service)])
    await gateway.start()      # the service starts its workers on its first exchange
    ...
    await gateway.stop()
    await service.close()

``service`` is the ``gateway.observer.ResponseTap`` (``wants`` / ``on_response``) and answers
``rates(route, window_s, backend)`` for the rollout analysis; ``admin_extension`` registers
``GET /shadow``, ``GET /shadow/{route}`` and ``PUT /shadow/{route}/rate`` (token required).

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
from gateway.shadow.policy import BackendPair, ShadowDecision, decide
from gateway.shadow.sender import PoolSender, ShadowResponse, ShadowSender
from gateway.shadow.service import SHADOW_HEADER, ShadowRates, ShadowService, ShadowStats
from gateway.shadow.wiring import build_shadow_service

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
    "ShadowStats",
    "admin_extension",
    "build_shadow_service",
    "decide",
    "install_shadow_routes",
    "parse_route_shadow",
    "parse_shadow_settings",
]
