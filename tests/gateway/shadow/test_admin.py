"""The framework-neutral admin handlers and the package's public names."""

from __future__ import annotations

import orjson
from prometheus_client import CollectorRegistry

import gateway.shadow
from gateway.shadow.admin import ShadowAdmin
from gateway.shadow.config import RouteShadowConfig, ShadowSettings
from gateway.shadow.service import ShadowService


class NeverSender:
    """No shadow is sent in these tests (nothing is sampled)."""

    async def send(self, *args: object, **kwargs: object) -> object:
        raise AssertionError("no shadow expected")


def admin() -> tuple[ShadowAdmin, ShadowService]:
    service = ShadowService(
        ShadowSettings(),
        NeverSender(),  # type: ignore[arg-type]
        CollectorRegistry(),
        routes={"tasks": RouteShadowConfig(percent=10), "default": RouteShadowConfig()},
    )
    return ShadowAdmin(service), service


def test_summary_lists_every_route_with_its_config() -> None:
    """``GET /shadow`` lists configured routes even before any shadow, plus the queue state."""
    handlers, _ = admin()
    reply = handlers.summary()
    assert reply.status == 200
    routes = {r["route"]: r for r in reply.body["routes"]}
    assert set(routes) == {"tasks", "default"}
    assert routes["tasks"]["config"]["percent"] == 10.0
    assert routes["tasks"]["shadow"]["outcomes"]["matched"] == 0
    assert reply.body["queue"]["capacity"] == 1024
    assert orjson.loads(reply.json()) == reply.body


def test_set_rate_validates_the_body() -> None:
    """``PUT /shadow/{route}/rate`` answers 404/400/422 for bad input and 200 with the new rate."""
    handlers, service = admin()
    assert handlers.set_rate("nope", b'{"percent": 5}').status == 404
    assert handlers.set_rate("tasks", b"{").status == 400
    assert handlers.set_rate("tasks", b'{"rate": 5}').status == 422
    assert handlers.set_rate("tasks", b'{"percent": "x"}').status == 422
    assert handlers.set_rate("tasks", b'{"percent": 100.5}').status == 422
    reply = handlers.set_rate("tasks", b'{"percent": 55.5}')
    assert (reply.status, reply.body) == (200, {"route": "tasks", "percent": 55.5})
    assert service.route_config("tasks").percent == 55.5


def test_detail_of_an_unknown_route_is_404() -> None:
    """``GET /shadow/{route}`` for a route nobody configured names the known routes."""
    handlers, _ = admin()
    reply = handlers.detail("nope")
    assert reply.status == 404
    assert reply.body["routes"] == ["default", "tasks"]


def test_public_names_are_pinned() -> None:
    """The package exports exactly what the gateway wiring needs."""
    assert sorted(gateway.shadow.__all__) == sorted(
        [
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
    )
