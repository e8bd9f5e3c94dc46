"""The hand-off of exchanges to the shadow sidecar: the only shadow code on the gateway's hot path.

A sampled exchange costs one list append; the first append of a loop pass schedules one flush
(``call_soon``), which pickles the whole batch into one ``EXCHANGES`` frame and writes it. Batching
per loop pass rather than per exchange keeps the per-request cost at a tuple and an append (the
pickle and the ``write`` system call are shared by every exchange of that pass).

The hand-off never waits and never buffers without bound: while no sidecar is attached, or its
socket holds more than ``limit_bytes`` unsent, exchanges are dropped and counted in
``cutover_shadow_handoff_dropped_total{route}`` — a slow or dead sidecar sheds shadows, it does not
slow clients or grow the gateway's memory.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter

from gateway.observer import Exchange
from gateway.shadow.sidecar_wire import ExchangeTuple, Kind, encode

__all__ = ["Handoff", "Link"]


class Link(Protocol):
    """The write side of the connection to the sidecar (an ``asyncio.Transport`` is one)."""

    def write(self, data: bytes) -> None: ...

    def is_closing(self) -> bool: ...

    def get_write_buffer_size(self) -> int: ...


class Handoff:
    """Batches exchanges into one frame per loop pass to the attached
    sidecar; drops when it cannot."""

    def __init__(self, registry: CollectorRegistry, limit_bytes: int = 16 << 20) -> None:
        self._limit = limit_bytes
        self._link: Link | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[ExchangeTuple] = []
        self._flush_handle: asyncio.Handle | None = None
        self._dropped = Counter(
            "cutover_shadow_handoff_dropped_total",
            "Exchanges the gateway could not hand to the shadow sidecar (down or its buffer full).",
            ("route",),
            registry=registry,
        )

    @property
    def buffered_bytes(self) -> int:
        """Bytes written to the sidecar's socket and not yet sent (0 while none is attached)."""
        return self._link.get_write_buffer_size() if self._link is not None else 0

    def attach(self, link: Link) -> None:
        """Hand over to ``link`` from now on (called on the loop, when a sidecar is ready)."""
        self._loop = asyncio.get_running_loop()
        self._link = link

    def detach(self) -> None:
        """The sidecar is gone: what is queued and whatever follows is dropped and counted."""
        self._link = None

    def on_response(self, exchange: Exchange) -> None:
        """Queue the exchange for the next batch to the sidecar (one append; never awaits)."""
        if self._link is None or self._loop is None:  # not open, restarting or closed
            self._dropped.labels(exchange.route).inc()
            return
        self._pending.append(exchange.as_tuple())
        if self._flush_handle is None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def flush(self) -> None:
        """Write what is queued now instead of at the end of this loop pass.

        A call to the sidecar flushes first, so exchanges handed over before it are processed
        before it is answered (``drain`` relies on that).
        """
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()

    def _flush(self) -> None:
        self._flush_handle = None
        batch, self._pending = self._pending, []
        link = self._link
        if link is None or link.is_closing() or link.get_write_buffer_size() > self._limit:
            for item in batch:
                self._dropped.labels(item[0]).inc()
            return
        link.write(encode(Kind.EXCHANGES, batch))
