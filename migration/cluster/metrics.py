"""The cluster's Prometheus series (issue #13, item 7).

Per process: ``cutover_config_version`` (the snapshot version it applied), ``cutover_fail_static``,
``cutover_state_store_up``, ``cutover_leader{replica}`` (1 on the lease holder), and the evidence it
published. On the leader: ``cutover_replicas`` (members heard from within three lease TTLs) and
``cutover_lease_epoch``. Labels stay bounded: ``replica`` is this process' own name only.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["ClusterMetrics"]


class ClusterMetrics:
    """Gauges and counters of one cluster member."""

    def __init__(self, registry: CollectorRegistry, replica: str) -> None:
        self.replica = replica
        self.config_version = Gauge(
            "cutover_config_version",
            "Version of the shared config snapshot (weights, faults) this process applied.",
            registry=registry,
        )
        self.fail_static = Gauge(
            "cutover_fail_static",
            "1 while serving on the last snapshot because the shared store is unreachable.",
            registry=registry,
        )
        self.store_up = Gauge(
            "cutover_state_store_up",
            "1 when the last call to the shared state store answered.",
            registry=registry,
        )
        self.leader = Gauge(
            "cutover_leader",
            "1 on the member that holds the controller lease, 0 on the others.",
            ["replica"],
            registry=registry,
        )
        self.replicas = Gauge(
            "cutover_replicas",
            "Members heard from within three lease TTLs (as the leader sees them).",
            registry=registry,
        )
        self.epoch = Gauge(
            "cutover_lease_epoch", "Epoch of the controller lease as last seen.", registry=registry
        )
        self.evidence = Counter(
            "cutover_evidence_buckets",
            "Window buckets published to (outcome=published) or merged from (merged) the store.",
            ["outcome"],
            registry=registry,
        )
        self.store_up.set(1)
        self.leader.labels(replica).set(0)

    def update(
        self, *, version: int, fail_static: bool, store_up: bool, leading: bool, epoch: int
    ) -> None:
        """Refresh the per-process gauges."""
        self.config_version.set(version)
        self.fail_static.set(1 if fail_static else 0)
        self.store_up.set(1 if store_up else 0)
        self.leader.labels(self.replica).set(1 if leading else 0)
        self.epoch.set(epoch)
