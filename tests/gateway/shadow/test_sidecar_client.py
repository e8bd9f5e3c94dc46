"""The shadow sidecar for real: a child process compares, checks, publishes and survives a crash."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from prometheus_client import CollectorRegistry

from gateway.observer import Exchange
from gateway.server import Gateway
from gateway.shadow.admin import admin_extension
from gateway.shadow.config import ShadowConfigError, parse_shadow_settings
from gateway.shadow.sidecar_client import ShadowSidecar
from gateway.shadow.sidecar_process import log_format
from gateway.shadow.sidecar_wire import SidecarSpec
from gateway.shadow.wiring import build_shadow, shadow_routes
from tests.gateway.shadow.conftest import Upstreams
from tests.gateway.shadow.test_gateway_wiring import TOKEN, gateway_config

pytestmark = pytest.mark.integration


class Outcomes:
    """Records what the migration metrics would receive."""

    def __init__(self) -> None:
        self.shadows: list[tuple[str, bool]] = []
        self.contracts: list[tuple[str, str, bool]] = []

    def observe_shadow(self, route: str, mismatched: bool) -> None:
        self.shadows.append((route, mismatched))

    def observe_contract(self, route: str, backend: str, violated: bool) -> None:
        self.contracts.append((route, backend, violated))


def sidecar_settings(**extra: Any) -> Any:
    return parse_shadow_settings(
        {"routes": {"items": {"percent": 100, "same_backend_percent": 0}}, **extra}
    )


async def started(
    upstreams: Upstreams,
    registry: CollectorRegistry,
    outcomes: Outcomes,
    restart_delay_s: float = 1.0,
    **extra: Any,
) -> AsyncIterator[tuple[Gateway, ShadowSidecar]]:
    config = gateway_config(upstreams)
    settings = sidecar_settings(**extra)
    upstream_configs = {"baseline": config.baseline, "candidate": config.candidate}
    spec = SidecarSpec(settings, shadow_routes(config, settings), upstream_configs, None)
    shadow = ShadowSidecar(spec, registry, observers=[outcomes], restart_delay_s=restart_delay_s)
    gateway = Gateway(config, registry, taps=[shadow], admin_extensions=[admin_extension(shadow)])
    await shadow.open()
    await gateway.start()
    try:
        yield gateway, shadow
    finally:
        await gateway.stop()
        await shadow.close()


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


async def test_sidecar_compares_publishes_and_answers_admin(upstreams: Upstreams) -> None:
    """Shadows run in the child; metrics, observer outcomes and /shadow reach the gateway."""
    registry, outcomes = CollectorRegistry(), Outcomes()
    async for gw, shadow in started(upstreams, registry, outcomes):
        assert shadow.pid is not None
        assert shadow.pid != os.getpid()
        assert os.getpriority(os.PRIO_PROCESS, shadow.pid) >= 10  # nice 10: "low", the default
        public = f"http://127.0.0.1:{gw.public_port}"
        admin = f"http://127.0.0.1:{gw.admin_port}"
        async with httpx.AsyncClient() as client:
            for _ in range(3):
                assert (await client.get(f"{public}/items")).status_code == 200
            await shadow.drain()
            assert len(upstreams.candidate.shadow_requests) == 3
            assert outcomes.shadows == [("items", True)] * 3
            assert (
                sample(registry, "cutover_shadow_total", route="items", outcome="mismatched") == 3
            )
            summary = (await client.get(f"{admin}/shadow")).json()
            items = next(r for r in summary["routes"] if r["route"] == "items")
            assert items["shadow"]["outcomes"]["mismatched"] == 3
            assert summary["sidecar"]["pid"] == shadow.pid
            detail = await client.get(f"{admin}/shadow/items")
            assert "$.name" in {f["field"] for f in detail.json()["shadow"]["fields"]}
            assert (await client.get(f"{admin}/shadow/nope")).status_code == 404
            put = await client.put(
                f"{admin}/shadow/items/rate",
                json={"percent": 0},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert put.status_code == 200
            assert not shadow.wants("items", "GET")  # check_primaries needs a contract: none here
            bad = await client.put(
                f"{admin}/shadow/items/rate",
                json={"percent": 101},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert bad.status_code == 422


async def test_sidecar_restarts_after_a_crash_with_current_rates(upstreams: Upstreams) -> None:
    """A killed sidecar is counted and restarted; hand-offs while down are dropped, not queued."""
    registry, outcomes = CollectorRegistry(), Outcomes()
    async for gw, shadow in started(upstreams, registry, outcomes, restart_delay_s=0.2):
        public = f"http://127.0.0.1:{gw.public_port}"
        first = shadow.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        async with httpx.AsyncClient() as client:
            while shadow.pid is None or shadow.pid == first:
                assert (await client.get(f"{public}/items")).status_code == 200
                await asyncio.sleep(0.05)
            assert shadow.restarts == 1
            assert sample(registry, "cutover_shadow_sidecar_restarts_total") == 1
            assert sample(registry, "cutover_shadow_handoff_dropped_total", route="items") >= 1
            assert sample(registry, "cutover_shadow_sidecar_up") == 1
            before = len(upstreams.candidate.shadow_requests)
            assert (await client.get(f"{public}/items")).status_code == 200
            await shadow.drain()
            assert len(upstreams.candidate.shadow_requests) == before + 1


async def test_sidecar_with_a_bad_contract_stops_start_up(
    upstreams: Upstreams, tmp_path: Path
) -> None:
    """A contract the sidecar cannot load fails ``open()`` with its message; no process is left."""
    bad = tmp_path / "contract.json"
    bad.write_text("{not json")
    shadow = build_shadow(
        gateway_config(upstreams), CollectorRegistry(), sidecar_settings(), contract=str(bad)
    )
    with pytest.raises(ShadowConfigError, match="shadow sidecar"):
        await shadow.open()
    assert isinstance(shadow, ShadowSidecar)
    assert shadow.pid is None


async def test_close_ends_the_sidecar_process(upstreams: Upstreams) -> None:
    """After ``close()`` the child has exited."""
    registry, outcomes = CollectorRegistry(), Outcomes()
    async for _, shadow in started(upstreams, registry, outcomes):
        pid = shadow.pid
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_inline_isolation_builds_the_service_on_this_loop(upstreams: Upstreams) -> None:
    """``shadow.isolation: inline`` keeps the old in-process service."""
    shadow = build_shadow(
        gateway_config(upstreams), CollectorRegistry(), sidecar_settings(isolation="inline")
    )
    assert not isinstance(shadow, ShadowSidecar)


async def test_idle_priority_runs_the_sidecar_under_sched_idle(upstreams: Upstreams) -> None:
    """``process_priority: idle`` puts the child under SCHED_IDLE."""
    registry, outcomes = CollectorRegistry(), Outcomes()
    async for _, shadow in started(upstreams, registry, outcomes, process_priority="idle"):
        assert shadow.pid is not None
        assert os.sched_getscheduler(shadow.pid) == os.SCHED_IDLE


async def test_process_cpus_pin_the_sidecar_and_show_in_shadow(upstreams: Upstreams) -> None:
    """``process_cpus`` sets the child's CPU affinity; ``/shadow`` reports the CPUs in effect."""
    cpu = max(os.sched_getaffinity(0))
    registry, outcomes = CollectorRegistry(), Outcomes()
    async for _, shadow in started(upstreams, registry, outcomes, process_cpus=[cpu]):
        assert shadow.pid is not None
        assert os.sched_getaffinity(shadow.pid) == {cpu}
        reply = await shadow.summary()
        assert reply.body["sidecar"]["cpus"] == [cpu]


def test_the_sidecar_logs_in_the_gateways_format() -> None:
    """A console-rendering gateway starts a console-rendering sidecar; anything else gets JSON."""
    try:
        structlog.configure(processors=[structlog.dev.ConsoleRenderer()])
        assert log_format() == "console"
        structlog.configure(processors=[structlog.processors.JSONRenderer()])
        assert log_format() == "json"
    finally:
        structlog.reset_defaults()


def test_exchanges_before_open_are_dropped_and_counted(upstreams: Upstreams) -> None:
    """A sidecar that is not running takes nothing into memory: each hand-off is a counted drop."""
    registry = CollectorRegistry()
    shadow = build_shadow(gateway_config(upstreams), registry, sidecar_settings())
    exchange = Exchange("items", "baseline", "GET", "/items", (), None, 200, (), b"{}")
    for _ in range(3):
        shadow.on_response(exchange)
    assert sample(registry, "cutover_shadow_handoff_dropped_total", route="items") == 3
