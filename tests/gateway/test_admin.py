"""Admin API: health, readiness, metrics, status, token checks, validation, audit, extensions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from gateway.admin import (
    MAX_ADMIN_BODY,
    AdminRequest,
    AdminResponse,
    AdminRouter,
    is_loopback,
    warn_if_exposed,
)
from gateway.server import Gateway
from tests.gateway.conftest import TOKEN, GatewayFactory, admin_client, client, config_for
from tests.gateway.upstreams import Upstream

pytestmark = pytest.mark.integration


async def test_health_ready_and_metrics(make_gateway: GatewayFactory) -> None:
    """Health and readiness need no token; /metrics is Prometheus text with our families."""
    registry = CollectorRegistry()
    gateway = await make_gateway(registry=registry)
    async with client(gateway) as c:
        await c.get("/json")
    async with admin_client(gateway, token=None) as a:
        assert (await a.get("/healthz")).json() == {"status": "ok"}
        assert (await a.get("/readyz")).json() == {"ready": True}
        metrics = await a.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'cutover_requests_total{backend="baseline",code_class="2xx",route="default"} 1.0' in text
    assert 'cutover_request_duration_seconds_count{backend="baseline",route="default"} 1.0' in text
    assert 'cutover_candidate_weight{route="default"} 0.0' in text


async def test_not_ready_after_stop(upstreams: tuple[Upstream, Upstream]) -> None:
    """Readiness is false until started and after stop."""
    gateway = Gateway(config_for(upstreams[0].url, upstreams[1].url))
    assert not gateway.state.ready
    await gateway.start()
    assert gateway.state.ready
    await gateway.stop()
    assert not gateway.state.ready


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Basic " + TOKEN}, 401),
        ({"X-Admin-Token": TOKEN}, 200),
        ({"Authorization": f"Bearer {TOKEN}"}, 200),
    ],
)
async def test_state_changes_need_the_token(
    make_gateway: GatewayFactory, headers: dict[str, str], status: int
) -> None:
    """PUT /routes/{name}/weight needs the admin token as Bearer or X-Admin-Token."""
    gateway = await make_gateway()
    async with admin_client(gateway, token=None) as a:
        r = await a.put("/routes/default/weight", json={"percent": 10}, headers=headers)
    assert r.status_code == status
    assert gateway.state.get_weight("default") == (1000 if status == 200 else 0)


async def test_without_a_configured_token_changes_are_refused(make_gateway: GatewayFactory) -> None:
    """No admin token configured: state-changing calls are 403, never open."""
    gateway = await make_gateway(admin_token=None)
    async with admin_client(gateway, token="anything") as a:
        r = await a.put("/routes/default/weight", json={"percent": 10})
    assert r.status_code == 403
    assert r.json()["error"] == "admin_token_not_configured"


async def test_weight_change_is_applied_exported_and_audited(make_gateway: GatewayFactory) -> None:
    """A valid weight is applied at once, exported as a ratio, and logged as an audit event."""
    registry = CollectorRegistry()
    gateway = await make_gateway(registry=registry)
    changes: list[tuple[str, int, int]] = []
    gateway.state.on_weight_change(lambda c: changes.append((c.route, c.old_bps, c.new_bps)))
    with capture_logs() as logs:
        async with admin_client(gateway) as a:
            r = await a.put("/routes/default/weight", json={"percent": 12.5})
    assert r.json() == {
        "route": "default",
        "weight_bps": 1250,
        "weight_percent": 12.5,
        "previous_bps": 0,
    }
    assert changes == [("default", 0, 1250)]
    assert registry.get_sample_value("cutover_candidate_weight", {"route": "default"}) == 0.125
    events = {e["event"] for e in logs}
    assert {"weight_changed", "admin_call"} <= events


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/routes/default/weight", {"percent": 101}, 422, "percent"),
        ("/routes/default/weight", {"percent": -1}, 422, "percent"),
        ("/routes/default/weight", {"pct": 5}, 422, "percent"),
        ("/routes/default/weight", {"percent": "a lot"}, 422, "percent"),
        ("/routes/nope/weight", {"percent": 5}, 404, None),
        ("/faults/candidate", {"abort_percent": 200}, 422, "abort_percent"),
        ("/faults/primary", {"abort_percent": 1}, 404, None),
    ],
)
async def test_validation(
    make_gateway: GatewayFactory, path: str, body: dict[str, object], status: int, field: str | None
) -> None:
    """Bad bodies are 422 naming the field; unknown routes and backends are 404."""
    gateway = await make_gateway()
    async with admin_client(gateway) as a:
        r = await a.put(path, json=body)
    assert r.status_code == status
    if field is not None:
        assert field in {d["field"] for d in r.json()["detail"]}


async def test_malformed_json_and_unknown_paths(make_gateway: GatewayFactory) -> None:
    """Broken JSON is 400, an unknown path 404, a wrong method 405."""
    gateway = await make_gateway()
    async with admin_client(gateway) as a:
        assert (await a.put("/routes/default/weight", content=b"{")).status_code == 400
        assert (await a.get("/nowhere")).status_code == 404
        assert (await a.post("/healthz")).status_code == 405


async def test_faults_set_and_clear(make_gateway: GatewayFactory) -> None:
    """PUT /faults/{backend} sets a fault, status shows it, DELETE clears it."""
    gateway = await make_gateway()
    async with admin_client(gateway) as a:
        r = await a.put(
            "/faults/candidate", json={"delay_ms": 5, "abort_percent": 10, "abort_status": 502}
        )
        assert r.status_code == 200
        status = (await a.get("/status")).json()
        assert status["backends"]["candidate"]["fault"]["abort_status"] == 502
        assert gateway.state.get_fault("candidate") is not None
        assert (await a.delete("/faults/candidate")).status_code == 200
        assert gateway.state.get_fault("candidate") is None


async def test_status_counts_per_backend(make_gateway: GatewayFactory) -> None:
    """/status lists routes with weights and per-backend request counters."""
    gateway = await make_gateway()
    async with client(gateway) as c:
        await c.get("/json")
        await c.get("/status/500")
    async with admin_client(gateway) as a:
        status = (await a.get("/status")).json()
    assert status["routes"][0]["name"] == "default"
    assert status["routes"][0]["weight_percent"] == 0
    assert status["backends"]["baseline"]["requests"] == 2
    assert status["backends"]["baseline"]["responses_5xx"] == 1


async def test_extension_endpoints(upstreams: tuple[Upstream, Upstream]) -> None:
    """Other packages add admin endpoints at build time; mutating ones need the token."""
    calls: list[str] = []

    async def hello(req: AdminRequest) -> AdminResponse:
        return AdminResponse.json({"hello": req.params["who"]})

    async def poke(req: AdminRequest) -> AdminResponse:
        calls.append(req.json()["x"])
        return AdminResponse.json({"ok": True})

    def extension(router: AdminRouter) -> None:
        router.add("GET", "/hello/{who}", hello)
        router.add("POST", "/poke", poke, mutating=True)

    gateway = Gateway(config_for(upstreams[0].url, upstreams[1].url), admin_extensions=[extension])
    await gateway.start()
    try:
        async with admin_client(gateway, token=None) as a:
            assert (await a.get("/hello/you")).json() == {"hello": "you"}
            assert (await a.post("/poke", json={"x": "no"})).status_code == 401
        async with admin_client(gateway) as a:
            assert (await a.post("/poke", json={"x": "yes"})).status_code == 200
        assert calls == ["yes"]
    finally:
        await gateway.stop()
    with pytest.raises(ValueError, match="already registered"):
        gateway.router.add("GET", "/healthz", hello)


async def test_admin_listener_is_separate(make_gateway: GatewayFactory) -> None:
    """Admin paths on the public listener are proxied, not served."""
    gateway = await make_gateway()
    async with client(gateway) as c:
        r = await c.get("/healthz")
    assert r.headers["x-cutover-backend"] == "baseline"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/routes/default/weight", {"percent": True}, "percent"),
        ("/routes/default/weight", {"percent": "50"}, "percent"),
        ("/routes/default/weight", {"percent": 1e308}, "percent"),
        ("/routes/default/weight", {"percent": -0.5}, "percent"),
        ("/routes/default/weight", {"percent": None}, "percent"),
        ("/faults/candidate", {"abort_percent": True}, "abort_percent"),
        ("/faults/candidate", {"abort_status": "503"}, "abort_status"),
        ("/faults/candidate", {"abort_status": 503.0}, "abort_status"),
        ("/faults/candidate", {"delay_ms": 1e308}, "delay_ms"),
    ],
)
async def test_admin_bodies_are_strict(
    make_gateway: GatewayFactory, path: str, body: dict[str, object], field: str
) -> None:
    """No coercion in admin bodies: true is not 1 %, "50" not 50 %; bounds hold (422 naming it)."""
    gateway = await make_gateway()
    async with admin_client(gateway) as a:
        r = await a.put(path, json=body)
    assert r.status_code == 422, r.text
    assert field in {d["field"] for d in r.json()["detail"]}
    assert gateway.state.get_weight("default") == 0
    assert gateway.state.get_fault("candidate") is None


async def test_an_integer_percent_is_still_a_number(make_gateway: GatewayFactory) -> None:
    """JSON has one number type: 50 and 12.5 are both accepted as percent."""
    gateway = await make_gateway()
    async with admin_client(gateway) as a:
        assert (await a.put("/routes/default/weight", json={"percent": 50})).status_code == 200
        assert (await a.put("/routes/default/weight", json={"percent": 12.5})).status_code == 200
    assert gateway.state.get_weight("default") == 1250


async def test_body_limit_is_enforced_while_reading(make_gateway: GatewayFactory) -> None:
    """A body over 1 MiB is 413 whether its length is declared or it arrives chunked."""
    gateway = await make_gateway()

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_ADMIN_BODY // 65536 + 2):
            yield b" " * 65536

    async with admin_client(gateway) as a:
        declared = await a.put("/routes/default/weight", content=b" " * (MAX_ADMIN_BODY + 1))
        chunked = await a.put("/routes/default/weight", content=chunks())
        at_limit = await a.put(
            "/routes/default/weight", content=b'{"percent": 5}'.ljust(MAX_ADMIN_BODY)
        )
    assert declared.status_code == 413
    assert chunked.status_code == 413
    assert chunked.json()["error"] == "request_body_too_large"
    assert at_limit.status_code == 200


@pytest.mark.parametrize(
    ("host", "exposed"),
    [
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("::1", False),
        ("[::1]", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("", True),
        ("::", True),
        ("10.1.2.3", True),
        ("admin.internal", True),
    ],
)
def test_admin_exposure_warning(host: str, exposed: bool) -> None:
    """Binding the admin listener beyond loopback logs one structured warning at start-up."""
    assert is_loopback(host) is not exposed
    with capture_logs() as logs:
        assert warn_if_exposed(host, 8081, token_configured=True) is exposed
    warnings = [e for e in logs if e["event"] == "admin_listener_exposed"]
    assert len(warnings) == (1 if exposed else 0)
    if exposed:
        assert warnings[0]["log_level"] == "warning"
        assert warnings[0]["port"] == 8081
        assert warnings[0]["token_configured"] is True


async def test_gateway_start_warns_when_admin_binds_all_interfaces(
    upstreams: tuple[Upstream, Upstream],
) -> None:
    """A gateway started with listeners.admin.host 0.0.0.0 logs admin_listener_exposed."""
    config = config_for(
        upstreams[0].url, upstreams[1].url, listeners={"admin": {"host": "0.0.0.0", "port": 0}}
    )
    gateway = Gateway(config)
    with capture_logs() as logs:
        await gateway.start()
        await gateway.stop()
    assert [e["host"] for e in logs if e["event"] == "admin_listener_exposed"] == ["0.0.0.0"]
