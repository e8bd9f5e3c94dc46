"""Each observed attempt carries its request's operation, named once per request (real sockets)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gateway.config import GatewayConfig
from gateway.server import Classify, Gateway
from migration.operations import build_classifier
from migration.testing import RecordingObserver
from tests.gateway.conftest import client, config_for
from tests.gateway.upstreams import Upstream

pytestmark = pytest.mark.integration

ROUTE = {
    "name": "default",
    "paths": ["/*"],
    "weight_bps": 10_000,
    "operations": ["GET /json", {"name": "status", "method": "GET", "path": "/status/{code}"}],
}

Start = Callable[..., Any]


class Counting:
    """A classifier wrapper that counts its calls."""

    def __init__(self, classify: Classify) -> None:
        self.classify = classify
        self.calls = 0

    def __call__(self, route: str, method: str, target: str) -> str:
        self.calls += 1
        return self.classify(route, method, target)


@pytest.fixture
async def start(upstreams: tuple[Upstream, Upstream]) -> AsyncIterator[Start]:
    """Start a gateway (a classifier built from its config, unless told) and stop it afterwards."""
    started: list[Gateway] = []

    async def factory(
        observers: tuple[RecordingObserver, ...],
        classify: Callable[[GatewayConfig], Classify | None] = lambda c: (
            build_classifier(c.routes, "llmstruct").classify
        ),
    ) -> Gateway:
        config = config_for(upstreams[0].url, upstreams[1].url, routes=[ROUTE])
        gateway = Gateway(
            config, observers=observers, classify=classify(config), rng=random.Random(1)
        )
        await gateway.start()
        started.append(gateway)
        return gateway

    yield factory
    for gateway in started:
        await gateway.stop()


async def test_observers_receive_each_requests_operation(start: Start) -> None:
    """Route patterns, the contract and the fallback name reach the observer, on both paths."""
    recorder = RecordingObserver()
    gateway = await start((recorder,))
    async with client(gateway) as c:
        for _ in range(2):  # the second over a pooled connection: the callback fast path
            assert (await c.get("/json?page=2")).status_code == 200
        assert (await c.get("/api/v1/tasks/7")).status_code == 200
        assert (await c.post("/api/v1/tasks", json={"title": "t"})).status_code == 200
        assert (await c.post("/echo", content=b"x")).status_code == 200
    operations = [(attempt[1], attempt[2], attempt[5]) for attempt in recorder.attempts]
    assert operations == [
        ("candidate", 200, "GET /json"),
        ("candidate", 200, "GET /json"),
        ("candidate", 200, "get_task"),
        ("candidate", 200, "create_task"),
        ("candidate", 200, "POST default"),
    ]


async def test_a_fallback_books_both_attempts_under_one_classification(start: Start) -> None:
    """A failed candidate attempt and the baseline's answer share the operation, classified once."""
    recorder, counting = RecordingObserver(), None

    def counted(config: GatewayConfig) -> Classify:
        nonlocal counting
        counting = Counting(build_classifier(config.routes, None).classify)
        return counting

    gateway = await start((recorder,), classify=counted)
    async with client(gateway) as c:
        assert (await c.get("/status/503")).json()["backend"] == "baseline"
    assert [(a[1], a[2], a[5]) for a in recorder.attempts] == [
        ("candidate", 503, "status"),
        ("baseline", 503, "status"),
    ]
    assert counting is not None
    assert counting.calls == 1


async def test_without_observers_nothing_is_classified(start: Start) -> None:
    """A gateway with no observers never pays for classification."""
    counting = Counting(lambda route, method, target: "never")
    gateway = await start((), classify=lambda config: counting)
    async with client(gateway) as c:
        for _ in range(3):
            assert (await c.get("/json")).status_code == 200
    assert counting.calls == 0


async def test_without_a_classifier_the_operation_is_empty(start: Start) -> None:
    """The gateway's default is no classification: observers get ''."""
    recorder = RecordingObserver()
    gateway = await start((recorder,), classify=lambda config: None)
    async with client(gateway) as c:
        assert (await c.get("/api/v1/tasks/7")).status_code == 200
    assert [attempt[5] for attempt in recorder.attempts] == [""]


async def test_a_failing_classifier_never_hurts_the_client(start: Start) -> None:
    """A classifier that raises is logged; the client gets its answer, the observer ''."""

    def broken(route: str, method: str, target: str) -> str:
        raise RuntimeError("boom")

    recorder = RecordingObserver()
    gateway = await start((recorder,), classify=lambda config: broken)
    async with client(gateway) as c:
        assert (await c.get("/json")).status_code == 200
    assert [attempt[5] for attempt in recorder.attempts] == [""]
