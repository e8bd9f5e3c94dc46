"""Slow and greedy clients against a real gateway on loopback (issue #12 item 6).

Timeouts are configured small (a few tenths of a second) so the suite is fast; the sweep runs every
quarter of the shortest timeout, so each limit holds to within that. Waiting for time to pass is the
point here, so these tests do sleep between the bytes they trickle.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gateway.server import Gateway
from tests.gateway.conftest import config_for
from tests.gateway.framing_support import Recorder, split_responses

FAST = {
    "header_timeout_s": 0.3,
    "body_idle_timeout_s": 0.3,
    "body_min_rate_bytes_s": 200.0,
    "body_grace_s": 0.3,
}

Start = Callable[..., Awaitable[tuple[Gateway, Recorder, CollectorRegistry]]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """Start a gateway with the given ``limits`` in front of a recording upstream."""
    started: list[tuple[Gateway, Recorder]] = []

    async def factory(**limits: Any) -> tuple[Gateway, Recorder, CollectorRegistry]:
        upstream = Recorder()
        await upstream.start()
        registry = CollectorRegistry()
        config = config_for(upstream.url, upstream.url, limits={**FAST, **limits})
        gateway = Gateway(config, registry, rng=random.Random(1))
        await gateway.start()
        started.append((gateway, upstream))
        return gateway, upstream, registry

    yield factory
    for gateway, upstream in started:
        await gateway.stop()
        await upstream.stop()


def timeouts(registry: CollectorRegistry, phase: str) -> float:
    value = registry.get_sample_value(
        "cutover_client_timeouts_total", {"listener": "public", "phase": phase}
    )
    return value or 0.0


async def trickle(
    port: int, head: bytes, drip: bytes, every_s: float, limit_s: float = 5.0
) -> tuple[bytes, float]:
    """Send ``head``, then one byte of ``drip`` every ``every_s`` until the gateway closes.

    Returns what came back and how long the connection lived.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    t0 = time.monotonic()
    writer.write(head)
    received = bytearray()

    async def drip_bytes() -> None:
        for i in range(len(drip)):
            await asyncio.sleep(every_s)
            if writer.is_closing():
                return
            writer.write(drip[i : i + 1])

    dripper = asyncio.create_task(drip_bytes())
    try:
        async with asyncio.timeout(limit_s):
            while chunk := await reader.read(65536):
                received += chunk
    except ConnectionError:
        pass
    finally:
        lived = time.monotonic() - t0
        dripper.cancel()
        writer.close()
    return bytes(received), lived


async def test_slow_head_gets_408_and_close(start: Start) -> None:
    """A head trickled a byte per 0.1 s is answered 408 with Connection: close at the head limit."""
    gateway, upstream, registry = await start()
    out, lived = await trickle(
        gateway.public_port, b"GET /a HTTP/1.1\r\nHost: gw\r\n", b"X-Slow: " + b"a" * 100, 0.1
    )
    responses = split_responses(out)
    assert [r.status for r in responses] == [408]
    assert responses[0].headers[b"connection"] == b"close"
    assert 0.3 <= lived < 1.5
    assert timeouts(registry, "head") == 1
    assert upstream.received == b""


async def test_silent_connection_is_closed_at_the_head_limit(start: Start) -> None:
    """A connection that never sends a byte is closed, without an answer, at the head limit."""
    gateway, _, registry = await start()
    out, lived = await trickle(gateway.public_port, b"", b"", 1.0)
    assert out == b""
    assert 0.3 <= lived < 1.5
    assert timeouts(registry, "head") == 1


