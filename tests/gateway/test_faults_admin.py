"""``PUT /faults/{backend}`` with a request filter: checked by field, shown, applied per request."""

from __future__ import annotations

import pytest

from gateway.faults import FaultSpec
from tests.gateway.conftest import GatewayFactory, admin_client, client

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"delay_ms": 10, "methods": ["GE T"]}, "methods"),
        ({"delay_ms": 10, "methods": "POST"}, "methods"),
        ({"delay_ms": 10, "methods": [1]}, "methods.0"),
        ({"delay_ms": 10, "path": "api/v1/tasks"}, "path"),
        ({"delay_ms": 10, "path": ""}, "path"),
        ({"delay_ms": 10, "path": 7}, "path"),
    ],
)
async def test_bad_filter_is_422_naming_the_field(
    make_gateway: GatewayFactory, body: dict[str, object], field: str
) -> None:
    """A malformed method list or path pattern is refused with its field named; nothing is set."""
    gateway = await make_gateway()
    async with admin_client(gateway) as a:
        r = await a.put("/faults/candidate", json=body)
    assert r.status_code == 422
    assert field in {d["field"] for d in r.json()["detail"]}
    assert gateway.state.get_fault("candidate") is None


async def test_filter_is_set_and_shown(make_gateway: GatewayFactory) -> None:
    """The answer and ``GET /status`` carry the filter as set (methods upper-cased)."""
    gateway = await make_gateway()
    body = {"delay_ms": 300, "methods": ["post"], "path": "/api/v1/tasks"}
    async with admin_client(gateway) as a:
        r = await a.put("/faults/candidate", json=body)
        assert r.status_code == 200
        shown = (await a.get("/status")).json()["backends"]["candidate"]["fault"]
    assert r.json()["fault"] == shown
    assert (shown["methods"], shown["path"], shown["delay_ms"]) == (["POST"], "/api/v1/tasks", 300)
    assert gateway.state.get_fault("candidate") == FaultSpec(
        delay_ms=300, methods=("POST",), path="/api/v1/tasks"
    )


async def test_only_matching_requests_get_the_fault(make_gateway: GatewayFactory) -> None:
    """An abort on ``POST /status/*`` answers those with the injected status; the rest pass."""
    gateway = await make_gateway()  # weight 0: the baseline serves everything
    body = {"abort_percent": 100, "abort_status": 503, "methods": ["POST"], "path": "/status/*"}
    async with admin_client(gateway) as a:
        assert (await a.put("/faults/baseline", json=body)).status_code == 200
    async with client(gateway) as c:
        hit = await c.post("/status/200?x=1", content=b"{}")
        assert hit.status_code == 503
        assert hit.json()["error"] == "fault_injected"
        assert (await c.get("/status/200")).status_code == 200
        assert (await c.post("/echo", content=b"{}")).status_code == 200
        assert (await c.get("/json")).status_code == 200


async def test_a_fault_set_through_the_admin_api_is_on_metrics(
    make_gateway: GatewayFactory,
) -> None:
    """``PUT /faults/candidate`` shows as cutover_fault_active 1 on /metrics; clearing it, 0."""
    gateway = await make_gateway()
    async with admin_client(gateway) as a:
        await a.put("/faults/candidate", json={"delay_ms": 200})
        on = (await a.get("/metrics")).text
        await a.delete("/faults/candidate")
        off = (await a.get("/metrics")).text
    assert 'cutover_fault_active{backend="candidate"} 1.0' in on
    assert 'cutover_fault_delay_seconds{backend="candidate"} 0.2' in on
    assert 'cutover_fault_active{backend="candidate"} 0.0' in off
