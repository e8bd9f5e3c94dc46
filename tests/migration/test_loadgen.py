"""The demo's load generator: a pure request mix and an open-loop schedule with bounded work."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence

from gateway.shadow.sender import ShadowResponse
from migration.loadgen import LoadGenerator, LoadProfile, LoadStats, plan_request


def test_mix_is_mostly_reads_with_sticky_client_ids() -> None:
    """About 2 % writes, the rest GETs; each request names one of the profile's clients."""
    profile = LoadProfile(clients=50, task_ids=("a", "b"))
    rng = random.Random(1)
    plans = [plan_request(profile, rng) for _ in range(5000)]
    methods = Counter(p.method for p in plans)
    assert 0.01 < methods["POST"] / 5000 < 0.03
    clients = {dict(p.headers)["x-client-id"] for p in plans}
    assert len(clients) == 50
    assert all(dict(p.headers)["x-api-key"] == "dev-key" for p in plans)
    assert any(p.target == "/api/v1/tasks/a" for p in plans)


def test_stats_count_failures_and_quantiles() -> None:
    """2xx/3xx are ok, everything else failed; quantiles come from the kept latencies."""
    stats = LoadStats()
    for i in range(100):
        stats.record(200 if i < 98 else 502, "baseline", (i + 1) / 1000)
    assert (stats.ok, stats.failed) == (98, 2)
    assert stats.quantile_ms(0.5) == 51.0
    assert LoadStats().quantile_ms(0.5) is None


class _Answering:
    """A sender that answers after ``delay_s`` with the backend header set."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.calls = 0

    async def send(
        self,
        backend: str,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        timeout: float,  # noqa: ASYNC109 - mirrors the seam
    ) -> ShadowResponse:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return ShadowResponse(200, (("x-cutover-backend", "candidate"),), b"{}")


async def test_open_loop_sheds_instead_of_piling_up() -> None:
    """With a stalled target the in-flight cap holds and the excess is counted as shed (598)."""
    sender = _Answering(delay_s=10.0)
    generator = LoadGenerator(sender, LoadProfile(rps=400, max_in_flight=5))
    stop = asyncio.Event()
    task = asyncio.create_task(generator.run(stop, duration_s=0.2))
    await asyncio.sleep(0.25)
    assert sender.calls == 5
    assert generator.stats.statuses[598] > 0
    stop.set()
    task.cancel()


async def test_run_ends_after_duration_and_records_backends() -> None:
    """A bounded run stops by itself and records which backend answered."""
    generator = LoadGenerator(_Answering(0.0), LoadProfile(rps=200))
    stats = await generator.run(asyncio.Event(), duration_s=0.2)
    assert 20 <= stats.sent <= 60
    assert stats.backends["candidate"] == stats.sent
