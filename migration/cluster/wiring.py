"""Assembling one cluster member from a runtime's parts (used by :mod:`migration.runtime`).

The runtime builds the gateway, the windows and the store as on one process; this module adds what
a member needs for its role: the follower (with the state's guard, so an operator's change goes
through the snapshot), the evidence exporter and local guard for a data plane, the elector, the
merged evidence and the cluster weights for a member that may lead. The controller itself is built
by the runtime over :attr:`ClusterParts.source`, :attr:`ClusterParts.weights` and
:attr:`ClusterParts.inflight`.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from gateway.server import Gateway
from migration.cluster.exporter import BucketExporter
from migration.cluster.follower import ConfigFollower
from migration.cluster.guard import LocalGuard
from migration.cluster.inflight import MergedInflight, inflight_report
from migration.cluster.leader import LeaderElector
from migration.cluster.merged import MergedWindows
from migration.cluster.metrics import ClusterMetrics
from migration.cluster.seams import ClusterStore, Role
from migration.cluster.weights import ClusterWeights, SnapshotGuard
from migration.metrics import MigrationMetrics
from migration.policy import Policy

__all__ = ["ClusterParts", "ProxyInflight", "build_parts", "default_replica_name", "member_info"]


def default_replica_name() -> str:
    """``CUTOVER_REPLICA``, else ``host-pid`` (a pod's host name is unique in Kubernetes)."""
    return os.environ.get("CUTOVER_REPLICA") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class ClusterParts:
    """What one member adds to a runtime."""

    role: Role
    replica: str
    store: ClusterStore
    follower: ConfigFollower
    metrics: ClusterMetrics
    exporter: BucketExporter | None
    guard: LocalGuard | None
    elector: LeaderElector | None
    merged: MergedWindows | None
    merged_inflight: MergedInflight | None
    weights: ClusterWeights


def build_parts(
    *,
    role: Role,
    replica: str,
    store: ClusterStore,
    gateway: Gateway,
    windows: MigrationMetrics,
    policy: Policy,
    registry: CollectorRegistry,
    cache_path: Path | None,
    store_id: str = "",
) -> ClusterParts:
    """The parts of a member with ``role`` (not SOLO) over the runtime's gateway and windows."""
    follower = ConfigFollower(store, gateway.state, cache_path=cache_path, store_id=store_id)
    gateway.state.guard = SnapshotGuard(store, follower, gateway.state)
    exporter = guard = None
    if role.serves:
        exporter = BucketExporter(windows)
        guard = LocalGuard(gateway.state, follower, windows, ProxyInflight(gateway), policy)
    elector = merged = merged_inflight = None
    if role.may_lead:
        elector = LeaderElector(store, replica)
        merged = MergedWindows(clock=time.time)
        merged_inflight = MergedInflight()
    return ClusterParts(
        role,
        replica,
        store,
        follower,
        ClusterMetrics(registry, replica),
        exporter,
        guard,
        elector,
        merged,
        merged_inflight,
        ClusterWeights(store, gateway.state, follower),
    )


def member_info(role: Role, gateway: Gateway) -> dict[str, Any]:
    """The heartbeat's self-description (in-flight ages for a data plane)."""
    info: dict[str, Any] = {
        "role": role.value,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "public_port": gateway.public_port if role.serves else None,
    }
    if role is not Role.WORKER:
        info["admin"] = f"http://{gateway.admin_host}:{gateway.admin_port}"
    if role.serves and gateway.proxy is not None:
        info["inflight"] = inflight_report(gateway.proxy, gateway.state.route_names)
    return info


class ProxyInflight:
    """The local proxy's in-flight attempts (zeros before it runs)."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    def inflight(self, route: str, backend: str, older_than_s: float, /) -> tuple[int, int, float]:
        proxy = self._gateway.proxy
        return (0, 0, 0.0) if proxy is None else proxy.inflight(route, backend, older_than_s)
