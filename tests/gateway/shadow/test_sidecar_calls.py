"""Sidecar calls with no sidecar: replies matched by id, timeout and loss as SidecarUnavailable."""

from __future__ import annotations

import asyncio

import pytest

from gateway.shadow.admin import AdminReply
from gateway.shadow.sidecar_calls import Calls
from gateway.shadow.sidecar_process import SidecarUnavailable
from gateway.shadow.sidecar_wire import FrameReader, Kind


class Wire:
    """Collects the CALL frames a ``Calls`` sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, tuple[object, ...]]] = []
        self._reader = FrameReader()

    def send(self, data: bytes) -> None:
        for kind, payload in self._reader.feed(data):
            assert kind is Kind.CALL
            self.sent.append(payload)


async def test_replies_reach_their_callers_in_any_order() -> None:
    """Two calls in flight; the later one answered first still gets its own reply."""
    calls, wire = Calls(), Wire()
    first = asyncio.ensure_future(calls.call(wire.send, "summary"))
    second = asyncio.ensure_future(calls.call(wire.send, "detail", "items"))
    await asyncio.sleep(0)
    (id1, name1, args1), (id2, name2, args2) = wire.sent
    assert (name1, args1, name2, args2) == ("summary", (), "detail", ("items",))
    calls.reply(id2, 404, {"error": "unknown_route"})
    calls.reply(id1, 200, {"routes": []})
    assert await first == AdminReply(200, {"routes": []})
    assert await second == AdminReply(404, {"error": "unknown_route"})
    assert calls.in_flight == 0


async def test_an_unanswered_call_times_out_as_unavailable() -> None:
    """No reply within the timeout: SidecarUnavailable naming the call; a late reply is ignored."""
    calls, wire = Calls(timeout_s=0.01), Wire()
    with pytest.raises(SidecarUnavailable, match="'drain'"):
        await calls.call(wire.send, "drain")
    assert calls.in_flight == 0
    calls.reply(wire.sent[0][0], 200, {})  # too late: nobody waits, nothing breaks


async def test_fail_all_wakes_every_waiting_caller() -> None:
    """The sidecar gone: each caller in flight gets SidecarUnavailable with the reason at once."""
    calls, wire = Calls(), Wire()
    pending = [asyncio.ensure_future(calls.call(wire.send, "summary")) for _ in range(2)]
    await asyncio.sleep(0)
    calls.fail_all("the shadow sidecar exited")
    for future in pending:
        with pytest.raises(SidecarUnavailable, match="exited"):
            await future
    assert calls.in_flight == 0
