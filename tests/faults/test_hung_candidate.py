"""A hung candidate (``kill -STOP``) under steady GET load at 50 %: rolled back within 10 s.

Issue #12, item 1, on the e2e stack (both real backends, a real ``cutover gateway`` process, the
demo's load generator). The stopped candidate's kernel keeps accepting connections, so attempts do
not fail: they hang. The controller sees them in flight (``Proxy.inflight``), counts them as stuck
after a second and rolls back; meanwhile each hung attempt falls back to the baseline after the
route's ``auto`` deadline. The test prints the time from the hang to weight 0 in the gateway and the
longest any client waited.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from migration.cli.processes import free_port
from tests.e2e.stack import (
    ROUTE,
    Admin,
    GatewayProcess,
    Load,
    gateway_sender,
    gateway_yaml,
    profile,
    seed_tasks,
    start_backends,
)

#: Offered load: 50 % of it is >= 50 candidate requests per second.
RPS = 130.0


@pytest.mark.parametrize("deadline", ["auto", 5.0])
async def test_a_hung_candidate_is_rolled_back_within_10_s(
    tmp_path: Path, deadline: str | float
) -> None:
    """SIGSTOP on the candidate at 50 %: weight 0 within 10 s, no client error, no 30 s wait.

    With a fixed 5 s fallback deadline no attempt times out before the rollback: only the
    attempts in flight can show the hang, and the ``stuck`` check rolls back first.
    """
    processes, ports = start_backends(tmp_path)
    public, admin_port = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    data = yaml.safe_load(
        gateway_yaml(ports, public, admin_port, tmp_path / "migration.db", shadow_percent=0)
    )
    data["routes"][0]["fallback_after_s"] = deadline
    config.write_text(yaml.safe_dump(data), "utf-8")
    gateway = GatewayProcess(config, public, admin_port, tmp_path / "gateway.log")
    candidate = processes.pid("custom")
    stopped = False
    try:
        gateway.start()
        admin = Admin(gateway.admin_url)
        sender = gateway_sender(gateway.public_url)
        task_ids = await seed_tasks(sender, 5)
        plan = {"steps": [50, 100], "hold": "10m", "min_requests": 10}
        await admin.send("POST", f"/migration/{ROUTE}/start", plan)
        # Clients wait up to 15 s, longer than any deadline here, so a failure is the gateway's.
        load = Load(sender, replace(profile(task_ids, rps=RPS), timeout_s=15.0))
        await admin.wait_view(
            lambda v: v["backends"]["candidate"]["rps"] >= 50, "candidate >= 50 req/s", 30.0
        )
        os.kill(candidate, signal.SIGSTOP)
        stopped, hung_at = True, time.monotonic()
        while (await admin.get("/status"))["routes"][0]["weight_bps"] != 0:
            assert time.monotonic() - hung_at < 10.0, gateway.tail()
            await asyncio.sleep(0.05)
        to_rollback = time.monotonic() - hung_at
        await asyncio.sleep(3.0)  # the attempts in flight at the rollback finish by falling back
        stats = await load.stop()
        view = await admin.view()
        await sender.close()
        await admin.aclose()
        max_wait = max(stats.latencies_s)
        why = [r.partition(":")[0] for r in view["last_decision"]["reasons"]]
        print(
            f"hung candidate at {RPS:g} req/s, 50 %, fallback_after_s {deadline}: rolled back "
            f"{to_rollback:.2f} s after SIGSTOP "
            f"({', '.join(why)}); max client wait {max_wait:.2f} s; {stats.sent} requests, "
            f"{stats.failed} failed"
        )
        assert view["phase"] == "rolled_back"
        # Stuck in flight, or timed out at the fallback deadline (errors, unreachable): both are
        # the hang; which one fires first depends on the deadline the controller published.
        assert {"stuck", "unreachable", "error_rate_limit"} & set(why), why
        if deadline != "auto":
            assert "stuck" in why
            assert to_rollback < float(deadline)
        assert stats.failed == 0, stats.statuses
        assert max_wait < 10.0
    finally:
        if stopped:
            os.kill(candidate, signal.SIGCONT)
        gateway.stop()
        processes.stop()
