"""The server layer's timeout sweep, driven with explicit clock values (no sleeping).

:meth:`gateway.http.HttpConnection.check_timeouts` takes ``now`` from the listener's sweep, so these
tests call it directly with chosen times against a connection on a fake transport.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.http import ClientGone, ClientLimits, HttpConnection, Listener, Request

LIMITS: dict[str, Any] = {
    "header_timeout_s": 10.0,
    "body_idle_timeout_s": 10.0,
    "body_min_rate_bytes_s": 500.0,
    "body_grace_s": 10.0,
    "idle_timeout_s": 75.0,
}
TICK = 1.0


class FakeTransport:
    """Records what the connection does to its socket."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False
        self.eof = False
        self.paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 5555) if name == "peername" else default

    def write(self, data: bytes) -> None:
        self.written += data

    def writelines(self, parts: list[bytes]) -> None:
        self.written += b"".join(parts)

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return self.closed


class Events:
    """Collects what the listener reports."""

    def __init__(self) -> None:
        self.timeouts: list[str] = []
        self.rejected: list[str] = []

    def client_timeout(self, listener: str, phase: str) -> None:
        self.timeouts.append(phase)

    def request_rejected(self, listener: str, reason: str) -> None:
        self.rejected.append(reason)

    def connection_refused(self, listener: str) -> None:
        raise AssertionError("not expected")


async def connect(**limits: Any) -> tuple[HttpConnection, FakeTransport, Events, list[Request]]:
    """A connection whose handler reads the whole body, then answers 200."""
    seen: list[Request] = []

    async def handle(req: Request) -> None:
        seen.append(req)
        if req.body is not None:
            try:
                await req.body.read_all()
            except ClientGone:  # the sweep gave up on the body
                return
        req.conn.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

    events = Events()
    listener = Listener("public", handle, ClientLimits(**{**LIMITS, **limits}), events)
    conn = listener.protocol()
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    return conn, transport, events, seen


def status(transport: FakeTransport) -> int | None:
    data = bytes(transport.written)
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None


async def test_head_is_timed_from_the_first_sweep_that_sees_it() -> None:
    """A head still incomplete header_timeout_s after the sweep first saw it is answered 408."""
    conn, transport, events, _ = await connect()
    conn.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n")
    conn.check_timeouts(100.0, TICK)
    conn.check_timeouts(109.0, TICK)
    assert status(transport) is None
    conn.check_timeouts(110.0, TICK)
    assert status(transport) == 408
    assert transport.eof
    assert events.timeouts == ["head"]


async def test_a_silent_connection_is_closed_without_an_answer() -> None:
    """No byte at all within header_timeout_s: closed, nothing written."""
    conn, transport, events, _ = await connect()
    conn.check_timeouts(0.0, TICK)
    conn.check_timeouts(10.0, TICK)
    assert transport.closed
    assert transport.written == b""
    assert events.timeouts == ["head"]


async def test_keep_alive_idle_uses_the_idle_timeout() -> None:
    """After a request the connection may stay idle up to idle_timeout_s, past the head limit."""
    conn, transport, _, seen = await connect()
    conn.data_received(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await asyncio.sleep(0)  # the handler task runs
    await asyncio.sleep(0)
    assert len(seen) == 1
    conn.check_timeouts(0.0, TICK)
    conn.check_timeouts(74.0, TICK)
    assert not transport.closed
    conn.check_timeouts(75.0, TICK)
    assert transport.closed


@pytest.mark.parametrize(
    ("rate_bytes_s", "cut_after"),
    [(1.0, 11.0), (400.0, 51.0), (600.0, None)],
)
async def test_body_minimum_rate_follows_mod_reqtimeout(
    rate_bytes_s: float, cut_after: float | None
) -> None:
    """Cut once reading time exceeds grace + bytes/min_rate; a body above the rate is never cut."""
    conn, transport, events, _ = await connect()
    conn.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
    await asyncio.sleep(0)  # the handler starts reading: the body clock starts
    cut_at = None
    for second in range(1, 80):
        conn.data_received(b"a" * int(rate_bytes_s))
        conn.check_timeouts(float(second), TICK)
        if status(transport) is not None:
            cut_at = float(second)
            break
    assert cut_at == cut_after
    if cut_after is not None:
        assert status(transport) == 408
        assert events.timeouts == ["body"]


async def test_body_idle_gap() -> None:
    """A body silent for body_idle_timeout_s is answered 408, whatever its rate so far."""
    conn, transport, events, _ = await connect(body_min_rate_bytes_s=0.0)
    conn.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    await asyncio.sleep(0)
    conn.check_timeouts(1.0, TICK)
    conn.check_timeouts(10.0, TICK)
    assert status(transport) is None
    conn.check_timeouts(11.0, TICK)
    assert status(transport) == 408
    assert events.timeouts == ["body"]


async def test_paused_reading_stops_the_body_clock() -> None:
    """While the gateway itself stopped reading (back-pressure), the client is not timed."""
    conn, transport, events, _ = await connect()
    conn.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
    await asyncio.sleep(0)
    conn.pause_reading()
    for second in range(1, 100):
        conn.check_timeouts(float(second), TICK)
    assert status(transport) is None
    assert events.timeouts == []


async def test_listener_admits_up_to_max_connections_and_forgets_closed_ones() -> None:
    """Beyond max_connections a connection is answered 503 at once; a closed one frees its place."""

    async def handle(req: Request) -> None:
        req.conn.write(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

    listener = Listener("public", handle, ClientLimits(**LIMITS, max_connections=1))
    first, over = listener.protocol(), listener.protocol()
    first_transport, over_transport = FakeTransport(), FakeTransport()
    first.connection_made(first_transport)  # type: ignore[arg-type]
    over.connection_made(over_transport)  # type: ignore[arg-type]
    assert status(first_transport) is None
    assert status(over_transport) == 503
    assert b"retry-after: 1\r\n" in over_transport.written
    assert listener.connections == {first}
    first.connection_lost(None)
    assert listener.connections == set()
    again = listener.protocol()
    again_transport = FakeTransport()
    again.connection_made(again_transport)  # type: ignore[arg-type]
    assert status(again_transport) is None
    listener.close()
    assert again_transport.closed
