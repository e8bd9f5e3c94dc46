"""``WS /api/v1/ws`` spoken directly in the ASGI WebSocket protocol (no Starlette ``WebSocket``).

The messages are the baseline's (``fastapi_backend/routes/websocket.py``, API.md "WS"): the
client is accepted first and a bad key closes with 1008 and the 401 detail as reason (closing
before the handshake would be an HTTP 403 and the client would never see the code); ``ping`` →
``pong``; ``scan`` streams the engine's ``scan_started``/``scan_progress`` events as they
happen, then ``scan_completed``; anything else gets an ``error`` message and the connection
stays open. Progress crosses from the scanning thread to the loop with ``call_soon_threadsafe``,
which keeps the events in order.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any, Final

import orjson

from custom_backend import schemas
from custom_backend.asgi import Receive, Scope, Send
from custom_backend.auth import KeyChecker, presented_key
from custom_backend.validation import Issue, RequestInvalid

if TYPE_CHECKING:
    from custom_backend.logs import Logger
    from engine import Engine

POLICY_VIOLATION: Final = 1008


class WebSocketGone(Exception):
    """The client disconnected."""


def error_message(detail: str) -> dict[str, Any]:
    """The protocol's ``error`` message."""
    return {"type": "error", "data": {"detail": detail}}


def describe_issues(issues: list[Issue]) -> str:
    """``Invalid scan request: paths: Input should be a valid list`` (the baseline's)."""
    parts = []
    for issue in issues:
        location = ".".join(str(part) for part in issue["loc"]) or "data"
        parts.append(f"{location}: {issue['msg']}")
    return "Invalid scan request: " + "; ".join(parts)


def parse_message(text: str) -> tuple[str, Any] | str:
    """``(type, data)`` of a client message, or the error detail if not a typed JSON object."""
    try:
        message = json.loads(text)
    except ValueError:
        return "Invalid message: not JSON"
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "Invalid message: expected a JSON object with a string 'type'"
    return message["type"], message.get("data")


def _query_api_key(scope: Scope) -> str | None:
    from urllib.parse import parse_qsl

    raw = scope.get("query_string", b"")
    if not raw:
        return None
    found = None
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key == "api_key":
            found = value
    return found


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class WebSocketSession:
    """One accepted connection, from handshake to disconnect."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        engine: Engine,
        keys: KeyChecker,
        logger: Logger,
    ) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.engine = engine
        self.keys = keys
        self.logger = logger

    async def run(self) -> None:
        """Handshake, auth, then one message at a time until the client leaves."""
        connect = await self._receive()
        if connect["type"] != "websocket.connect":
            return
        presented = (
            presented_key(_header(self.scope, b"x-api-key"), _header(self.scope, b"authorization"))
            or _query_api_key(self.scope)
            or None
        )
        await self._send({"type": "websocket.accept"})
        failure = self.keys.failure_for(presented)
        if failure is not None:
            await self._send(
                {"type": "websocket.close", "code": POLICY_VIOLATION, "reason": failure}
            )
            return
        try:
            while True:
                text = await self._receive_text()
                await self.handle(text)
        except (WebSocketGone, OSError):
            return

    async def _receive_text(self) -> str:
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketGone
        text = message.get("text")
        if text is None:
            # A binary frame: read it as UTF-8 text (the baseline's
            # ``receive_text`` would fail on it).
            text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
        return str(text)

    async def send_json(self, payload: Any) -> None:
        """One text frame of compact JSON."""
        await self._send({"type": "websocket.send", "text": orjson.dumps(payload).decode("utf-8")})

    async def handle(self, text: str) -> None:
        """Answer one client message."""
        parsed = parse_message(text)
        if isinstance(parsed, str):
            await self.send_json(error_message(parsed))
            return
        kind, data = parsed
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "scan":
            await self.stream_scan({} if data is None else data)
        else:
            await self.send_json(error_message(f"Unknown message type: {kind}"))

    async def stream_scan(self, data: Any) -> None:
        """Run the scan in a thread, relay its events, then ``scan_completed`` (or ``error``)."""
        from engine import EngineError, NotFound

        try:
            request = schemas.SCAN_REQUEST.validate(data, (), from_attributes=False)
        except RequestInvalid as exc:
            await self.send_json(error_message(describe_issues(exc.issues)))
            return
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

        def on_progress(event: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        engine = self.engine
        scan = asyncio.create_task(
            asyncio.to_thread(
                lambda: engine.scan(
                    paths=request["paths"],
                    include_patterns=request["include_patterns"],
                    exclude_patterns=request["exclude_patterns"],
                    on_progress=on_progress,
                )
            ),
            name="custom-backend-ws-scan",
        )
        # Queued after the last progress event (same loop, FIFO), so None always arrives last.
        scan.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                await self.send_json(event)
            try:
                result = await scan
            except NotFound:
                await self.send_json(error_message("Task not found"))
            except EngineError as exc:
                await self.send_json(error_message(exc.message))
            else:
                await self.send_json({"type": "scan_completed", "data": result})
        finally:
            if not scan.done():
                scan.add_done_callback(_discard_outcome)


def _discard_outcome(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
