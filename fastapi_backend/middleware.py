"""Plain ASGI middleware of the legacy stack: the request-body limit and the access log.

``BodyLimitMiddleware`` answers ``413 {"detail": "Request body too large"}`` (API.md, "Errors") from
the ``Content-Length`` header when it is present and too large, and otherwise by counting the bytes
actually received (chunked uploads carry no length). It buffers the body (at most the limit) and
replays it to the app, so the 413 can still be sent before the app has started its response.

``AccessLogMiddleware`` writes one structlog line per request (method, path, status, duration) and
counts it in ``HttpMetrics``; uvicorn's own access log is off (``fastapi_backend.server``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_backend.metrics import HttpMetrics

TOO_LARGE = "Request body too large"


class BodyTooLarge(Exception):
    """The body grew past the limit while it was being received."""


def declared_length(headers: Headers) -> int | None:
    """The ``Content-Length`` as an int, or ``None`` when absent or not a number."""
    value = headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


class BodyLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413 before the app sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = declared_length(Headers(scope=scope))
        if length is not None and length > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        try:
            body = await self._read_body(receive)
        except BodyTooLarge:
            await self._refuse(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # disconnected: let the app see an empty body
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"detail": TOO_LARGE}, status_code=413, headers={"connection": "close"}
        )
        await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that first returns the buffered body, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class AccessLogMiddleware:
    """One log line and one counter increment per HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        logger: Any,
        metrics: HttpMetrics,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.app = app
        self.logger = logger
        self.metrics = metrics
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = self.clock()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            duration_ms = (self.clock() - started) * 1000
            method = scope["method"]
            self.metrics.observe(method, status)
            self.logger.info(
                "request",
                method=method,
                path=scope["path"],
                status=status,
                duration_ms=round(duration_ms, 3),
            )
