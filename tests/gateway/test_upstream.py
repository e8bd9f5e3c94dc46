"""UpstreamConnection's timeout bookkeeping, driven by plain clock values (no sockets or sleeps)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import pytest

from gateway.config import UpstreamConfig
from gateway.upstream import (
    UpstreamConnection,
    UpstreamFallbackDeadline,
    UpstreamPool,
    UpstreamTimeout,
)

CONFIG = UpstreamConfig(
    "http://127.0.0.1:9",
    connect_timeout_s=1.0,
    read_timeout_s=2.0,
    total_timeout_s=None,
    pool_size=4,
)


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


async def test_the_head_deadline_fires_only_while_no_head_has_arrived() -> None:
    """A fallback deadline fails a silent exchange early, and is moot once the head is in."""
    pool = UpstreamPool(CONFIG, asyncio.get_running_loop())
    silent, answered = UpstreamConnection(pool), UpstreamConnection(pool)
    try:
        for conn in (silent, answered):
            conn.begin(False, None, 10.0, "api", 10.5)
            conn.request_sent(now=10.0)
        answered.data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        for conn in (silent, answered):
            conn.check_timeouts(10.4, 2.0)
            assert conn.error is None
            conn.check_timeouts(10.5, 2.0)
        assert isinstance(silent.error, UpstreamFallbackDeadline)
        assert isinstance(silent.error, UpstreamTimeout)  # counted as a timeout everywhere
        assert (silent.error.kind, silent.error.status) == ("fallback_deadline", 504)
        assert answered.error is None  # the body's silence is the read timeout's business
    finally:
        pool.close()


async def test_inflight_counts_open_exchanges_by_route_and_age() -> None:
    """The pool reports attempts in flight, those older than a limit, and the oldest one's age."""
    pool = UpstreamPool(CONFIG, asyncio.get_running_loop())
    conns = [UpstreamConnection(pool) for _ in range(3)]
    try:
        assert pool.inflight(50.0, 1.0, None) == (0, 0, 0.0)
        conns[0].begin(False, None, 10.0, "api")
        conns[1].begin(False, None, 19.5, "api")
        conns[2].begin(False, None, 15.0, "other")
        assert pool.inflight(20.0, 1.0, "api") == (2, 1, 10.0)
        assert pool.inflight(20.0, 1.0, None) == (3, 2, 10.0)
        conns[0].data_received(b"HTTP/1.1 204 No Content\r\n\r\n")  # complete: no longer in flight
        assert pool.inflight(20.0, 1.0, "api") == (1, 0, 0.5)
        conns[2].data_received(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")  # head only
        assert pool.inflight(20.0, 1.0, "other") == (1, 1, 5.0)  # still streaming its body
        assert pool.inflight(20.0, 1.0, "other", awaiting_head=True) == (0, 0, 0.0)  # answered
    finally:
        pool.close()


async def test_a_short_fallback_deadline_cuts_the_connect() -> None:
    """Connecting to a full backlog is cut at the fallback deadline, not the connect timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):  # fill the accept queue: later SYNs are dropped
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(("127.0.0.1", port))
                fillers.append(filler)
            config = dataclasses.replace(
                CONFIG, url=f"http://127.0.0.1:{port}", connect_timeout_s=5.0
            )
            loop = asyncio.get_running_loop()
            pool = UpstreamPool(config, loop)
            start = loop.time()
            with pytest.raises(UpstreamFallbackDeadline):
                await pool.connect(0.2)
            assert loop.time() - start < 1.0
        finally:
            for filler in fillers:
                filler.close()
