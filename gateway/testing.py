"""In-process fakes of the gateway's two sockets, shipped with the
package (as httpx's MockTransport).

The proxy talks to the world through two asyncio protocols:
:class:`gateway.connection.HttpConnection` towards the client and
:class:`gateway.upstream.UpstreamConnection` towards each upstream. Both are fed here by fake
transports that hand bytes over through the event loop, never a socket, so a test
of the proxy's behaviour — which path served a request, what the client got, what reached the
upstream, what was booked — runs in a few milliseconds with no port, no server and no second
process. The real-server tests stay for integration (``tests/gateway/upstreams.py``).

* :class:`MockUpstream` — an upstream that is a plain function: ``handler(request)`` returns a
  :class:`Response`, raw response bytes (for framing the function cannot express), or ``None``
  for an upstream that never answers (a hung one: the pool's deadlines still apply). Pass its
  :meth:`~MockUpstream.open` as the pool's ``opener``; ``refuse`` makes connects fail.
* :class:`Client` — a client on one keep-alive connection to a :class:`~gateway.listener.Listener`
  (any ``dispatch``), reading whole responses; HEAD responses are not supported.
* :func:`build_proxy` — a :class:`~gateway.proxy.Proxy` over two mock upstreams.

Bytes written in one call arrive in one ``data_received`` on the next loop pass, as over loopback.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httptools
from prometheus_client import CollectorRegistry

from gateway.client_limits import ClientLimits
from gateway.config import BACKENDS, GatewayConfig
from gateway.connection import HttpConnection
from gateway.listener import Listener
from gateway.metrics import GatewayMetrics
from gateway.observer import RequestObserver, ResponseTap
from gateway.proxy import Proxy
from gateway.state import GatewayState
from gateway.upstream import UpstreamConnection, UpstreamPool

__all__ = [
    "Answer", "Client", "Handler", "MockUpstream", "Response", "UpstreamRequest", "build_proxy",
    "listener_for",
]  # fmt: skip


@dataclass(frozen=True)
class UpstreamRequest:
    """A request as it reached an upstream (header names lower-case)."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first value of ``name`` (any case), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)


@dataclass(frozen=True)
class Response:
    """A response; :meth:`raw` frames its body with a Content-Length (header names lower-case)."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    reason: str = "OK"

    def header(self, name: str) -> str | None:
        """The first value of ``name`` (any case), or None."""
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def raw(self) -> bytes:
        """The HTTP/1.1 bytes of this response."""
        lines = [f"HTTP/1.1 {self.status} {self.reason}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        lines.append(f"content-length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


#: An upstream as a function: a response, its raw bytes, or None (never answers).
Handler = Callable[[UpstreamRequest], "Response | bytes | None"]


class _Transport(asyncio.Transport):
    """The half of a fake connection the protocol under test writes to."""

    def __init__(self, peer: tuple[str, int]) -> None:
        super().__init__()
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.reading = True
        self._peer = peer

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._peer if name == "peername" else default

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def is_reading(self) -> bool:
        return self.reading

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(list_of_data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.close()

    def abort(self) -> None:
        self.close()

    def get_write_buffer_size(self) -> int:
        return 0


class _UpstreamSide(_Transport):
    """The upstream connection's transport: parses requests, answers with the handler."""

    def __init__(self, upstream: MockUpstream, conn: UpstreamConnection) -> None:
        super().__init__(("127.0.0.1", 0))
        self.upstream = upstream
        self.conn = conn
        self._parser = httptools.HttpRequestParser(self)
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed:
            self._parser.feed_data(bytes(data))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.loop.call_soon(self.conn.connection_lost, None)

    # httptools callbacks
    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        method = self._parser.get_method().decode("ascii")
        request = UpstreamRequest(
            method, self._url.decode("latin-1"), tuple(self._headers), b"".join(self._body)
        )
        self._url, self._headers, self._body = b"", [], []
        self.upstream.requests.append(request)
        answer = self.upstream.handler(request)
        if answer is not None:
            raw = answer.raw() if isinstance(answer, Response) else answer
            self.loop.call_soon(self._deliver, raw)

    def _deliver(self, raw: bytes) -> None:
        if not self.closed:
            self.conn.data_received(raw)


class MockUpstream:
    """An in-process upstream: ``handler`` answers each request (see the module docstring)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[UpstreamRequest] = []
        self.connections = 0
        self.refuse = False

    async def open(self, conn: UpstreamConnection) -> None:
        """The pool's ``opener``: connect ``conn`` to this upstream (``OSError`` when refusing)."""
        if self.refuse:
            raise ConnectionRefusedError(111, "Connection refused")
        self.connections += 1
        conn.connection_made(_UpstreamSide(self, conn))


@dataclass
class Answer:
    """A response as the client read it (header names lower-case)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class _ClientSide(_Transport):
    """The client connection's transport: parses what the gateway writes into answers."""

    def __init__(self, client: Client) -> None:
        super().__init__(("127.0.0.1", 50000))
        self.client = client
        self.received = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self.closed:
            self.received += data
            self.client.feed(bytes(data))

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.client.closed = True
            conn = self.client.conn
            self.loop.call_soon(conn.connection_lost, None)


class Client:
    """One keep-alive client connection to ``listener``, in process."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.conn: HttpConnection = listener.protocol()
        self.transport = _ClientSide(self)
        self.closed = False
        self._parser = httptools.HttpResponseParser(self)
        self._answers: asyncio.Queue[Answer] = asyncio.Queue()
        self._current = Answer(0)
        self.conn.connection_made(self.transport)

    async def request(
        self, method: str = "GET", target: str = "/", headers: Sequence[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> Answer:  # fmt: skip
        """Send one request (Host added, a body with its Content-Length) and read its answer.

        Waits at most 5 s for it (wrap the call in ``asyncio.timeout`` for less).
        """
        lines = [
            f"{method} {target} HTTP/1.1",
            "host: gateway.test",
            *(f"{k}: {v}" for k, v in headers),
        ]
        if body is not None:
            lines.append(f"content-length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        self.transport.loop.call_soon(self.conn.data_received, raw)
        async with asyncio.timeout(5.0):
            return await self._answers.get()

    def close(self) -> None:
        """The client goes away."""
        if not self.closed:
            self.closed = True
            self.transport.closed = True
            self.conn.connection_lost(None)

    def feed(self, data: bytes) -> None:
        """Bytes from the gateway."""
        self._parser.feed_data(data)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._current.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        self._current.status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self._current.body += body

    def on_message_complete(self) -> None:
        self._answers.put_nowait(self._current)
        self._current = Answer(0)


def build_proxy(
    config: GatewayConfig,
    baseline: MockUpstream,
    candidate: MockUpstream,
    *,
    registry: CollectorRegistry | None = None,
    observers: Sequence[RequestObserver] = (),
    taps: Sequence[ResponseTap] = (),
    rng: random.Random | None = None,
) -> Proxy:
    """A proxy whose two pools open connections to the mock upstreams (call in a running loop)."""
    loop = asyncio.get_running_loop()
    metrics = GatewayMetrics(registry if registry is not None else CollectorRegistry())
    state = GatewayState(config, metrics)
    mocks = {"baseline": baseline, "candidate": candidate}
    pools = {b: UpstreamPool(config.upstream(b), loop, mocks[b].open) for b in BACKENDS}
    return Proxy(config, state, metrics, pools, observers, taps, rng or random.Random(7))


def listener_for(proxy: Proxy, limits: ClientLimits | None = None) -> Listener:
    """The public listener of ``proxy`` (its connections come from :class:`Client`)."""
    return Listener("public", proxy.dispatch, limits)
