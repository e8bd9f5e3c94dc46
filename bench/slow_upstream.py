"""A tiny upstream with a latency of its own: asyncio + httptools on uvloop, a fixed JSON answer.

``python -m bench.slow_upstream PORT [MEDIAN_MS]`` serves ``{"id": "bench", ...}`` on
127.0.0.1:PORT with keep-alive. With a median of 0 it answers at once (the throughput runs, where
the gateway must be the bottleneck); otherwise each answer waits a lognormal time of that median
and shape, drawn from a seeded generator, so the gateway sees a baseline p95 of some milliseconds
that a fault delay of the same size doubles. A fixed sleep would give a p95 equal to its median,
and an analysis compares distributions, not constants: a spread is what a real backend has.

The wait is a timer (``call_later``), not a sleep in a thread: one process serves hundreds of
waiting requests without a worker per request. Clients send one request at a time per connection
(the gateway's pool does), so answers cannot overtake each other on a connection.
"""

from __future__ import annotations

import asyncio
import math
import random
import sys
from typing import cast

BODY = b'{"id":"bench","status":"ok","items":[1,2,3]}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(BODY)
    + BODY
)


def serve(port: int, median_ms: float = 0.0, sigma: float = 0.3, seed: int = 7) -> None:
    """Serve until killed; ``median_ms`` 0 answers at once."""
    import httptools
    import uvloop

    rng = random.Random(seed)
    mu = math.log(median_ms / 1000) if median_ms > 0 else 0.0

    class Upstream(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
            self.parser = httptools.HttpRequestParser(self)
            self.loop = asyncio.get_running_loop()

        def data_received(self, data: bytes) -> None:
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserError:
                self.transport.close()

        def on_message_complete(self) -> None:
            if median_ms <= 0:
                self.transport.write(RESPONSE)
            else:
                self.loop.call_later(rng.lognormvariate(mu, sigma), self._answer)

        def _answer(self) -> None:
            if not self.transport.is_closing():
                self.transport.write(RESPONSE)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Upstream, "127.0.0.1", port, backlog=1024)
        await server.serve_forever()

    uvloop.run(main())


if __name__ == "__main__":
    args = sys.argv[1:]
    serve(int(args[0]), float(args[1]) if len(args) > 1 else 0.0)
