"""The callback fast path serves tapped requests too, with the exchange the task path builds."""

from __future__ import annotations

from tests.gateway.conftest import GatewayFactory, client
from tests.gateway.test_fallback import Tap


async def test_tapped_requests_on_pooled_connections_take_the_fast_path(
    make_gateway: GatewayFactory,
) -> None:
    """Repeated tapped GETs on a pooled connection: the tap gets every exchange with its body."""
    tap = Tap()
    gateway = await make_gateway(taps=(tap,))
    async with client(gateway) as c:
        answers = [await c.get(f"/json?n={i}") for i in range(4)]
        chunked = await c.get("/chunked")
    # Which path served each is pinned in process (tests/gateway/test_testing.py); over real
    # sockets the tap must still get every exchange with its body.
    assert [x.target for x in tap.exchanges] == [*(f"/json?n={i}" for i in range(4)), "/chunked"]
    assert [x.response_body for x in tap.exchanges[:4]] == [a.content for a in answers]
    assert tap.exchanges[4].response_body == chunked.content
    assert all(x.status == 200 and x.request_body == b"" for x in tap.exchanges)


async def test_fast_path_body_over_the_tap_limit_reaches_the_tap_without_body(
    make_gateway: GatewayFactory,
) -> None:
    """A response larger than ``tap_body_limit_bytes`` is relayed whole; the tap gets no body."""
    tap = Tap()
    gateway = await make_gateway(taps=(tap,), limits={"tap_body_limit_bytes": 1000})
    async with client(gateway) as c:
        await c.get("/json")  # warms the pool: the next requests take the fast path
        big = await c.get("/big/5000")
        chunked = await c.get("/chunked")
    assert len(big.content) == 5000
    assert tap.exchanges[1].response_body is None
    assert tap.exchanges[2].response_body == chunked.content
