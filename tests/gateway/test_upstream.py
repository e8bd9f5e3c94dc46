"""UpstreamConnection's timeout bookkeeping, driven with plain clock values (no sockets, no sleeps)."""

from __future__ import annotations

import asyncio

from gateway.config import UpstreamConfig
from gateway.upstream import UpstreamConnection, UpstreamPool, UpstreamTimeout

CONFIG = UpstreamConfig(
    name="baseline", url="http://127.0.0.1:9", host="127.0.0.1", port=9,
    connect_timeout_s=1.0, read_timeout_s=2.0, total_timeout_s=None, pool_size=4,
)  # fmt: skip


async def test_read_timeout_counts_from_the_last_bytes_seen_by_a_sweep() -> None:
    """Bytes arriving push the read deadline back; silence after them still times out."""
    pool = UpstreamPool(CONFIG, asyncio.get_running_loop())
    conn = UpstreamConnection(pool)
    try:
        conn.begin(False, None, now=100.0)
        conn.request_sent(now=100.0)
        conn.data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        conn.check_timeouts(101.5, 2.0)  # the sweep sees the bytes: silence counts from here
        conn.check_timeouts(103.0, 2.0)
        assert conn.error is None
        conn.check_timeouts(103.6, 2.0)
        assert isinstance(conn.error, UpstreamTimeout)
    finally:
        pool.close()


async def test_a_silent_upstream_times_out_from_the_end_of_the_request() -> None:
    """With no response bytes at all, the read timeout runs from request_sent()."""
    pool = UpstreamPool(CONFIG, asyncio.get_running_loop())
    conn = UpstreamConnection(pool)
    try:
        conn.begin(False, None, now=10.0)
        conn.check_timeouts(20.0, 2.0)  # still sending: the clock does not run
        conn.request_sent(now=20.0)
        conn.check_timeouts(21.9, 2.0)
        assert conn.error is None
        conn.check_timeouts(22.0, 2.0)
        assert isinstance(conn.error, UpstreamTimeout)
    finally:
        pool.close()
