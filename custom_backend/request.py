"""The per-request view handlers get: the headers the API reads, query, path parameter, body.

Headers are scanned once (first occurrence wins, as Starlette's ``Headers.get``); the query string
is parsed lazily with ``urllib.parse.parse_qsl(keep_blank_values=True)`` on the latin-1 decoded
bytes, exactly as Starlette's ``QueryParams`` does, so odd encodings decode the same on both stacks.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from custom_backend.asgi import Receive, Scope


class BodyTooLarge(Exception):
    """The body exceeds ``max_body_bytes`` (declared or actually received)."""


class ClientDisconnected(Exception):
    """The client went away before the body was complete."""


class Request:
    """One HTTP request as the handlers see it."""

    __slots__ = (
        "_query",
        "api_key",
        "authorization",
        "body_bytes",
        "content_length",
        "content_type",
        "origin",
        "param",
        "receive",
        "scope",
    )

    def __init__(self, scope: Scope, receive: Receive, param: str | None = None) -> None:
        self.scope = scope
        self.receive = receive
        self.param = param
        self.body_bytes = b""
        self._query: dict[str, list[str]] | None = None
        api_key = authorization = content_type = content_length = origin = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                if api_key is None:
                    api_key = value.decode("latin-1")
            elif name == b"authorization":
                if authorization is None:
                    authorization = value.decode("latin-1")
            elif name == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin-1")
            elif name == b"content-length":
                if content_length is None:
                    content_length = value.decode("latin-1")
            elif name == b"origin" and origin is None:
                origin = value.decode("latin-1")
        self.api_key: str | None = api_key
        self.authorization: str | None = authorization
        self.content_type: str | None = content_type
        self.content_length: str | None = content_length
        self.origin: str | None = origin

    @property
    def query(self) -> dict[str, list[str]]:
        """Every query parameter with all its values, in order."""
        if self._query is None:
            parsed: dict[str, list[str]] = {}
            raw = self.scope.get("query_string", b"")
            if raw:
                for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
                    parsed.setdefault(key, []).append(value)
            self._query = parsed
        return self._query

    def query_value(self, name: str) -> str | None:
        """The last value of ``name`` (Starlette's ``QueryParams.get``), or None."""
        values = self.query.get(name)
        return values[-1] if values else None

    def header(self, name: bytes) -> str | None:
        """The first value of another header (a linear scan: for rare paths like preflight)."""
        for key, value in self.scope["headers"]:
            if key == name:
                return str(value.decode("latin-1"))
        return None

    def declared_length(self) -> int | None:
        """``content-length`` as an int; None if absent or not plain digits (as the baseline)."""
        value = self.content_length
        if value is None:
            return None
        value = value.strip()
        if not (value.isascii() and value.isdigit()):
            return None
        return int(value)

    async def body(self, limit: int) -> bytes:
        """Read the whole body, refusing more than ``limit`` bytes before buffering them."""
        declared = self.declared_length()
        if declared is not None and declared > limit:
            raise BodyTooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message: Any = await self.receive()
            kind = message["type"]
            if kind == "http.disconnect":
                raise ClientDisconnected
            chunk = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
