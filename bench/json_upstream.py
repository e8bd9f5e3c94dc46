"""The benchmarks' tiny upstream: one fixed JSON body, keep-alive, asyncio + httptools on uvloop.

As close to free as an HTTP server in Python gets, so a benchmark measures the gateway in front of
it. ``bench.gateway`` and ``bench.shadow_servers`` run it in a child process each;
``bench.slow_upstream`` gives it a latency of its own through ``delay``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast


def serve_json(port: int, body: bytes, delay: Callable[[], float] | None = None) -> None:
    """Answer every request on 127.0.0.1:``port`` with 200 and ``body`` as JSON, until killed.

    With ``delay``, each answer waits the seconds it returns on a timer (``call_later``), not in a
    thread: one process holds hundreds of waiting requests. Clients send one request at a time per
    connection (the gateway's pool does), so answers cannot overtake each other on a connection.
    """
    import httptools
    import uvloop

    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
    response = head % len(body) + body

    class Upstream(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            # uvloop's TCPTransport is not a subclass of asyncio.Transport
            self.transport = cast(asyncio.Transport, transport)
            self.parser = httptools.HttpRequestParser(self)
            self.loop = asyncio.get_running_loop()

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_message_complete(self) -> None:
            if delay is None:
                self.transport.write(response)
            else:
                self.loop.call_later(delay(), self._answer)

        def _answer(self) -> None:
            if not self.transport.is_closing():
                self.transport.write(response)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Upstream, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    uvloop.run(main())
