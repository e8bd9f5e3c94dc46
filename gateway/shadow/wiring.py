"""Build the shadow component from the gateway's own config, in one call.

The gateway's config carries the two upstream URLs and the route names; a route's ``shadow:`` block
arrives either already parsed on the route (``RouteConfig.shadow``, once the gateway config embeds
it) or under ``ShadowSettings.routes`` by route name. A shadow block for a route the gateway does
not have stops start-up, naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from contracts.validators import ContractValidator
from gateway.config import GatewayConfig
from gateway.shadow.config import RouteShadowConfig, ShadowConfigError, ShadowSettings
from gateway.shadow.sender import PoolSender
from gateway.shadow.service import ShadowService


def build_shadow_service(
    config: GatewayConfig,
    registry: CollectorRegistry,
    settings: ShadowSettings | None = None,
    *,
    validator: ContractValidator | None = None,
    observers: Sequence[Any] = (),
) -> ShadowService:
    """A :class:`ShadowService` for every route of ``config``, sending with its own HTTP client.

    The shadow client has its own connections (not the gateway's pools), so a slow shadow can
    never hold a connection the data path is waiting for.
    """
    settings = settings or ShadowSettings()
    names = {route.name for route in config.routes}
    unknown = sorted(set(settings.routes) - names)
    if unknown:
        raise ShadowConfigError(
            f"shadow.routes.{unknown[0]}: no such gateway route; routes: {', '.join(sorted(names))}"
        )
    routes: dict[str, RouteShadowConfig] = {}
    for route in config.routes:
        embedded = getattr(route, "shadow", None)
        if isinstance(embedded, RouteShadowConfig):
            routes[route.name] = embedded
        else:
            routes[route.name] = settings.routes.get(route.name, RouteShadowConfig())
    sender = PoolSender({"baseline": config.baseline, "candidate": config.candidate})
    return ShadowService(
        settings, sender, registry, routes=routes, validator=validator, observers=observers
    )
