"""A gateway killed with SIGKILL mid-ramp comes back at the same step, hold and counters, with no
task lost."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.stack import (
    API_KEY,
    ROUTE,
    Admin,
    Load,
    gateway_sender,
    profile,
    seed_tasks,
    step_index,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

#: Quick shadow and 10 % steps, then a 50 % step long enough to outlive the crash.
PLAN = {
    "steps": ["shadow", 10, {"weight": 50, "hold": "60s"}, 100],
    "hold": "2s",
    "min_requests": 50,
}


async def test_kill_9_resumes_the_step_and_keeps_every_task(
    gateway_factory: GatewayFactory,
) -> None:
    """After kill -9 and a restart on the same config: same step, hold and counters carried on,
    the weight re-applied, and every task written before the crash readable."""
    gateway = gateway_factory()
    gateway.start()
    sender = gateway_sender(gateway.public_url)
    admin = Admin(gateway.admin_url)
    try:
        task_ids = await seed_tasks(sender, 10)
        load = Load(sender, profile(task_ids))
        await admin.send("POST", f"/migration/{ROUTE}/start", PLAN)
        await admin.wait_view(lambda v: step_index(v) == 2, "step 2 (50 %)")
        await admin.wait_view(
            lambda v: v["plan"]["step_requests"] > 0 and v["plan"]["held_s"] >= 3.0,
            "requests counted and 3 s held at 50 %",
        )
        stats = await load.stop()
        assert stats.failed == 0, stats.statuses
        written = await seed_tasks(sender, 5)  # the last writes before the crash
        before = await admin.view()
        events_before = (await admin.get(f"/migration/events?route={ROUTE}"))["events"]
        gateway.kill()
        await sender.close()

        gateway.start()
        sender = gateway_sender(gateway.public_url)
        after = await admin.view()
        assert after["phase"] == "running"
        assert step_index(after) == 2
        assert after["weight"]["planned_bps"] == 5000
        assert after["weight"]["bps"] == 5000  # the weight in force in the new process
        assert after["plan"]["step_requests"] >= before["plan"]["step_requests"] > 0
        # The hold resumes from the last commit (about one 1 s evaluation before the kill; allow a
        # busy machine a second more), not from zero; the downtime does not count (migration.state).
        # (That downtime is excluded is pinned with a fake clock in
        # tests/migration/test_controller.py.)
        assert after["plan"]["held_s"] >= before["plan"]["held_s"] - 2.0
        assert after["plan"]["hold_s"] == 60.0
        status = await admin.get("/status")
        assert status["routes"][0]["weight_bps"] == 5000
        events_after = (await admin.get(f"/migration/events?route={ROUTE}"))["events"]
        assert events_after[: len(events_before)] == events_before
        assert "started" not in [e["kind"] for e in events_after[len(events_before) :]]

        headers = [("x-api-key", API_KEY)]
        for task_id in (*task_ids, *written):
            for client in range(4):  # several sticky clients: both backends read the store
                response = await sender.send(
                    "gateway",
                    "GET",
                    f"/api/v1/tasks/{task_id}",
                    [*headers, ("x-client-id", f"reader-{client}")],
                    None,
                    10.0,
                )
                assert response.status == 200, (task_id, response.status, response.body[:200])

        # The resumed step keeps counting: new candidate requests add to the carried-over count.
        load = Load(sender, profile(task_ids))
        carried = after["plan"]["step_requests"]
        await admin.wait_view(
            lambda v: v["plan"]["step_requests"] > carried, "the count to go on", within_s=20
        )
        stats = await load.stop()
        assert stats.failed == 0, stats.statuses
    finally:
        await admin.aclose()
        await sender.close()
