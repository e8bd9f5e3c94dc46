"""The pre-promotion and post-rollback hooks against a real receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Sequence
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.tasks import TaskSet
from migration.hooks import HookMetrics, PostRollbackHook, PrePromotionHook
from migration.notify_config import HookSettings
from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase
from migration.testing import FakeClock
from tests.migration.receiver import Receiver

PLAN = Plan("api", (Step(1000), Step(5000)))


def running(step_index: int = 0, started: float = 1_764_000_000.0) -> MigrationState:
    return MigrationState("api", PLAN, Phase.RUNNING, step_index, 1000, started)


class Parts:
    """A client, a task set, a fake clock and hook metrics, closed by the fixture."""

    def __init__(self) -> None:
        self.client = httpx.AsyncClient()
        self.tasks = TaskSet("test")
        self.clock = FakeClock()
        self.registry = CollectorRegistry()
        self.metrics = HookMetrics(self.registry)
        self.spawned: list[asyncio.Task[Any]] = []

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = self.tasks.spawn(coro, name)
        self.spawned.append(task)
        return task

    def gate(self, url: str, **kw: Any) -> PrePromotionHook:
        settings = HookSettings(url=url, **kw)
        return PrePromotionHook(
            settings, self.client, self.spawn, clock=self.clock, metrics=self.metrics
        )

    async def settled(self) -> None:
        """Wait for the hook calls in flight to finish."""
        await asyncio.gather(*self.spawned)

    def calls(self, hook: str, outcome: str) -> float:
        labels = {"hook": hook, "outcome": outcome}
        return self.registry.get_sample_value("cutover_hook_calls_total", labels) or 0.0


@pytest.fixture
async def parts() -> AsyncIterator[Parts]:
    p = Parts()
    yield p
    await p.tasks.close()
    await p.client.aclose()


async def test_pending_until_a_2xx_approves(parts: Parts) -> None:
    """The first ask POSTs and answers pending at once; after a 200 the step is approved, once."""
    receiver = await Receiver([200]).start()
    try:
        gate = parts.gate(receiver.url)
        first = gate.ask(running(), ["ni_latency: shown"])
        assert not first.approved
        assert first.outcome is None
        body = await receiver.next_body()
        assert body["hook"] == "pre_promotion"
        assert body["migration"]["step"] == 1
        assert body["next_step"]["weight_percent"] == 50
        assert body["reasons"] == ["ni_latency: shown"]
        await parts.settled()
        answer = gate.ask(running(), [])
        assert answer.approved
        assert answer.outcome is not None
        assert (answer.outcome["verdict"], answer.outcome["status"]) == ("approved", 200)
        again = gate.ask(running(), [])
        assert again.approved
        assert again.outcome is None  # recorded once
        assert len(receiver.bodies) == 1
        assert parts.calls("pre_promotion", "ok") == 1
    finally:
        await receiver.stop()


async def test_denial_holds_and_asks_again_after_the_backoff(parts: Parts) -> None:
    """A non-2xx denies; the hook is not called again before retry_after_s, then it is."""
    receiver = await Receiver([409, 200]).start()
    try:
        gate = parts.gate(receiver.url, retry_after_s=15.0)
        gate.ask(running(), [])
        await parts.settled()
        denied = gate.ask(running(), [])
        assert not denied.approved
        assert denied.outcome is not None
        assert denied.outcome["verdict"] == "denied"
        assert "HTTP 409" in denied.reasons[0]
        parts.clock.advance(10)
        assert not gate.ask(running(), []).approved
        assert len(receiver.bodies) == 1  # still backing off
        parts.clock.advance(5)
        assert not gate.ask(running(), []).approved  # a new call, pending
        await parts.settled()
        assert gate.ask(running(), []).approved
        assert len(receiver.bodies) == 2
    finally:
        await receiver.stop()


async def test_a_hung_hook_times_out_as_a_denial(parts: Parts) -> None:
    """A hook that never answers is a timeout after timeout_s: denied, recorded as timeout."""
    receiver = await Receiver(hang=True).start()
    try:
        gate = parts.gate(receiver.url, timeout_s=0.2)
        gate.ask(running(), [])
        await parts.settled()
        answer = gate.ask(running(), [])
        assert not answer.approved
        assert answer.outcome is not None
        assert answer.outcome["outcome"] == "timeout"
        assert "timeout after" in answer.reasons[0]
        assert parts.calls("pre_promotion", "timeout") == 1
    finally:
        await receiver.stop()


async def test_a_new_step_asks_afresh_and_unguarded_routes_pass(parts: Parts) -> None:
    """An approval is for its step; a route outside the hook's routes is approved without a call."""
    receiver = await Receiver([200]).start()
    try:
        gate = parts.gate(receiver.url, routes=frozenset({"api"}))
        gate.ask(running(0), [])
        await parts.settled()
        assert gate.ask(running(0), []).approved
        assert not gate.ask(running(1, started=1_764_000_500.0), []).approved
        other = MigrationState("web", Plan("web", (Step(1000),)), Phase.RUNNING, 0, 1000, 0.0)
        assert gate.ask(other, []).approved
        await parts.settled()
        assert len(receiver.bodies) == 2
    finally:
        await receiver.stop()


async def test_post_rollback_hook_posts_once_and_records_the_outcome(parts: Parts) -> None:
    """After a rolled_back event the hook is called once, its outcome recorded as a hook event."""
    receiver = await Receiver([500]).start()
    recorded: list[tuple[str, str, Sequence[str], dict[str, Any]]] = []
    try:
        hook = PostRollbackHook(
            HookSettings(url=receiver.url),
            parts.client,
            parts.spawn,
            lambda *args: recorded.append(args),
            metrics=parts.metrics,
        )
        state = running().with_(phase=Phase.ROLLED_BACK, weight_bps=0)
        hook.emitted(Event("api", 1.0, "promoted", Phase.RUNNING, 1, 5000), state)
        hook.emitted(Event("api", 2.0, "rolled_back", Phase.ROLLED_BACK, 0, 0, ("x",)), state)
        body = await receiver.next_body()
        await parts.settled()
        assert body["hook"] == "post_rollback"
        assert body["event"]["kind"] == "rolled_back"
        assert body["reasons"] == ["x"]
        [(route, kind, reasons, numbers)] = recorded
        assert (route, kind) == ("api", "hook")
        assert reasons == ("post-rollback hook failed (HTTP 500)",)
        assert numbers["hook"]["status"] == 500
        assert parts.calls("post_rollback", "rejected") == 1
    finally:
        await receiver.stop()


async def test_post_rollback_hook_survives_a_failing_recorder(parts: Parts) -> None:
    """A recorder that raises (store down, no longer leading) is logged, not propagated."""
    receiver = await Receiver([200]).start()

    def broken(*_: object) -> None:
        raise RuntimeError("store down")

    try:
        hook = PostRollbackHook(HookSettings(url=receiver.url), parts.client, parts.spawn, broken)
        hook.emitted(Event("api", 2.0, "rolled_back", Phase.ROLLED_BACK, 0, 0), None)
        await receiver.next_body()
        await parts.settled()  # the task ended without an exception
    finally:
        await receiver.stop()
