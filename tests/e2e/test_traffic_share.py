"""The weight against the traffic it really moves, on real servers (issue #15 item 1).

A gateway sticky on ``X-API-Key`` in front of the e2e load, whose 200 clients all send the same
key: at a 50 % step every request goes to one backend. ``GET /migration`` shows the observed share
beside the weight, one distinct sticky key, and the ``share_mismatch`` condition with its event.
The same load sticky on its per-client header shows about 200 keys and no warning.
"""

from __future__ import annotations

from typing import Any

import pytest

from migration.loadgen import CLIENT_HEADER
from tests.e2e.conftest import GatewayFactory
from tests.e2e.stack import ROUTE, Admin, Load, gateway_sender, profile

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

#: Straight to 50 %, held far longer than the test runs.
PLAN = {"steps": [{"weight": 50, "hold": "300s"}, 100], "min_requests": 50}


async def ramp_and_view(
    gateway_factory: GatewayFactory, sticky: str, until: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Start a gateway sticky on ``sticky``, go to 50 % under load; the view ``until`` accepts and
    the route's events."""
    gateway = gateway_factory(sticky_headers=[sticky])
    gateway.start()
    admin = Admin(gateway.admin_url)
    sender = gateway_sender(gateway.public_url)
    load = Load(sender, profile(()))
    try:
        await admin.send("POST", f"/migration/{ROUTE}/start", PLAN)
        view = await admin.wait_view(until, "the observed share", 60.0)
        events = await admin.get(f"/migration/events?route={ROUTE}")
        return view, events["events"]
    finally:
        await load.stop()
        await admin.aclose()
        await sender.close()


async def test_one_shared_api_key_moves_nobody_and_the_status_says_so(
    gateway_factory: GatewayFactory,
) -> None:
    """One API key at 50 %: observed 0 or 100 %, one key, share_mismatch raised with an event."""
    view, events = await ramp_and_view(
        gateway_factory, "x-api-key", lambda v: "share_mismatch" in v["conditions"]
    )
    (warned,) = [e for e in events if e["kind"] == "share_mismatch"]
    assert "sticks on the client's key" in warned["reasons"][0]
    weight = view["weight"]
    assert weight["percent"] == 50
    # The 10 s window may still hold a few requests from before the start (at 0 %).
    assert weight["observed_percent"] <= 5 or weight["observed_percent"] >= 95, weight
    assert weight["sticky_keys"] == 1, weight
    assert view["phase"] == "running"


async def test_many_clients_split_near_the_weight(gateway_factory: GatewayFactory) -> None:
    """The load's 200 per-client keys: about 200 keys counted and a share near 50 %."""
    view, _ = await ramp_and_view(
        gateway_factory,
        CLIENT_HEADER,
        lambda v: (
            (v["backends"]["candidate"]["samples"] + v["backends"]["baseline"]["samples"]) > 400
            and v["weight"]["bps"] == 5000
        ),
    )
    weight = view["weight"]
    assert 150 <= weight["sticky_keys"] <= 260, weight
    assert 25 <= weight["observed_percent"] <= 75, weight
    assert "share_mismatch" not in view["conditions"]
