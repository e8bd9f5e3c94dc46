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
from gateway.shadow.sidecar_client import ShadowSidecar
from gateway.shadow.sidecar_wire import SidecarSpec, load_contract


def shadow_routes(config: GatewayConfig, settings: ShadowSettings) -> dict[str, RouteShadowConfig]:
    """Every gateway route's shadow block (off when it has none); an
    unknown route name stops start-up."""
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
    return routes


def build_shadow_service(
    config: GatewayConfig,
    registry: CollectorRegistry,
    settings: ShadowSettings | None = None,
    *,
    validator: ContractValidator | None = None,
    observers: Sequence[Any] = (),
) -> ShadowService:
    """A :class:`ShadowService` on this loop for every route of
    ``config``, with its own HTTP client.

    The shadow client has its own connections (not the gateway's pools), so a slow shadow can
    never hold a connection the data path is waiting for.
    """
    settings = settings or ShadowSettings()
    routes = shadow_routes(config, settings)
    sender = PoolSender({"baseline": config.baseline, "candidate": config.candidate})
    return ShadowService(
        settings, sender, registry, routes=routes, validator=validator, observers=observers
    )


def build_shadow(
    config: GatewayConfig,
    registry: CollectorRegistry,
    settings: ShadowSettings | None = None,
    *,
    contract: str | None = None,
    observers: Sequence[Any] = (),
) -> ShadowService | ShadowSidecar:
    """The shadow component ``settings.isolation`` asks for: a sidecar process or inline.

    ``contract`` is an OpenAPI document's path, or None (no live
    validation). Call ``await component.open()`` on the loop before traffic, ``close()`` after.
    """
    settings = settings or ShadowSettings()
    routes = shadow_routes(config, settings)
    if settings.isolation == "process":
        upstreams = {"baseline": config.baseline, "candidate": config.candidate}
        spec = SidecarSpec(settings, routes, upstreams, contract)
        return ShadowSidecar(spec, registry, observers=observers)
    return build_shadow_service(
        config, registry, settings, validator=load_contract(contract), observers=observers
    )
