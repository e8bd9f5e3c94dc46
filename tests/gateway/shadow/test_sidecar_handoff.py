"""The sidecar hand-off over a fake link: one frame per loop pass, drops counted, never waits."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry

from gateway.observer import Exchange
from gateway.shadow.sidecar_handoff import Handoff
from gateway.shadow.sidecar_wire import FrameReader, Kind


class FakeLink:
    """Records frames; its unsent buffer size and closing state are set by the test."""

    def __init__(self) -> None:
        self.frames: list[tuple[Kind, object]] = []
        self.buffered = 0
        self.closing = False
        self._reader = FrameReader()

    def write(self, data: bytes) -> None:
        self.frames.extend(self._reader.feed(data))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered


def exchange(route: str = "items") -> Exchange:
    return Exchange(route, "baseline", "GET", "/items", (), None, 200, (), b"{}")


def dropped(registry: CollectorRegistry, route: str = "items") -> float:
    value = registry.get_sample_value("cutover_shadow_handoff_dropped_total", {"route": route})
    return value or 0.0


async def test_exchanges_of_one_loop_pass_go_in_one_frame() -> None:
    """Three exchanges handed over in one pass reach the link as one EXCHANGES frame of three."""
    registry, link = CollectorRegistry(), FakeLink()
    handoff = Handoff(registry)
    handoff.attach(link)
    for _ in range(3):
        handoff.on_response(exchange())
    assert link.frames == []  # nothing written before the loop pass ends
    await asyncio.sleep(0)
    assert len(link.frames) == 1
    kind, batch = link.frames[0]
    assert kind is Kind.EXCHANGES
    assert batch == [exchange().as_tuple()] * 3
    assert dropped(registry) == 0


async def test_without_a_link_every_exchange_is_a_counted_drop() -> None:
    """Before ``attach`` (sidecar not started) exchanges are counted per route, not queued."""
    registry = CollectorRegistry()
    handoff = Handoff(registry)
    handoff.on_response(exchange("items"))
    handoff.on_response(exchange("other"))
    assert dropped(registry, "items") == 1
    assert dropped(registry, "other") == 1
    assert handoff.buffered_bytes == 0


async def test_a_full_buffer_drops_the_batch() -> None:
    """More unsent bytes than the limit: the batch is dropped and counted, nothing is written."""
    registry, link = CollectorRegistry(), FakeLink()
    handoff = Handoff(registry, limit_bytes=100)
    handoff.attach(link)
    link.buffered = 101
    handoff.on_response(exchange())
    handoff.on_response(exchange())
    await asyncio.sleep(0)
    assert link.frames == []
    assert dropped(registry) == 2
    assert handoff.buffered_bytes == 101


async def test_a_closing_link_drops_the_batch() -> None:
    """A link that is closing takes nothing: the batch is counted as dropped."""
    registry, link = CollectorRegistry(), FakeLink()
    handoff = Handoff(registry)
    handoff.attach(link)
    link.closing = True
    handoff.on_response(exchange())
    await asyncio.sleep(0)
    assert link.frames == []
    assert dropped(registry) == 1


async def test_detach_drops_what_is_queued() -> None:
    """Exchanges queued when the sidecar goes away are dropped at the flush, not kept for later."""
    registry, link = CollectorRegistry(), FakeLink()
    handoff = Handoff(registry)
    handoff.attach(link)
    handoff.on_response(exchange())
    handoff.detach()
    await asyncio.sleep(0)
    assert link.frames == []
    assert dropped(registry) == 1


async def test_flush_writes_now_and_cancels_the_scheduled_flush() -> None:
    """``flush()`` writes the queued batch at once; the end of the pass writes no second frame."""
    link = FakeLink()
    handoff = Handoff(CollectorRegistry())
    handoff.attach(link)
    handoff.on_response(exchange())
    handoff.flush()
    assert len(link.frames) == 1
    await asyncio.sleep(0)
    assert len(link.frames) == 1
    handoff.flush()  # nothing queued: no empty frame
    assert len(link.frames) == 1
