"""The runtime wires notifications and hooks from ``migration:``: a
real gateway, a real receiver."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.config import ConfigError
from migration.hooks import PrePromotionHook
from migration.notify import Notifier
from migration.runtime import CutoverRuntime, parse_migration_settings
from tests.gateway.conftest import TOKEN, config_for, upstreams  # noqa: F401 - fixture
from tests.gateway.upstreams import Upstream
from tests.migration.receiver import Receiver


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"notifications": [{"url": "nope"}]}, "migration.notifications.0.url"),
        (
            {"hooks": {"post_rollback": {"url": "http://x", "timeout_s": 0}}},
            "migration.hooks.post_rollback.timeout_s",
        ),
    ],
)
def test_bad_notification_settings_stop_start_up(data: dict[str, Any], field: str) -> None:
    """The runtime's `migration:` parser validates notifications and hooks, naming the field."""
    with pytest.raises(ConfigError) as err:
        parse_migration_settings(data, ["default"])
    assert str(err.value).startswith(field)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
async def runtime(
    upstreams: tuple[Upstream, Upstream],  # noqa: F811 - the fixture imported above
    receiver: Receiver,
    tmp_path: Path,
) -> AsyncIterator[CutoverRuntime]:
    """A runtime with a json sink and both hooks pointing at the receiver, and a plan to start."""
    baseline, candidate = upstreams
    config = config_for(
        baseline.url,
        candidate.url,
        routes=[{"name": "default", "paths": ["/*"]}],
        migration={
            "state_db": str(tmp_path / "migration.db"),
            "interval_s": 0.05,
            "contract": "none",
            "memory_scrape": False,
            "plan": {"route": "default", "steps": [10, 100], "hold": "1h"},
            "notifications": [{"url": receiver.url + "/n", "name": "ops"}],
            "hooks": {
                "pre_promotion": {"url": receiver.url + "/pre"},
                "post_rollback": {"url": receiver.url + "/post", "timeout_s": 1},
            },
        },
    )
    rt = CutoverRuntime(config, CollectorRegistry())
    await rt.start()
    yield rt
    await rt.stop()


async def test_lifecycle_is_notified_and_the_rollback_hook_recorded(
    runtime: CutoverRuntime, receiver: Receiver
) -> None:
    """The config's plan starts (notified); a rollback is notified, hooked, its outcome an event."""
    assert isinstance(runtime.controller.gate, PrePromotionHook)
    assert isinstance(runtime.notifier, Notifier)
    started = await receiver.next_body()
    assert (started["kind"], started["route"]) == ("started", "default")
    runtime.controller.rollback("default", "drill", actor="test")
    bodies = [await receiver.next_body(), await receiver.next_body()]
    assert {b.get("kind") or b.get("hook") for b in bodies} == {"rolled_back", "post_rollback"}
    sent = {"sink": "ops", "outcome": "sent"}

    def settled() -> bool:
        delivered = runtime.registry.get_sample_value("cutover_notifications_total", sent)
        return runtime.store.events("default")[-1].kind == "hook" and delivered == 2

    async with asyncio.timeout(5):
        while not settled():  # noqa: ASYNC110 - the background deliveries expose no event
            await asyncio.sleep(0.02)
    hook = runtime.store.events("default")[-1]
    assert hook.reasons == ("post-rollback hook delivered (HTTP 200)",)
    assert sorted(receiver.paths) == ["/hook/n", "/hook/n", "/hook/post"]
    admin = f"http://127.0.0.1:{runtime.gateway.admin_port}/metrics"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        metrics = (await client.get(admin)).text
    assert 'cutover_notifications_total{outcome="sent",sink="ops"} 2.0' in metrics
    assert 'cutover_hook_calls_total{hook="post_rollback",outcome="ok"} 1.0' in metrics
