"""A full ramp shadow → 10 → 50 → 100 through the real gateway process, watched by the operator
CLI."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.stack import ROUTE, Admin, Load, cli_json, gateway_sender, profile, seed_tasks

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


async def test_ramp_completes_and_every_view_shows_it(gateway_factory: GatewayFactory) -> None:
    """Under load a plan walks every step to 100 %; API, CLI, events and /metrics agree."""
    gateway = gateway_factory()
    gateway.start()
    sender = gateway_sender(gateway.public_url)
    admin = Admin(gateway.admin_url)
    try:
        load = Load(sender, profile(await seed_tasks(sender, 10)))
        plan = {"steps": "shadow,10,50,100", "hold": "2s", "min_requests": 50}
        await admin.send("POST", f"/migration/{ROUTE}/start", plan)
        view = await admin.wait_view(
            lambda v: v["phase"] != "running", "the ramp to finish", within_s=60
        )
        stats = await load.stop()
        assert view["phase"] == "completed", view["last_decision"]
        assert view["weight"]["bps"] == 10_000
        assert view["weight"]["planned_bps"] == 10_000
        status = await admin.get("/status")
        assert status["routes"][0]["weight_bps"] == 10_000
        assert stats.failed == 0, stats.statuses
        assert stats.backends["candidate"] > 0

        events = (await admin.get(f"/migration/events?route={ROUTE}"))["events"]
        kinds = [e["kind"] for e in events]
        assert kinds[0] == "started"
        assert kinds.count("promoted") == 3
        assert kinds[-1] == "completed"
        promotions = [e for e in events if e["kind"] in ("promoted", "completed")]
        assert [e["weight_bps"] for e in promotions] == [1000, 5000, 10_000, 10_000]
        assert all(e["numbers"] and e["reasons"] for e in promotions)

        cli_status = cli_json(gateway.admin_url, "status")
        (cli_view,) = [v for v in cli_status["routes"] if v["route"] == ROUTE]
        assert cli_view["phase"] == "completed"
        assert cli_view["weight"]["bps"] == 10_000
        cli_events = cli_json(gateway.admin_url, "events", "--route", ROUTE)["events"]
        assert [e["kind"] for e in cli_events] == kinds

        exposition = await admin.metrics()
        promoted = re.search(rf'cutover_promotions_total{{route="{ROUTE}"}} (\S+)', exposition)
        assert promoted is not None
        assert float(promoted.group(1)) == 4.0
        phase = re.search(rf'cutover_migration_phase{{route="{ROUTE}"}} (\S+)', exposition)
        assert phase is not None
    finally:
        await admin.aclose()
        await sender.close()
