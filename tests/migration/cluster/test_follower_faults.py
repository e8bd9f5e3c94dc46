"""A fault travels through the cluster's config snapshot unchanged, its request filter included."""

from __future__ import annotations

import pytest

from gateway.config import build_config
from gateway.faults import FaultSpec
from gateway.state import GatewayState
from migration.cluster.follower import ConfigFollower, set_fault_in
from migration.cluster.testing import InMemoryClusterStore


@pytest.mark.parametrize(
    "spec",
    [
        FaultSpec(delay_ms=300, methods=("POST",), path="/api/v1/tasks"),
        FaultSpec(abort_percent=10, abort_status=502, path="/api/v1/tasks*"),
        FaultSpec(delay_ms=50),
        None,
    ],
)
def test_snapshot_carries_the_filter(spec: FaultSpec | None) -> None:
    """A follower applies the published fault (through JSON, as SQL stores keep it) as it was."""
    store = InMemoryClusterStore(clock=lambda: 0.0)
    state = GatewayState(build_config({}))
    state.set_fault("candidate", FaultSpec(delay_ms=1))
    store.update_config(lambda data: set_fault_in(data, "candidate", spec))
    assert ConfigFollower(store, state).apply(store.read_config())
    assert state.get_fault("candidate") == spec
    applied = state.get_fault("candidate")
    if applied is not None and applied.path == "/api/v1/tasks":
        assert applied.matches("POST", b"/api/v1/tasks")
        assert not applied.matches("POST", b"/api/v1/tasks/1")
