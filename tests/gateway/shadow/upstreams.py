"""Two small upstream servers on loopback that differ on purpose, run in-process by uvicorn.

``baseline`` and ``candidate`` answer ``/items`` with the same document except for deliberate
changes (a renamed field, a changed type, a reordered array) and for noise both share (a timestamp
and a random id). ``/clock`` differs only by noise; ``/slow`` answers when the test releases it;
``/secret`` sets a cookie; ``/api/v1/system/health`` is valid on the baseline and breaks the
contract on the candidate.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
import uvicorn

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class VariantApp:
    """A raw ASGI app; ``variant`` is ``baseline`` or ``candidate``."""

    def __init__(self, variant: str) -> None:
        self.variant = variant
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.client_ports: list[int] = []
        self.release = asyncio.Event()

    @property
    def shadow_requests(self) -> list[tuple[str, str, dict[str, str]]]:
        """Requests that carried ``X-Cutover-Shadow: 1``."""
        return [r for r in self.requests if r[2].get("x-cutover-shadow") == "1"]

    def _items(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "generated_at": f"{time.time():.6f}",
            "count": 3,
            "tags": ["a", "b", "c"],
            "name": "widget",
        }
        if self.variant == "candidate":
            doc["title"] = doc.pop("name")  # renamed field
            doc["count"] = "3"  # changed type
            doc["tags"] = ["c", "b", "a"]  # reordered array
        return doc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.requests.append((scope["method"], scope["path"], headers))
        self.client_ports.append(scope["client"][1])
        while (await receive()).get("more_body"):
            pass
        path = scope["path"]
        extra: list[tuple[bytes, bytes]] = []
        status = 200
        if path == "/items":
            body: Any = self._items()
        elif path == "/clock":
            body = {"now": f"{time.time():.6f}", "value": 1}
        elif path == "/slow":
            await self.release.wait()
            body = {"slow": True}
        elif path == "/secret":
            extra.append((b"set-cookie", b"session=topsecret-cookie"))
            body = {"variant": self.variant}
        elif path == "/api/v1/system/health":
            body = {"status": "ok", "version": "0.1.0"}
            if self.variant == "candidate":
                body = {"status": 1, "version": "0.1.0"}
        else:
            status, body = 404, {"detail": "Not Found"}
        payload = orjson.dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), *extra],
            }
        )
        await send({"type": "http.response.body", "body": payload})


@contextlib.asynccontextmanager
async def serve(app: VariantApp) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 for the block; yields its base URL.

    The socket is bound and listening before uvicorn starts, so the first request cannot race the
    start-up (it waits in the backlog) and no polling is needed.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit it on Linux: the head and body writes must not wait for Nagle.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ws="none",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(
        server.serve(sockets=[sock]), name=f"upstream-{app.variant}"
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.release.set()
        server.should_exit = True
        await task
        sock.close()
