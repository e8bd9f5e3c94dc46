"""Supervision and the composed client over fake sidecars (``sidecar_fake``): no child process."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gateway.observer import Exchange
from gateway.shadow.config import RouteShadowConfig, ShadowConfigError, ShadowSettings
from gateway.shadow.sidecar_client import ShadowSidecar
from gateway.shadow.sidecar_fake import FakeSidecars
from gateway.shadow.sidecar_process import SidecarProcess, SidecarUnavailable
from gateway.shadow.sidecar_wire import Kind, Publication, SidecarSpec

SPEC = SidecarSpec(ShadowSettings(), {"items": RouteShadowConfig(percent=100)}, {}, None)
EXCHANGE = Exchange("items", "baseline", "GET", "/items", (), None, 200, (), b"{}")


def sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, labels) or 0.0


class Events:
    """What supervision told its owner, in order; ``until`` waits for one without polling."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._new = asyncio.Event()

    def __call__(self, event: str) -> None:
        self.seen.append(event)
        self._new.set()

    async def until(self, event: str, count: int = 1) -> None:
        async with asyncio.timeout(5):
            while self.seen.count(event) < count:
                self._new.clear()
                await self._new.wait()


def supervised(
    launch: FakeSidecars, registry: CollectorRegistry, **options: Any
) -> tuple[SidecarProcess, Events]:
    events = Events()
    process = SidecarProcess(
        lambda: SPEC,
        lambda kind, payload: events(kind.name),
        registry,
        on_up=lambda transport: events("up"),
        on_down=lambda: events("down"),
        launch=launch,
        **options,
    )
    return process, events


async def test_start_sends_the_spec_and_waits_for_ready() -> None:
    """``start`` launches at the spec's priority, sends the spec first and returns once ready."""
    launch, registry = FakeSidecars(), CollectorRegistry()
    process, events = supervised(launch, registry)
    await process.start()
    child = launch.children[0]
    assert child.spec == SPEC
    assert child.priority == SPEC.settings.process_priority
    assert process.pid == child.pid
    assert events.seen == ["up"]
    assert sample(registry, "cutover_shadow_sidecar_up") == 1
    await process.stop()
    assert child.returncode == 0
    assert process.pid is None
    assert sample(registry, "cutover_shadow_sidecar_up") == 0


async def test_a_start_up_error_is_a_config_error() -> None:
    """A sidecar that reports an error in READY fails ``start`` with it; nothing is up."""
    launch = FakeSidecars(error="shadow sidecar: bad contract")
    process, events = supervised(launch, CollectorRegistry())
    with pytest.raises(ShadowConfigError, match="bad contract"):
        await process.start()
    assert process.pid is None
    assert "up" not in events.seen


async def test_a_sidecar_that_never_gets_ready_is_killed() -> None:
    """No READY within the timeout: SidecarUnavailable, and the child is killed."""
    launch = FakeSidecars(silent=True)
    process, _ = supervised(launch, CollectorRegistry(), ready_timeout_s=0.05)
    with pytest.raises(SidecarUnavailable, match="did not start"):
        await process.start()
    assert launch.children[0].returncode == -9


async def test_a_crashed_sidecar_is_counted_and_started_again() -> None:
    """A sidecar that dies once up: down, counted, a new one after the delay, up again."""
    launch, registry = FakeSidecars(), CollectorRegistry()
    process, events = supervised(launch, registry, restart_delay_s=0.01)
    await process.start()
    launch.children[0].kill()
    await events.until("up", 2)
    assert events.seen == ["up", "down", "up"]
    assert process.pid == launch.children[1].pid
    assert process.restarts == 1
    assert sample(registry, "cutover_shadow_sidecar_up") == 1
    await process.stop()


async def test_frames_other_than_ready_go_to_the_owner() -> None:
    """A publication reaches the ``frames`` callback; READY is supervision's own."""
    launch = FakeSidecars()
    process, events = supervised(launch, CollectorRegistry())
    await process.start()
    launch.children[0].publish(Publication([]))
    await events.until(Kind.PUBLISH.name)
    assert Kind.READY.name not in events.seen
    await process.stop()


async def test_the_client_hands_over_and_drain_comes_after_the_exchanges() -> None:
    """Exchanges tapped before ``drain`` reach the sidecar before the drain call."""
    launch = FakeSidecars()
    sidecar = ShadowSidecar(SPEC, CollectorRegistry(), launch=launch)
    await sidecar.open()
    for _ in range(2):
        sidecar.on_response(EXCHANGE)
    await sidecar.drain()
    child = launch.children[0]
    assert child.exchanges == [EXCHANGE.as_tuple()] * 2
    assert child.calls == [("drain", ())]
    await sidecar.close()


async def test_a_restarted_sidecar_gets_the_rates_set_at_run_time() -> None:
    """``set_rate`` applied by the sidecar is kept here and sent in the next sidecar's spec."""
    launch = FakeSidecars()
    launch.replies["set_rate"] = (200, {"percent": 5.0})
    sidecar = ShadowSidecar(SPEC, CollectorRegistry(), restart_delay_s=0.01, launch=launch)
    await sidecar.open()
    assert (await sidecar.set_rate("items", b'{"percent": 5}')).status == 200
    launch.children[0].kill()
    assert (await launch.spec_of(1)).routes["items"].percent == 5.0
    await sidecar.close()


async def test_admin_views_answer_503_while_the_sidecar_is_down() -> None:
    """Not running: the admin views answer 503 ``shadow_sidecar_unavailable``, ``call`` raises."""
    sidecar = ShadowSidecar(SPEC, CollectorRegistry(), launch=FakeSidecars())
    reply = await sidecar.summary()
    assert reply.status == 503
    assert reply.body["error"] == "shadow_sidecar_unavailable"
    with pytest.raises(SidecarUnavailable, match="not running"):
        await sidecar.call("drain")


async def test_summary_adds_the_sidecars_state() -> None:
    """``GET /shadow`` from a running sidecar carries its pid, priority, restarts and buffer."""
    launch = FakeSidecars()
    launch.replies["summary"] = (200, {"routes": []})
    sidecar = ShadowSidecar(SPEC, CollectorRegistry(), launch=launch)
    await sidecar.open()
    reply = await sidecar.summary()
    state = reply.body["sidecar"]
    assert state["pid"] == launch.children[0].pid
    assert state["priority"] == SPEC.settings.process_priority
    assert (state["restarts"], state["buffered_bytes"]) == (0, 0)
    await sidecar.close()
