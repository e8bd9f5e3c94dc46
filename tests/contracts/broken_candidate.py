"""A deliberately broken candidate: a proxy before the real custom backend, breaking four things.

``python -m tests.contracts.broken_candidate --upstream URL --port N`` serves it with uvicorn on
127.0.0.1. The breakage (``break_response``, pure) is what ``contracts check`` must catch:

- wrong type: ``GET /api/v1/system/status`` returns ``task_counts.open`` as a string;
- missing field: ``GET /api/v1/project/info`` drops ``languages``;
- undocumented status: ``DELETE /api/v1/tasks/{id}`` of an unknown id answers 418 instead of 404;
- 500 on an edge case: ``GET /api/v1/tasks/{id}`` of an unknown id crashes instead of 404.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def break_response(method: str, path: str, status: int, body: bytes) -> tuple[int, bytes]:
    """Apply the four faults to an upstream response."""
    if method == "GET" and path == "/api/v1/system/status" and status == 200:
        doc = json.loads(body)
        doc["task_counts"]["open"] = str(doc["task_counts"]["open"])
        return status, json.dumps(doc).encode()
    if method == "GET" and path == "/api/v1/project/info" and status == 200:
        doc = json.loads(body)
        doc.pop("languages", None)
        return status, json.dumps(doc).encode()
    if path.startswith("/api/v1/tasks/") and status == 404:
        if method == "DELETE":
            return 418, body
        if method == "GET":
            return 500, b'{"detail": "Internal Server Error"}'
    return status, body


class BrokenCandidate:
    """ASGI app: forward to ``upstream``, then break the answer."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in _HOP
        ]
        query = scope.get("query_string", b"").decode("latin-1")
        url = scope["path"] + (f"?{query}" if query else "")
        assert self.client is not None
        upstream = await self.client.request(scope["method"], url, headers=headers, content=body)
        status, content = break_response(
            scope["method"], scope["path"], upstream.status_code, upstream.content
        )
        out_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in upstream.headers.multi_items()
            if k.lower() not in _HOP
        ]
        if content:
            out_headers.append((b"content-length", str(len(content)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": content if status != 204 else b""})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = httpx.AsyncClient(base_url=self.upstream, timeout=30.0)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main() -> None:
    """Serve the broken candidate on 127.0.0.1."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        BrokenCandidate(args.upstream), host="127.0.0.1", port=args.port, log_level="warning"
    )


if __name__ == "__main__":
    main()
