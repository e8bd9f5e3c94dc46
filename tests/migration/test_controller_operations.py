"""The controller judges each operation of a route: a regression in one is rolled back by name."""

from __future__ import annotations

from migration.plan import Plan, Step
from migration.state import Phase
from tests.migration.test_controller import ROUTE, Rig

#: Nineteen operations, so each carries about 5 % of the route's traffic (an odd count, so each
#: reaches both backends of the deterministic 50 % split).
OPERATIONS = [f"op{i:02d}" for i in range(19)]


def test_one_slow_operation_is_rolled_back_by_name() -> None:
    """One operation of nineteen 3x slower: rolled back, the event names it, the route passed."""
    rig = Rig()
    rig.traffic.operations = OPERATIONS
    rig.controller.start(Plan(ROUTE, (Step(5000, hold_s=600, min_requests=0), Step(10_000))))
    rig.drive(20)
    assert rig.state().phase is Phase.RUNNING
    rig.traffic.operation_factor = {"op07": 3.0}
    rig.drive(60)
    state = rig.state()
    assert state.phase is Phase.ROLLED_BACK
    [event] = [e for e in rig.store.events(ROUTE) if e.kind == "rolled_back"]
    assert event.reasons[0].startswith("seq_latency[op07]: ")
    assert event.numbers["seq_latency[op07]"]["status"] == "fail"
    assert event.numbers["seq_latency"]["status"] != "fail"


def test_a_new_step_forgets_the_operations_evidence() -> None:
    """Promotion starts every operation's evidence afresh, as the route's."""
    rig = Rig()
    rig.traffic.operations = OPERATIONS[:3]
    rig.controller.start(Plan(ROUTE, (Step(5000, hold_s=5, min_requests=0), Step(10_000))))
    rig.drive(30)
    assert rig.state().step_index == 1
    route, ops = rig.controller.ledger.windows(rig.state())
    assert route is not None
    assert set(ops) == set(OPERATIONS[:3])
    # Every request has an operation: the operations' evidence adds up to the route's step.
    assert sum(s.candidate.requests for s in ops.values()) == route.candidate.requests
