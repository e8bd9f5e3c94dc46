"""WebSocket relay: route the handshake like any request, then pipe raw bytes both ways.

After the upstream answers ``101 Switching Protocols`` the gateway stops speaking HTTP on both
connections and copies bytes: frames, pings and close frames (with their codes) pass untouched,
which is the most faithful relay possible and costs no frame parsing. The connection is pinned to
the backend chosen for the handshake for its whole life (design page, "WebSocket connections are
pinned"). Back-pressure works in both directions: a side whose write buffer is full stops the other
side's socket from being read. When either side closes, the other is closed too.
"""

from __future__ import annotations

import asyncio
from time import perf_counter

from gateway.exchange import Context
from gateway.forward import Forwarder
from gateway.headers import client_response_head, header_value

__all__ = ["relay"]


async def relay(forwarder: Forwarder, x: Context, backend: str) -> None:
    """Forward the upgrade request to ``backend``; on 101 relay the byte streams until one closes.

    Anything but a 101 (a refusal, a failed attempt, an injected abort) is answered as on the
    task path, by the same :meth:`Forwarder.attempt`, with the same books and local replies.
    """
    books = forwarder.books
    client = x.req.conn
    client.close_after = True
    loop = asyncio.get_running_loop()
    t0 = perf_counter()
    conn = await forwarder.attempt(x, backend, t0, False)  # pinned: no fallback
    if conn is None:
        return None
    if conn.status != 101:
        return await forwarder.respond(x, backend, conn, t0)
    books.answered(x, backend, 101, t0)
    head = client_response_head(
        101,
        conn.reason,
        conn.headers,
        backend=backend.encode(),
        request_id=x.request_id,
        content_length=None,
        chunked=False,
        keep_alive=True,
        upgrade=header_value(conn.headers, b"upgrade") or b"websocket",
    )
    closed: asyncio.Future[None] = loop.create_future()

    def upstream_closed() -> None:
        if not closed.done():
            closed.set_result(None)

    def write_flow(paused: bool) -> None:
        if paused:
            client.pause_reading()
        else:
            client.resume_reading()

    client.writelines([head, conn.upgrade_tail])
    conn.tunnel = client.write
    conn.on_close = upstream_closed
    conn.write_flow = write_flow
    client.relay_from = conn.transport
    if x.req.upgrade_tail:
        conn.write(x.req.upgrade_tail)
    for data in client.take_pending():
        conn.write(data)
    client.tunnel = conn.write
    gauge = books.metrics.websockets.labels(x.route, backend)
    gauge.inc()
    try:
        if not conn.closed:
            await closed
    finally:
        gauge.dec()
        client.relay_from = None
        conn.close()
    return None
