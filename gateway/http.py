"""The HTTP/1.1 server layer: an asyncio protocol per client connection, parsed by httptools.

This module is the layer's map and its public face (the names below are re-exported from the
modules that hold them, which import downwards only — pinned by ``tests/gateway/test_layering.py``):

* :mod:`gateway.listener` — :class:`Listener`: accept, admission, the per-listener sweep;
* :mod:`gateway.connection` — :class:`HttpConnection`: httptools callbacks, framing, chunk overhead;
* :mod:`gateway.request_cycle` — its base: requests answered in order, failure answers, closing,
  the timeout marks;
* :mod:`gateway.request` — :class:`Request`, :class:`BodyStream` and the connection as a handler
  sees it;
* :mod:`gateway.client_limits` — :class:`ClientLimits`, :class:`ClientEvents`, the error answers;
  :mod:`gateway.client_timeouts` — the slow-client rules, pure.

Why not uvicorn + ASGI: measured on this machine (server pinned to one core, wrk on the other, 32
connections, 316-byte JSON), a bare asyncio + httptools protocol answers ~78k req/s while uvicorn
(httptools, uvloop) running a minimal ASGI app answers ~23k — about 30 µs more per request before
any proxying, a third of the gateway's whole 80 µs budget. ASGI would also copy every body chunk
through ``receive``/``send`` message dicts. So the server owns the socket and gives the handler a
:class:`Request` with the raw head and a :class:`BodyStream`; the handler writes the response bytes
itself (the proxy forwards the upstream's bytes without re-encoding them).

Handled in this layer, so no handler can get them wrong (issue #12, RFC 9112):

* Framing is decided completely at headers-complete, before dispatch, by
  :func:`gateway.framing.decide` (llhttp refuses the grossest cases while parsing, mapped to the
  same reasons). A refused request, a malformed head (400), an oversized head (431) or a bad chunk
  is answered with a JSON body and ``Connection: close`` — in order, after the requests pipelined
  before it — and never dispatched.
* A small chunked body (up to ``ClientLimits.buffer_chunked_bytes``) is read completely before the
  request is dispatched and forwarded with a ``Content-Length``, as nginx's request buffering does:
  a bad chunk in it never reaches an upstream, and the body can be replayed for fallback. A larger
  one streams; a bad chunk further on aborts the upstream exchange (the upstream sees a chunked body
  with no last chunk, never a complete request) and is answered 400 if the response has not started.
* Chunk extensions: llhttp does not buffer them and httptools exposes no callback for them, and the
  gateway re-chunks what it forwards (extensions never pass). Their bytes are bounded all the same
  (Node.js: CVE-2024-22019): framing bytes that are not chunk data, beyond a 20-byte allowance per
  chunk, may total :data:`gateway.connection.MAX_CHUNK_OVERHEAD` per request (counted from the
  read after the head).
* Pipelining (§9.6): requests are answered in order; bytes after a request that ends the connection
  (``Connection: close``, HTTP/1.0 without keep-alive) are ignored once it is answered.
* Slow clients: one sweep per listener (:class:`Listener`, every ``tick`` ≤ 1 s) — not a timer per
  request or chunk — enforces the head timeout, the body's idle gap and minimum rate, and the
  keep-alive idle timeout; the connection keeps the marks, :mod:`gateway.client_timeouts` decides
  (the rules are listed there). A timeout is answered 408 when a request was started and no
  response byte was sent, then closed.
* ``ClientLimits.max_connections``: a connection beyond it is answered 503 with ``Retry-After`` and
  closed at once rather than left unanswered in the kernel backlog (measured in the README).
* ``Expect: 100-continue`` is answered when the handler first reads the body (by the gateway
  itself when it holds a small chunked body); the request body is buffered only up to a
  high-water mark before the socket stops being read (bounded memory); a client that
  disconnects cancels its handler task.
"""

from __future__ import annotations

from gateway.client_limits import ClientEvents as ClientEvents
from gateway.client_limits import ClientLimits as ClientLimits
from gateway.client_limits import error_response as error_response
from gateway.connection import HttpConnection as HttpConnection
from gateway.listener import Listener as Listener
from gateway.request import BodyStream as BodyStream
from gateway.request import BodyTooLarge as BodyTooLarge
from gateway.request import ClientConnection as ClientConnection
from gateway.request import ClientGone as ClientGone
from gateway.request import Dispatch as Dispatch
from gateway.request import Inflight as Inflight
from gateway.request import Request as Request

__all__ = [
    "BodyStream", "BodyTooLarge", "ClientConnection", "ClientEvents", "ClientGone", "ClientLimits",
    "Dispatch", "HttpConnection", "Inflight", "Listener", "Request", "error_response",
]  # fmt: skip