async def test_keep_alive_wait_is_not_a_slow_head(start: Start) -> None:
    """Between requests the keep-alive idle timeout applies, not the head limit."""
    gateway, upstream, _ = await start()
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    try:
        writer.write(b"GET /a HTTP/1.1\r\nHost: gw\r\n\r\n")
        first = await reader.readuntil(b'"body":0}')
        await asyncio.sleep(0.8)  # well past header_timeout_s, far below the idle timeout
        writer.write(b"GET /b HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        second = await asyncio.wait_for(reader.read(-1), 5)
    finally:
        writer.close()
    assert first.startswith(b"HTTP/1.1 200")
    assert second.startswith(b"HTTP/1.1 200")
    assert upstream.targets == [b"/a", b"/b"]


async def test_stalled_body_gets_408_and_nothing_is_forwarded(start: Start) -> None:
    """A body that stops arriving is answered 408 after the idle gap; the upstream saw nothing."""
    gateway, upstream, registry = await start(body_min_rate_bytes_s=0)
    head = b"POST /in HTTP/1.1\r\nHost: gw\r\nContent-Length: 100\r\n\r\n0123456789"
    out, lived = await trickle(gateway.public_port, head, b"", 1.0)
    responses = split_responses(out)
    assert [r.status for r in responses] == [408]
    assert json.loads(responses[0].body) == {"error": "request_timeout"}
    assert responses[0].headers[b"connection"] == b"close"
    assert 0.3 <= lived < 1.5
    assert timeouts(registry, "body") == 1
    assert upstream.received == b""


async def test_body_trickle_below_the_minimum_rate_is_cut(start: Start) -> None:
    """One byte every 0.05 s never leaves a 0.3 s gap but is far below 200 B/s: 408 after grace."""
    gateway, upstream, registry = await start(body_idle_timeout_s=2.0)
    head = b"POST /in HTTP/1.1\r\nHost: gw\r\nContent-Length: 1000\r\n\r\n"
    out, lived = await trickle(gateway.public_port, head, b"a" * 1000, 0.05)
    assert [r.status for r in split_responses(out)] == [408]
    assert 0.3 <= lived < 1.5
    assert timeouts(registry, "body") == 1
    assert upstream.received == b""


async def test_slow_chunked_body_is_cut_too(start: Start) -> None:
    """A chunked body trickled a byte at a time (held before dispatch) is cut the same way."""
    gateway, upstream, registry = await start(body_idle_timeout_s=2.0)
    head = b"POST /in HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n"
    out, lived = await trickle(gateway.public_port, head, b"3e8\r\n" + b"a" * 1000, 0.05)
    assert [r.status for r in split_responses(out)] == [408]
    assert lived < 1.5
    assert timeouts(registry, "body") == 1
    assert upstream.received == b""


async def test_steady_upload_above_the_minimum_rate_is_not_cut(start: Start) -> None:
    """An upload at ~1 kB/s, slower than every timeout but above 200 B/s, completes."""
    gateway, upstream, registry = await start(
        body_idle_timeout_s=1.0
    )  # margin for a loaded machine
    size = 1500
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    writer.write(
        b"POST /in HTTP/1.1\r\nHost: gw\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % size
    )
    for _ in range(
        size // 50
    ):  # 50 bytes every 0.05 s: ~1.5 s in all, longer than grace + head and idle limits
        await asyncio.sleep(0.05)
        writer.write(b"b" * 50)
    out = await asyncio.wait_for(reader.read(-1), 5)
    writer.close()
    assert [r.status for r in split_responses(out)] == [200]
    assert upstream.bodies == [b"b" * size]
    assert timeouts(registry, "body") == 0


async def test_connections_beyond_the_cap_get_503(start: Start) -> None:
    """Past max_connections a connection gets 503 + Retry-After at once; a slot frees on close."""
    gateway, _, registry = await start(max_connections=2, header_timeout_s=5.0)
    port = gateway.public_port
    held = []
    for _ in range(2):  # two keep-alive connections, each known to the gateway by its answer
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"GET /a HTTP/1.1\r\nHost: gw\r\n\r\n")
        await r.readuntil(b'"body":0}')
        held.append((r, w))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /a HTTP/1.1\r\nHost: gw\r\n\r\n")
    out = await asyncio.wait_for(reader.read(-1), 5)
    writer.close()
    responses = split_responses(out)
    assert [r.status for r in responses] == [503]
    assert responses[0].headers[b"retry-after"] == b"1"
    refused = {"listener": "public"}
    assert registry.get_sample_value("cutover_connections_refused_total", refused) == 1
    assert registry.get_sample_value("cutover_client_connections", refused) == 2
    r, w = held.pop()  # the gateway closes this one after answering: a slot frees
    w.write(b"GET /a HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
    await asyncio.wait_for(r.read(-1), 5)
    w.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /a HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
    out = await asyncio.wait_for(reader.read(-1), 5)
    writer.close()
    held[0][1].close()
    assert out.startswith(b"HTTP/1.1 200")
