"""``GET /cluster``: the leader, its epoch and lease age, and every member as the store last heard
it.

The same view is the ``cluster`` section of ``GET /migration`` (``cutover status`` prints it). Read
from what the member already holds — its elector's last lease read, its follower, the heartbeats its
last collection fetched — so it answers at once even while the store is down (then it says so).
"""

from __future__ import annotations

import time
from typing import Any

from gateway.admin import AdminRequest, AdminResponse, AdminRouter
from migration.cluster.member import ClusterMember

__all__ = ["cluster_view", "install_cluster_routes"]

#: Members silent for longer than this are left out of the view (their rows stay an hour).
SHOW_MEMBERS_S = 60.0


def cluster_view(member: ClusterMember) -> dict[str, Any]:
    """JSON-ready state of the cluster as this member sees it."""
    f, e = member.follower, member.elector
    since = time.monotonic() - member.members_at  # ages grew by this much since the read
    lease = e.last if e is not None else None
    leader = None
    if lease is not None:
        leader = {
            "replica": lease.holder if lease.remaining_s > 0 else None,
            "epoch": lease.epoch,
            "lease_age_s": round(e.ttl_s - lease.remaining_s, 2) if e is not None else None,
            "lease_remaining_s": round(lease.remaining_s, 2),
        }
    members = [
        {
            "replica": m.replica,
            "role": m.info.get("role"),
            "heartbeat_age_s": round(m.age_s + since, 2),
            "config_version": m.info.get("config_version"),
            "fail_static": bool(m.info.get("fail_static")),
            "leading": bool(m.info.get("leading")),
            "admin": m.info.get("admin"),
        }
        for m in member.members
        if m.age_s + since <= SHOW_MEMBERS_S
    ]
    return {
        "replica": member.replica,
        "role": member.role.value,
        "leading": member.leading,
        "leader": leader,
        "config_version": f.version,
        "fail_static": f.fail_static,
        "store_up": f.store_up,
        "store_error": None if f.store_up else f.last_error,
        "replicas": members,
    }


def install_cluster_routes(router: AdminRouter, member: ClusterMember) -> None:
    """Register ``GET /cluster``."""

    async def view(_: AdminRequest) -> AdminResponse:
        return AdminResponse.json(cluster_view(member))

    router.add("GET", "/cluster", view)
