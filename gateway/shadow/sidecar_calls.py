"""Calls to the shadow sidecar: request ids, waiting replies, timeouts.

A call is one ``CALL`` frame ``(id, name, args)``; the sidecar answers with a ``REPLY`` frame
``(id, status, body)``. Replies may come in any order, so each waiting caller holds a future keyed
by its id. A caller never waits longer than ``timeout_s``, and when the sidecar goes away every
waiting caller is failed at once (:meth:`Calls.fail_all`) rather than left to time out: the admin
API answers 503 promptly while the sidecar restarts.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from gateway.shadow.admin import AdminReply
from gateway.shadow.sidecar_process import SidecarUnavailable
from gateway.shadow.sidecar_wire import Kind, encode

__all__ = ["Calls"]


class Calls:
    """The calls in flight to one sidecar (across its restarts)."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._timeout_s = timeout_s
        self._waiting: dict[int, asyncio.Future[AdminReply]] = {}
        self._ids = itertools.count(1)

    @property
    def in_flight(self) -> int:
        """Calls sent and not yet answered, failed or timed out."""
        return len(self._waiting)

    async def call(self, send: Callable[[bytes], None], name: str, *args: Any) -> AdminReply:
        """Send the call with ``send`` and wait for its reply
        (SidecarUnavailable on timeout or loss)."""
        call_id = next(self._ids)
        future: asyncio.Future[AdminReply] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        try:
            send(encode(Kind.CALL, (call_id, name, args)))
            return await asyncio.wait_for(future, self._timeout_s)
        except TimeoutError:
            raise SidecarUnavailable(f"the shadow sidecar did not answer {name!r}") from None
        finally:
            self._waiting.pop(call_id, None)

    def reply(self, call_id: int, status: int, body: Any) -> None:
        """A ``REPLY`` frame arrived: wake its caller (a late reply to a
        timed-out call is ignored)."""
        future = self._waiting.pop(call_id, None)
        if future is not None and not future.done():
            future.set_result(AdminReply(status, body))

    def fail_all(self, reason: str) -> None:
        """The sidecar is gone: every waiting caller gets ``SidecarUnavailable(reason)``."""
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(SidecarUnavailable(reason))
        self._waiting.clear()
