"""The ages of attempts in flight, oldest first and bounded: what a cluster member reports."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from gateway.config import UpstreamConfig
from gateway.upstream import UpstreamConnection, UpstreamPool
from tests.gateway.conftest import GatewayFactory, client
from tests.gateway.upstreams import Upstream

CONFIG = UpstreamConfig(
    "http://127.0.0.1:9",
    connect_timeout_s=1.0,
    read_timeout_s=2.0,
    total_timeout_s=None,
    pool_size=4,
)
ALL_CANDIDATE = [{"name": "default", "paths": ["/*"], "weight_bps": 10_000}]


async def test_pool_reports_the_oldest_ages_of_what_inflight_counts() -> None:
    """Same exchanges as ``inflight``: open ones of the route, oldest first, at most ``limit``."""
    pool = UpstreamPool(CONFIG, asyncio.get_running_loop())
    conns = [UpstreamConnection(pool) for _ in range(4)]
    try:
        assert pool.inflight_ages(50.0, "api", 8) == (0, [])
        for conn, started, route in zip(
            conns, (10.0, 19.5, 15.0, 12.0), ("api", "api", "api", "x"), strict=True
        ):
            conn.begin(False, None, started, route)
        assert pool.inflight_ages(20.0, "api", 8) == (3, [10.0, 5.0, 0.5])
        assert pool.inflight_ages(20.0, "api", 2) == (3, [10.0, 5.0])
        assert pool.inflight_ages(20.0, None, 1) == (4, [10.0])
        conns[0].data_received(b"HTTP/1.1 204 No Content\r\n\r\n")  # complete
        conns[2].data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")  # head only
        assert pool.inflight_ages(20.0, "api", 8) == (2, [5.0, 0.5])
        assert pool.inflight_ages(20.0, "api", 8, awaiting_head=True) == (1, [0.5])
        assert pool.inflight(20.0, 1.0, "api", True)[0] == 1
    finally:
        pool.close()


@pytest.mark.integration
async def test_proxy_reports_ages_of_hung_attempts(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """Two attempts hanging on the candidate are reported with their ages, oldest first."""
    gateway = await make_gateway(routes=ALL_CANDIDATE)
    proxy = gateway.proxy
    assert proxy is not None
    assert proxy.inflight_ages("default", "candidate", 64) == (0, [])
    candidate = upstreams[1]
    async with client(gateway) as c:
        pending = []
        for _ in range(2):
            candidate.hang_started.clear()
            pending.append(asyncio.ensure_future(c.post("/hang", content=b"{}")))
            await candidate.hang_started.wait()
        count, ages = proxy.inflight_ages("default", "candidate", 64)
        assert count == 2
        assert ages == sorted(ages, reverse=True)
        assert ages[1] > 0.0
        count, oldest = proxy.inflight_ages("default", "candidate", 1)  # the clock moved on
        assert count == 2
        assert len(oldest) == 1
        assert oldest[0] >= ages[0]
        assert proxy.inflight_ages("default", "baseline", 64) == (0, [])
        assert proxy.inflight_ages("other", "candidate", 64) == (0, [])
        for future in pending:
            future.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await future
    await candidate.hang_cancelled.wait()
