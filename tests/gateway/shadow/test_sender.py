"""The production shadow sender (the gateway's upstream client with pools of its own)."""

from __future__ import annotations

import pytest

from gateway.shadow.sender import PoolSender, ShadowHTTPError
from tests.gateway.shadow.conftest import Upstreams, upstream_configs

pytestmark = pytest.mark.integration


async def test_keep_alive_head_and_headers(upstreams: Upstreams, sender: PoolSender) -> None:
    """Requests reuse one connection; HEAD ends at the head; headers arrive lower-case."""
    first = await sender.send("candidate", "GET", "/clock", [("x-a", "1")], None, 2.0)
    second = await sender.send("candidate", "GET", "/clock?x=1", [], None, 2.0)
    head = await sender.send("candidate", "HEAD", "/clock", [], None, 2.0)
    assert (first.status, second.status, head.status) == (200, 200, 200)
    assert b'"value":1' in first.body
    assert head.body == b""
    assert ("content-type", "application/json") in first.headers
    assert upstreams.candidate.requests[0][2]["x-a"] == "1"
    assert upstreams.candidate.requests[1][1] == "/clock"
    assert len(set(upstreams.candidate.client_ports)) == 1  # one keep-alive connection


async def test_response_larger_than_the_cap_is_refused(upstreams: Upstreams) -> None:
    """A body over ``max_response_bytes`` raises instead of being held in memory."""
    sender = PoolSender(upstream_configs(upstreams.urls), max_response_bytes=10)
    try:
        with pytest.raises(ShadowHTTPError, match="larger than 10 bytes"):
            await sender.send("candidate", "GET", "/items", [], None, 2.0)
    finally:
        await sender.close()


async def test_timeout_is_a_timeout_error(upstreams: Upstreams, sender: PoolSender) -> None:
    """A backend slower than the deadline raises TimeoutError within the deadline."""
    with pytest.raises(TimeoutError):
        await sender.send("candidate", "GET", "/slow", [], None, 0.1)


async def test_unknown_backend_is_refused(sender: PoolSender) -> None:
    """Only configured backends can be targeted."""
    with pytest.raises(ValueError, match="unknown backend"):
        await sender.send("elsewhere", "GET", "/", [], None, 1.0)
