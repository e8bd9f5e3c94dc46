"""How a shadow request reaches a backend: the :class:`ShadowSender` seam and its production sender.

The comparer only needs ``send(backend, method, target, headers, body, timeout) -> (status, headers,
body)``. :class:`PoolSender` implements it on the gateway's own upstream client
(:class:`gateway.upstream.UpstreamPool`: one asyncio protocol per connection, httptools parsing, one
watchdog timer per exchange), measured at about a third of the CPU per request of a client on
asyncio streams, and several times less than httpx or aiohttp — it matters, because shadow traffic
shares the gateway's cores with the data path. The pools are its own: a shadow never takes, holds or
poisons a connection the data path is waiting for.

The deadline is strict: ``asyncio.timeout_at`` bounds a connect, and the connection's watchdog
(one timer per exchange) bounds writing and reading; a connection that timed out is closed, never
reused. The response body is collected whole (up to ``max_response_bytes``)
because it is compared whole.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import NamedTuple, Protocol

from gateway.config import UpstreamConfig
from gateway.upstream import UpstreamConnection, UpstreamError, UpstreamPool, UpstreamTimeout

HeaderPairs = tuple[tuple[str, str], ...]


class ShadowResponse(NamedTuple):
    """A complete shadow response; header names lower-case."""

    status: int
    headers: HeaderPairs
    body: bytes


class ShadowSender(Protocol):
    """Sends one shadow request to a named backend within ``timeout`` seconds."""

    async def send(
        self,
        backend: str,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        timeout: float,  # noqa: ASYNC109 - the seam takes a per-shadow deadline; enforced inside
    ) -> ShadowResponse: ...


class ShadowHTTPError(Exception):
    """The backend's answer could not be used (too large)."""


_RETRYABLE = frozenset({"GET", "HEAD", "OPTIONS"})


class PoolSender:
    """Shadow requests over dedicated :class:`UpstreamPool` instances, one per backend."""

    def __init__(
        self, upstreams: Mapping[str, UpstreamConfig], max_response_bytes: int = 8 << 20
    ) -> None:
        self._configs = dict(upstreams)
        self._authority = {name: c.authority.encode("latin-1") for name, c in upstreams.items()}
        self._pools: dict[str, UpstreamPool] = {}
        self._limit = max_response_bytes

    def _pool(self, backend: str) -> UpstreamPool:
        pool = self._pools.get(backend)
        if pool is None:
            if backend not in self._configs:
                raise ValueError(f"unknown backend {backend!r}")
            pool = UpstreamPool(self._configs[backend], asyncio.get_running_loop())
            self._pools[backend] = pool
        return pool

    async def send(
        self,
        backend: str,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        timeout: float,  # noqa: ASYNC109 - the seam takes a per-shadow deadline; enforced inside
    ) -> ShadowResponse:
        """Send one request and read the whole response before ``timeout`` seconds."""
        pool = self._pool(backend)
        head = _head(method, target, headers, self._authority[backend], body)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                conn = _idle(pool)
                reused = conn is not None
                if conn is None:
                    async with asyncio.timeout_at(deadline):
                        conn = await pool.connect()
                try:
                    # The exchange's own watchdog enforces the deadline: no second timer.
                    return await self._exchange(conn, method, head, body, deadline)
                except UpstreamError as err:
                    stale = reused and not conn.got_bytes and err.kind == "reset"
                    if stale and method in _RETRYABLE:
                        continue  # an idle keep-alive connection the server had closed
                    raise
        except UpstreamTimeout as exc:
            raise TimeoutError(str(exc)) from None

    async def _exchange(
        self,
        conn: UpstreamConnection,
        method: str,
        head: bytes,
        body: bytes | None,
        deadline: float,
    ) -> ShadowResponse:
        conn.begin(method == "HEAD", deadline)
        try:
            conn.writelines([head, body]) if body else conn.write(head)
            conn.request_sent()
            await conn.wait_head()
            chunks: list[bytes] = []
            size = 0

            def collect(data: bytes) -> None:
                nonlocal size
                size += len(data)
                if size <= self._limit:
                    chunks.append(data)

            conn.attach_sink(collect)
            await conn.wait_done()
            if size > self._limit:
                raise ShadowHTTPError(f"response body larger than {self._limit} bytes")
            headers = tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in conn.headers)
            return ShadowResponse(conn.status, headers, b"".join(chunks))
        finally:
            conn.finish()

    async def close(self) -> None:
        """Close every idle connection of the shadow pools."""
        for pool in self._pools.values():
            pool.close()


def _idle(pool: UpstreamPool) -> UpstreamConnection | None:
    """A pooled connection that is still open, or None (the caller connects)."""
    while pool.idle:
        conn = pool.idle.pop()
        if not conn.closed:
            return conn
    return None


def _head(
    method: str,
    target: str,
    headers: Sequence[tuple[str, str]],
    authority: bytes,
    body: bytes | None,
) -> bytes:
    parts = [f"{method} {target} HTTP/1.1\r\nhost: ".encode("latin-1"), authority, b"\r\n"]
    parts.extend(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers)
    if body:
        parts.append(b"content-length: %d\r\n" % len(body))
    elif method in ("POST", "PUT", "PATCH"):
        parts.append(b"content-length: 0\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)
