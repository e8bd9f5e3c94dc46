"""Shadow sampling rates in the shared snapshot: set on any member, applied by every one.

``PUT /shadow/{route}/rate`` on a member first lets its own shadow component validate and apply the
rate (as on one process), then publishes it (``data["shadow"][route] = percent``); every other
member's follower sees the change in a newer snapshot and applies it to its own component. A
workers' supervisor has no shadow component: it checks the body and publishes only, and its
workers apply it. A rate the store cannot record stays in force where it was set (a 503 says so):
a shadow rate only changes how much is compared, never where a client's request goes.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any
from urllib.parse import unquote

import orjson
import structlog

from gateway.admin import AdminError, AdminRequest, AdminResponse, AdminRouter
from gateway.shadow.admin import ShadowAdminApi
from migration.cluster.follower import ConfigFollower
from migration.cluster.seams import ClusterStore

__all__ = ["ShadowRates", "install_shadow_rates"]

log = structlog.get_logger("cutover.cluster")

PATH = "/shadow/{route}/rate"


def _set_rate_in(data: dict[str, Any], route: str, percent: float) -> dict[str, Any]:
    return {**data, "shadow": {**(data.get("shadow") or {}), route: percent}}


class ShadowRates:
    """The cluster side of shadow rates for one member (``admin`` None: no shadow component
    here)."""

    def __init__(
        self,
        store: ClusterStore,
        follower: ConfigFollower,
        routes: tuple[str, ...],
        admin: ShadowAdminApi | None,
    ) -> None:
        self.store = store
        self.follower = follower
        self.routes = routes
        self.admin = admin
        self._tasks: set[asyncio.Task[None]] = set()

    async def put(self, req: AdminRequest) -> AdminResponse:
        """``PUT /shadow/{route}/rate``: apply here (if this member shadows), then publish."""
        route = unquote(req.params["route"])
        if self.admin is not None:
            reply = await self.admin.set_rate(route, req.body)
            if reply.status != 200:
                return AdminResponse(reply.status, reply.json())
            percent = float(reply.body["percent"])
        else:
            percent = self._check(route, req)
        try:
            snapshot = await asyncio.to_thread(
                self.store.update_config, lambda d: _set_rate_in(d, route, percent)
            )
        except Exception as exc:
            self.follower.failed(exc)
            where = "here only" if self.admin is not None else "nowhere"
            raise AdminError(
                503,
                "not_published",
                f"shadow rate applied {where}: the shared store cannot record it ({exc})",
            ) from None
        self.follower.apply(snapshot, skip=("shadow", route))
        return AdminResponse.json({"route": route, "percent": percent, "version": snapshot.version})

    def _check(self, route: str, req: AdminRequest) -> float:
        if route not in self.routes:
            raise AdminError(404, "unknown_route", {"route": route, "routes": list(self.routes)})
        try:
            percent = orjson.loads(req.body).get("percent")
        except (orjson.JSONDecodeError, AttributeError):
            raise AdminError(422, "invalid_body", 'expected {"percent": 0..100}') from None
        ok = isinstance(percent, int | float) and not isinstance(percent, bool)
        if not ok or not math.isfinite(percent) or not 0 <= percent <= 100:
            raise AdminError(422, "invalid_body", f"percent must be within 0..100, got {percent!r}")
        return float(percent)

    def apply(self, changed: dict[str, float]) -> None:
        """The follower's hook: put rates another member published in force here."""
        if self.admin is None:
            return
        for route, percent in changed.items():
            task = asyncio.get_running_loop().create_task(self._set(route, percent))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _set(self, route: str, percent: float) -> None:
        assert self.admin is not None
        reply = await self.admin.set_rate(route, orjson.dumps({"percent": percent}))
        if reply.status != 200:
            log.warning("shadow_rate_not_applied", route=route, percent=percent, reply=reply.body)


def install_shadow_rates(router: AdminRouter, rates: ShadowRates) -> None:
    """Serve ``PUT /shadow/{route}/rate`` through the snapshot (replacing the local-only route)."""
    if any(r.method == "PUT" and r.template == PATH for r in router.routes):
        router.replace("PUT", PATH, rates.put)
    else:
        router.add("PUT", PATH, rates.put, mutating=True)
