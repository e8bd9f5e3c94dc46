"""Observed upstream durations keep sub-millisecond resolution under uvloop."""

from __future__ import annotations

import httpx
import uvloop
from prometheus_client import CollectorRegistry

from gateway.server import Gateway
from migration.testing import RecordingObserver
from tests.gateway.conftest import config_for
from tests.gateway.upstreams import Upstream


async def _scenario(durations: RecordingObserver) -> None:
    baseline, candidate = Upstream("baseline"), Upstream("candidate")
    await baseline.start()
    await candidate.start()
    gateway = Gateway(
        config_for(baseline.url, candidate.url), CollectorRegistry(), observers=[durations]
    )
    await gateway.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gateway.public_port}") as client:
            for _ in range(30):
                assert (await client.get("/json")).status_code == 200
    finally:
        await gateway.stop()
        await baseline.stop()
        await candidate.stop()


def test_durations_are_not_rounded_to_milliseconds() -> None:
    """uvloop's loop.time() ticks in whole milliseconds; latency histograms must not inherit it."""
    durations = RecordingObserver()
    uvloop.run(_scenario(durations))
    seen = [attempt[3] for attempt in durations.attempts]
    assert len(seen) == 30
    fractional = [d for d in seen if abs(d * 1000 - round(d * 1000)) > 1e-6]
    assert fractional, seen
