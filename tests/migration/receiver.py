"""A webhook receiver on 127.0.0.1 for the notification and hook tests (asyncio streams, no
framework).

It keeps every JSON body it is sent and answers with the next status of ``statuses`` (the
last one repeats), or never answers while ``hang`` is set. Tests await
:meth:`Receiver.next_body` instead of polling. :meth:`Receiver.stop` closes the socket, so a
receiver that was stopped is one that is down.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class Receiver:
    """An HTTP/1.1 server answering POSTs with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None, *, hang: bool = False) -> None:
        self.statuses = list(statuses or [200])
        self.hang = hang
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self._arrived: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = asyncio.Event()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._closing.set()  # hung handlers give up
            for writer in list(self._writers):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def next_body(self, timeout_s: float = 5.0) -> dict[str, Any]:
        """The next body received (waits for it)."""
        async with asyncio.timeout(timeout_s):
            return await self._arrived.get()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = json.loads(await reader.readexactly(length)) if length else {}
                self.paths.append(lines[0].split(" ")[1])
                self.bodies.append(body)
                self._arrived.put_nowait(body)
                if self.hang:
                    await self._closing.wait()  # never answers; released when the receiver stops
                    return
                status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n\r\nok".encode())
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
