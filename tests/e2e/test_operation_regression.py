"""One operation regresses at the 50 % step: the rollback names it, and no client sees a failure.

The issue #14 target "a real end-to-end test where one operation regresses and the verdict names
it", on real servers: both llmstruct backends, a ``cutover gateway`` process classifying requests by
the llmstruct contract's operationIds, and the demo's load. The load's smallest operation is
``GET /api/v1/system/status`` (operationId ``status``, 5 % of the requests, :func:`profile`). A
300 ms delay on the candidate for that operation alone puts the route's candidate p95 right at the
edge of the slow 5 %, where the windowed tail test cannot call it (measured p 0.2-0.4 against
0.001), and adds about 5 points to the route's share of slow requests, diluted by everything the
step saw before (the route's ``seq_latency`` read about -2 points at the rollback: the candidate is
faster elsewhere). The operation's own harm tests see every one of its candidate requests slow.

The fault lands mid-step, once the operation has enough evidence on both backends to be judged
(its ``seq_latency[status]`` check passes in the latest evaluation): a regression that begins after
a healthy stretch is the realistic case, and the route's tests then have the most healthy evidence
to dilute the change in, so a route-level check firing first would be a failure of what this test
proves. Hence the assertion on the *first* reason.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.stack import ROUTE, Admin, Load, gateway_sender, profile, seed_tasks

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

#: The operation the fault targets: ``GET /api/v1/system/status`` in the llmstruct contract.
OPERATION = "status"
#: The operation's harm checks that may name it (the shift test usually fires first: every one
#: of its candidate requests is 300 ms slower).
OPERATION_HARMS = ("seq_latency_shift", "seq_latency", "seq_error_rate")
FAULT = {"delay_ms": 300, "methods": ["GET"], "path": "/api/v1/system/status"}
#: Straight to 50 %, held far longer than the test runs: nothing promotes it first. (A 10 % step
#: before it would add ~20 s and prove nothing more here: test_rollback ramps through one.)
PLAN = {"steps": [{"weight": 50, "hold": "300s"}, 100], "min_requests": 50}


def latest_check(view: dict[str, Any], label: str) -> dict[str, Any] | None:
    """Check ``label`` of the route's latest evaluation (None before it is evaluated)."""
    latest = view.get("latest") or {}
    found: dict[str, Any] | None = (latest.get("checks") or {}).get(label)
    return found


def operation_p95(exposition: str, operation: str, backend: str) -> float | None:
    """``cutover_operation_window_p95_seconds`` of one operation and backend (any label order)."""
    for match in re.finditer(
        r"^cutover_operation_window_p95_seconds\{([^}]*)\} (\S+)$", exposition, re.MULTILINE
    ):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        wanted = {"route": ROUTE, "operation": operation, "backend": backend}
        if wanted.items() <= labels.items():
            return float(match.group(2))
    return None


async def test_one_slow_operation_is_rolled_back_by_name(gateway_factory: GatewayFactory) -> None:
    """A slow ``status`` on the candidate rolls back naming it first; no client request fails."""
    gateway = gateway_factory()
    gateway.start()
    sender = gateway_sender(gateway.public_url)
    admin = Admin(gateway.admin_url)
    label = f"seq_latency[{OPERATION}]"
    try:
        task_ids = await seed_tasks(sender, 10)
        load = Load(sender, profile(task_ids))
        await admin.send("POST", f"/migration/{ROUTE}/start", PLAN)
        await admin.wait_view(lambda v: v["weight"]["bps"] == 5000, "the 50 % step", 30.0)
        judged = await admin.wait_view(
            lambda v: (
                v["weight"]["bps"] == 5000
                and (latest_check(v, label) or {}).get("status") == "pass"
            ),
            f"{label} judged healthy at 50 %",
            60.0,
        )
        assert judged["phase"] == "running", judged
        answer = await admin.send("PUT", "/faults/candidate", FAULT)
        assert answer["fault"]["path"] == FAULT["path"]
        injected = time.monotonic()
        view = await admin.wait_view(lambda v: v["phase"] != "running", "the rollback", 90.0)
        detected_s = time.monotonic() - injected
        exposition = await admin.metrics()  # at once: the candidate's 4 s window still has it
        stats = await load.stop()
        events = (await admin.get(f"/migration/events?route={ROUTE}"))["events"]
    finally:
        await admin.aclose()
        await sender.close()

    assert view["phase"] == "rolled_back", view["last_decision"]
    assert view["weight"]["bps"] == 0
    (rolled,) = [e for e in events if e["kind"] == "rolled_back"]
    reasons = rolled["reasons"]
    mine = tuple(f"{name}[{OPERATION}]" for name in OPERATION_HARMS)
    assert reasons[0].startswith(mine), (reasons, detected_s)
    failed = [rolled["numbers"][c] for c in mine if rolled["numbers"][c]["status"] == "fail"]
    assert failed, rolled["numbers"]
    for numbers in failed:
        assert min(numbers["samples"], numbers["baseline_samples"]) >= 50, numbers
    for check in ("seq_latency", "seq_latency_shift"):  # the route's own
        assert rolled["numbers"][check]["status"] != "fail", rolled["numbers"][check]

    assert stats.failed == 0, stats.statuses
    assert stats.backends["candidate"] > 0

    assert f'operation="{OPERATION}"' in exposition
    p95 = operation_p95(exposition, OPERATION, "candidate")
    assert p95 is not None, exposition
    assert p95 >= 0.29, (p95, detected_s)
