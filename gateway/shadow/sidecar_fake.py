"""A fake shadow sidecar for tests: a ``launch`` function whose sidecars run on the caller's loop.

``ShadowSidecar(spec, registry, launch=FakeSidecars())`` (or a bare ``SidecarProcess``) then runs
its real supervision, hand-off and call code over a real socketpair, without a child process: the
fake end reads the same frames, records what it receives and answers ``READY`` and every ``CALL``.
A test "crashes" a sidecar with :meth:`FakeChild.kill` and publishes with :meth:`FakeChild.publish`.
It ships in the package (as ``migration/testing.py`` does) so tests of anything built on the
sidecar client can use it.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

from gateway.shadow.sidecar_wire import ExchangeTuple, FrameReader, Kind, Publication, encode

__all__ = ["FakeChild", "FakeSidecars"]


class FakeChild(asyncio.Protocol):
    """One fake sidecar: the child handle supervision holds and the socket end it talks to."""

    def __init__(self, pid: int, priority: str, owner: FakeSidecars) -> None:
        self.pid = pid
        self.priority = priority
        self.returncode: int | None = None
        self.spec: Any = None
        self.exchanges: list[ExchangeTuple] = []
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._owner = owner
        self._reader = FrameReader()
        self._transport: asyncio.Transport | None = None
        self._exited = asyncio.Event()

    # -- the Child protocol ---------------------------------------------------------------------

    def kill(self) -> None:
        """Die at once (as SIGKILL): the gateway sees its connection lost."""
        self._exit(-9)

    async def wait(self) -> int:
        """Wait until this sidecar has exited; its return code."""
        await self._exited.wait()
        assert self.returncode is not None
        return self.returncode

    # -- the sidecar's end of the socket --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        for kind, payload in self._reader.feed(data):
            if kind is Kind.SPEC:
                self.spec = payload
                self._owner.spec_arrived.set()
                if not self._owner.silent:
                    self._send(Kind.READY, self._owner.error)
            elif kind is Kind.EXCHANGES:
                self.exchanges.extend(payload)
            elif kind is Kind.CALL:
                call_id, name, args = payload
                self.calls.append((name, args))
                status, body = self._owner.answer(name, args)
                self._send(Kind.REPLY, (call_id, status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self._exit(0)  # as the real sidecar: it exits when the gateway closes its socket

    def publish(self, publication: Publication) -> None:
        """Send a publication to the gateway."""
        self._send(Kind.PUBLISH, publication)

    def _send(self, kind: Kind, payload: object) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(encode(kind, payload))

    def _exit(self, code: int) -> None:
        if self.returncode is None:
            self.returncode = code
            if self._transport is not None:
                self._transport.close()
            self._exited.set()


class FakeSidecars:
    """The ``launch`` function: each call starts a :class:`FakeChild`, kept in ``children``.

    ``error`` is what each sidecar reports in ``READY`` (a start-up failure); ``silent`` sidecars
    never report ready (a start-up that times out). Calls are answered ``200 {"call": name}``
    unless ``replies`` maps the name to a ``(status, body)``.
    """

    def __init__(self, error: str | None = None, *, silent: bool = False) -> None:
        self.error = error
        self.silent = silent
        self.replies: dict[str, tuple[int, dict[str, Any]]] = {}
        self.children: list[FakeChild] = []
        self.spec_arrived = asyncio.Event()

    async def spec_of(self, index: int) -> Any:
        """The spec the ``index``-th sidecar (from 0) received, once it has received it."""
        while len(self.children) <= index or self.children[index].spec is None:
            self.spec_arrived.clear()
            await self.spec_arrived.wait()
        return self.children[index].spec

    def answer(self, name: str, args: tuple[Any, ...]) -> tuple[int, dict[str, Any]]:
        """The reply to a call."""
        return self.replies.get(name, (200, {"call": name}))

    async def __call__(self, theirs: socket.socket, priority: str) -> FakeChild:
        """Start a fake sidecar on a copy of ``theirs`` (the caller closes the original)."""
        child = FakeChild(10_000 + len(self.children), priority, self)
        loop = asyncio.get_running_loop()
        await loop.create_unix_connection(lambda: child, sock=theirs.dup())
        self.children.append(child)
        return child
