"""A tiny in-process WebSocket client for any ASGI app: the protocol messages, nothing more.

httpx's ASGI transport has no WebSocket support; driving the ``websocket`` scope by hand lets one
test speak to the FastAPI app and the custom app identically, without sockets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from custom_backend.asgi import ASGIApp, Message

TIMEOUT = 20.0


class AsgiWebSocket:
    """One connection to ``app``; every wait is bounded by ``TIMEOUT``."""

    def __init__(
        self,
        app: ASGIApp,
        path: str,
        headers: Sequence[tuple[bytes, bytes]] = (),
        query: bytes = b"",
    ) -> None:
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0"},
            "scheme": "ws",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query,
            "headers": [(b"host", b"testserver"), *headers],
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
            "subprotocols": [],
        }
        self._task: asyncio.Future[None] = asyncio.ensure_future(
            app(scope, self._to_app.get, self._from_app.put)
        )

    async def connect(self) -> Message:
        """Send the handshake; returns the app's answer
        (``websocket.accept`` or ``websocket.close``)."""
        await self._to_app.put({"type": "websocket.connect"})
        return await self.message()

    async def message(self) -> Message:
        """The next message the app sent."""
        return await asyncio.wait_for(self._from_app.get(), TIMEOUT)

    async def send_text(self, text: str) -> None:
        """A text frame from the client."""
        await self._to_app.put({"type": "websocket.receive", "text": text})

    async def send_json(self, payload: Any) -> None:
        """A JSON text frame from the client."""
        await self.send_text(json.dumps(payload))

    async def receive_json(self) -> Any:
        """The next frame the app sent, decoded (fails on anything but a text frame)."""
        message = await self.message()
        assert message["type"] == "websocket.send", message
        return json.loads(message["text"])

    async def close(self) -> None:
        """The client leaves; waits for the app to finish."""
        await self._to_app.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self._task, TIMEOUT)

    async def finished(self) -> None:
        """Wait for the app to end on its own (after it closed the connection)."""
        await asyncio.wait_for(self._task, TIMEOUT)
