"""Admin views of the shadow component: ``GET /shadow``,
``GET /shadow/{route}``, ``PUT /shadow/{route}/rate``.

The handlers are framework-neutral — plain inputs in, an :class:`AdminReply` (status + JSON-ready
body) out — so the gateway's admin app registers them with a line each whatever it is built on,
and tests call them directly. Authentication is the admin app's job: it checks the token (with its
own auth helper) before calling :meth:`ShadowAdmin.set_rate`, the only handler that changes state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote

import orjson

from gateway.admin import AdminRequest, AdminResponse, AdminRouter
from gateway.shadow.config import ShadowConfigError
from gateway.shadow.service import ShadowService


@dataclass(frozen=True, slots=True)
class AdminReply:
    """What a handler answers: HTTP status and a JSON-ready body."""

    status: int
    body: dict[str, Any]

    def json(self) -> bytes:
        """The body serialised (non-string keys and floats as orjson writes them)."""
        return orjson.dumps(self.body, option=orjson.OPT_NON_STR_KEYS)


class ShadowAdmin:
    """The three admin handlers over one :class:`ShadowService`."""

    def __init__(self, service: ShadowService) -> None:
        self._service = service

    def _routes(self) -> list[str]:
        s = self._service
        return sorted({*s.route_names(), *s.evidence.routes(), *s.contracts.routes()})

    def _route_view(self, route: str, detail: bool) -> dict[str, Any]:
        s = self._service
        view: dict[str, Any] = {"route": route}
        try:
            config = s.route_config(route)
        except KeyError:
            view["config"] = None
        else:
            view["config"] = {
                "percent": config.percent,
                "sticky_header": config.sticky_header,
                "methods": sorted(config.methods),
                "same_backend_percent": config.same_backend_percent,
                "ignore": list(config.ignore),
                "unordered": list(config.unordered),
                "headers": list(config.headers),
                "timeout_s": config.timeout_s,
                "expected_differences": {
                    "file": config.expected_differences.source or None,
                    "entries": len(config.expected_differences.entries),
                },
            }
        if detail:
            view["shadow"] = s.evidence.detail(route)
            view["contracts"] = s.contracts.detail(route)
        else:
            view["shadow"] = s.evidence.summary(route)
            view["contracts"] = s.contracts.summary(route)
        return view

    def summary(self) -> AdminReply:
        """``GET /shadow``: per-route counts, rates and real fields, and the queues' state."""
        s = self._service
        return AdminReply(
            200,
            {
                "routes": [self._route_view(r, detail=False) for r in self._routes()],
                "queue": {
                    "depth": s.shadow_queue.depth,
                    "capacity": s.shadow_queue.capacity,
                    "bytes": s.shadow_queue.weight,
                    "workers": s.settings.workers,
                },
                "check_queue": {
                    "depth": s.check_queue.depth,
                    "capacity": s.check_queue.capacity,
                    "bytes": s.check_queue.weight,
                },
            },
        )

    def detail(self, route: str) -> AdminReply:
        """``GET /shadow/{route}``: every tracked field with rates, verdict and samples."""
        if route not in self._routes():
            return _not_found(route, self._routes())
        return AdminReply(200, self._route_view(route, detail=True))

    def set_rate(self, route: str, body: bytes) -> AdminReply:
        """``PUT /shadow/{route}/rate`` with ``{"percent": 0..100}`` (caller checked the token)."""
        try:
            self._service.route_config(route)
        except KeyError:
            return _not_found(route, self._service.route_names())
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return AdminReply(400, {"error": "invalid_json", "detail": str(exc)})
        if not isinstance(data, dict) or set(data) != {"percent"}:
            return AdminReply(
                422, {"error": "invalid_body", "detail": 'expected {"percent": <0..100>}'}
            )
        try:
            config = self._service.set_rate(route, data["percent"])
        except ShadowConfigError as exc:
            return AdminReply(422, {"error": "invalid_percent", "detail": str(exc)})
        return AdminReply(200, {"route": route, "percent": config.percent})


class ShadowAdminApi(Protocol):
    """The admin views as the routes call them: answered in-process or by the shadow sidecar."""

    async def summary(self) -> AdminReply: ...

    async def detail(self, route: str) -> AdminReply: ...

    async def set_rate(self, route: str, body: bytes) -> AdminReply: ...


class LocalShadowAdmin:
    """:class:`ShadowAdminApi` over a service on this loop (``shadow.isolation: inline``)."""

    def __init__(self, service: ShadowService) -> None:
        self._admin = ShadowAdmin(service)

    async def summary(self) -> AdminReply:
        """``GET /shadow``."""
        return self._admin.summary()

    async def detail(self, route: str) -> AdminReply:
        """``GET /shadow/{route}``."""
        return self._admin.detail(route)

    async def set_rate(self, route: str, body: bytes) -> AdminReply:
        """``PUT /shadow/{route}/rate``."""
        return self._admin.set_rate(route, body)


def _not_found(route: str, known: list[str]) -> AdminReply:
    return AdminReply(
        404, {"error": "unknown_route", "detail": f"no route {route!r}", "routes": known}
    )


def install_shadow_routes(router: AdminRouter, service: ShadowService | ShadowAdminApi) -> None:
    """Register the three shadow endpoints on the gateway's admin router.

    ``service`` is an inline :class:`ShadowService` or anything answering :class:`ShadowAdminApi`
    (the sidecar client). ``PUT /shadow/{route}/rate`` is ``mutating``: the admin server checks the
    token (its own ``AdminServer.authorized``) before the handler runs, and audits the call.
    """
    admin = LocalShadowAdmin(service) if isinstance(service, ShadowService) else service

    def answer(reply: AdminReply) -> AdminResponse:
        return AdminResponse(reply.status, reply.json())

    async def summary(_: AdminRequest) -> AdminResponse:
        return answer(await admin.summary())

    async def detail(req: AdminRequest) -> AdminResponse:
        return answer(await admin.detail(unquote(req.params["route"])))

    async def set_rate(req: AdminRequest) -> AdminResponse:
        return answer(await admin.set_rate(unquote(req.params["route"]), req.body))

    router.add("GET", "/shadow", summary)
    router.add("GET", "/shadow/{route}", detail)
    router.add("PUT", "/shadow/{route}/rate", set_rate, mutating=True)


def admin_extension(
    service: ShadowService | ShadowAdminApi,
) -> Callable[[AdminRouter], None]:
    """The same as a ``Gateway(admin_extensions=[...])`` entry."""
    return lambda router: install_shadow_routes(router, service)
