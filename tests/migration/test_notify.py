"""Notifications against a real receiver on 127.0.0.1: delivery, retries, timeouts, a full queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.tasks import TaskSet
from migration.notify import Notifier, backoff_s
from migration.notify_config import SinkSettings
from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase
from tests.migration.receiver import Receiver

PLAN = Plan("api", (Step(1000), Step(5000), Step(10_000)))
STATE = MigrationState("api", PLAN, Phase.ROLLED_BACK, 1, 0, 1_764_000_000.0)


def event(kind: str = "rolled_back", route: str = "api") -> Event:
    return Event(route, 1_764_000_100.0, kind, Phase.ROLLED_BACK, 1, 0, ("latency_p95: 412 ms",))


class Rig:
    """A notifier with its own registry, client and task set; sleeps recorded, not slept."""

    def __init__(self, *sinks: SinkSettings) -> None:
        self.registry = CollectorRegistry()
        self.client = httpx.AsyncClient()
        self.tasks = TaskSet("test")
        self.sleeps: list[float] = []
        self.notifier = Notifier(
            sinks, self.client, self.registry, random=lambda: 0.5, sleep=self._sleep
        )

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def count(self, sink: str, outcome: str) -> float:
        value = self.registry.get_sample_value(
            "cutover_notifications_total", {"sink": sink, "outcome": outcome}
        )
        return value or 0.0

    async def until(self, predicate: object, limit_s: float = 5.0) -> None:
        """Wait for a counter the delivery task moves (it exposes no event to await)."""
        async with asyncio.timeout(limit_s):
            while not predicate():  # type: ignore[operator]  # noqa: ASYNC110
                await asyncio.sleep(0.01)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def rigs() -> AsyncIterator[list[Rig]]:
    made: list[Rig] = []
    yield made
    for rig in made:
        await rig.tasks.close()
        await rig.client.aclose()


def sink(url: str, **kw: object) -> SinkSettings:
    return SinkSettings(name=str(kw.pop("name", "s")), url=url, **kw)  # type: ignore[arg-type]


def test_backoff_is_full_jitter_capped() -> None:
    """Backoff n is random() * min(cap, base * 2^(n-1)): the injected random picks the point."""
    assert backoff_s(1, lambda: 1.0, 0.5, 30.0) == 0.5
    assert backoff_s(3, lambda: 1.0, 0.5, 30.0) == 2.0
    assert backoff_s(10, lambda: 0.5, 0.5, 30.0) == 15.0
    assert backoff_s(2, lambda: 0.0, 0.5, 30.0) == 0.0


async def test_json_and_slack_sinks_deliver(receiver: Receiver, rigs: list[Rig]) -> None:
    """A json sink gets the event and the migration; a slack sink gets text and blocks."""
    rig = Rig(sink(receiver.url, name="j"), sink(receiver.url, name="k", format="slack"))
    rigs.append(rig)
    rig.notifier.start(rig.tasks.spawn)
    rig.notifier.emitted(event(), STATE)
    bodies = [await receiver.next_body(), await receiver.next_body()]
    plain = next(b for b in bodies if "kind" in b)
    slack = next(b for b in bodies if "blocks" in b)
    assert plain["kind"] == "rolled_back"
    assert plain["migration"]["step"] == 2
    assert plain["reasons"] == ["latency_p95: 412 ms"]
    assert "ROLLED BACK" in slack["text"]
    assert "step 2/3" in slack["text"]
    await rig.until(lambda: rig.count("j", "sent") == 1 and rig.count("k", "sent") == 1)


async def test_filters_by_event_and_route(receiver: Receiver, rigs: list[Rig]) -> None:
    """A sink only hears the kinds and routes it asked for."""
    only = sink(receiver.url, events=frozenset({"completed"}), routes=frozenset({"api"}))
    rig = Rig(only)
    rigs.append(rig)
    rig.notifier.start(rig.tasks.spawn)
    rig.notifier.emitted(event("rolled_back"), STATE)
    rig.notifier.emitted(event("completed", route="other"), STATE)
    rig.notifier.emitted(event("completed"), STATE)
    body = await receiver.next_body()
    assert (body["kind"], body["route"]) == ("completed", "api")
    await rig.until(lambda: rig.count("s", "sent") == 1)
    assert len(receiver.bodies) == 1


async def test_rejected_answers_are_retried(rigs: list[Rig]) -> None:
    """Non-2xx answers are retried with backoff until one is accepted."""
    flaky = await Receiver([503, 500, 200]).start()
    try:
        rig = Rig(sink(flaky.url, retries=3))
        rigs.append(rig)
        rig.notifier.start(rig.tasks.spawn)
        rig.notifier.emitted(event(), STATE)
        await rig.until(lambda: rig.count("s", "sent") == 1)
        assert len(flaky.bodies) == 3
        assert rig.sleeps == [0.25, 0.5]  # random 0.5 of 0.5 s, then of 1 s
    finally:
        await flaky.stop()


async def test_receiver_down_retries_then_gives_up_without_slowing_the_caller(
    rigs: list[Rig],
) -> None:
    """A dead receiver: each retry fails, the notification counts failed; emitting stays instant."""
    dead = await Receiver().start()
    url = dead.url
    await dead.stop()
    rig = Rig(sink(url, retries=2))
    rigs.append(rig)
    rig.notifier.start(rig.tasks.spawn)
    started = time.perf_counter()
    for _ in range(50):
        rig.notifier.emitted(event(), STATE)
    assert time.perf_counter() - started < 0.05  # the controller's side only queues
    await rig.until(lambda: rig.count("s", "failed") == 50)
    attempts = rig.registry.get_sample_value(
        "cutover_notification_attempts_total", {"sink": "s", "outcome": "error"}
    )
    assert attempts == 150  # 1 + 2 retries each
    assert rig.count("s", "sent") == 0


async def test_hung_receiver_times_out(rigs: list[Rig]) -> None:
    """A receiver that never answers costs one timeout per attempt, then the notification fails."""
    hung = await Receiver(hang=True).start()
    try:
        rig = Rig(sink(hung.url, retries=1, timeout_s=0.2))
        rigs.append(rig)
        rig.notifier.start(rig.tasks.spawn)
        started = time.perf_counter()
        rig.notifier.emitted(event(), STATE)
        await rig.until(lambda: rig.count("s", "failed") == 1)
        assert 0.4 <= time.perf_counter() - started < 2.0
        timeouts = rig.registry.get_sample_value(
            "cutover_notification_attempts_total", {"sink": "s", "outcome": "timeout"}
        )
        assert timeouts == 2
    finally:
        await hung.stop()


async def test_full_queue_drops_the_oldest(rigs: list[Rig]) -> None:
    """Behind a hung receiver the queue keeps the newest queue_size notifications, counts drops."""
    hung = await Receiver(hang=True).start()
    try:
        rig = Rig(sink(hung.url, retries=0, timeout_s=5.0, queue_size=3))
        rigs.append(rig)
        rig.notifier.start(rig.tasks.spawn)
        rig.notifier.emitted(event("started"), STATE)
        await hung.next_body()  # in flight, out of the queue
        for kind in ("paused", "resumed", "promoted", "stalled", "completed"):
            rig.notifier.emitted(Event("api", 1.0, kind, Phase.RUNNING, 0, 0), STATE)
        assert rig.count("s", "dropped") == 1  # "resumed" is not notifiable by default
        assert rig.notifier.pending() == {"s": 3}
        queued = rig.registry.get_sample_value("cutover_notification_queue", {"sink": "s"})
        assert queued == 3
    finally:
        await hung.stop()


def test_events_queue_before_start() -> None:
    """Events emitted before delivery tasks start wait in the queue (start-up recovers plans)."""
    rig = Notifier([sink("http://127.0.0.1:9/x")], httpx.AsyncClient(), CollectorRegistry())
    rig.emitted(event(), STATE)
    assert rig.pending() == {"s": 1}
