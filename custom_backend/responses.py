"""Responses as ready-made ASGI messages: orjson bodies and the header sets FastAPI sends.

A response is a tiny value (status, body bytes, extra headers) that ``send_response`` turns into the
two ASGI messages. JSON is encoded with orjson; the rare value orjson refuses (an integer wider than
64 bits echoed back in a 422 ``input``) falls back to the ``json`` module with Starlette's settings,
so the client still gets the baseline's body.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from custom_backend.asgi import Send

Header = tuple[bytes, bytes]

JSON_CONTENT_TYPE: Final = (b"content-type", b"application/json")
WWW_AUTHENTICATE: Final = (b"www-authenticate", b"Bearer")


def dumps(payload: Any) -> bytes:
    """Encode ``payload`` as compact UTF-8 JSON (NaN/Infinity become null, as orjson does).

    orjson refuses integers wider than 64 bits and lone surrogates (both can come back in a 422
    ``input``); ``json`` encodes the first exactly and escapes the second, so such a body is still a
    clean 422.
    """
    try:
        return orjson.dumps(payload)
    except TypeError:
        text = json.dumps(payload, ensure_ascii=False, allow_nan=True, separators=(",", ":"))
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(payload, allow_nan=True, separators=(",", ":")).encode("ascii")


@dataclass(frozen=True, slots=True)
class Response:
    """A complete HTTP response: status, body and any headers beyond content-length."""

    status: int
    body: bytes = b""
    headers: Sequence[Header] = field(default_factory=tuple)


def json_response(status: int, payload: Any, headers: Sequence[Header] = ()) -> Response:
    """``application/json`` response, like Starlette's ``JSONResponse``."""
    return Response(status, dumps(payload), (JSON_CONTENT_TYPE, *headers))


def detail(status: int, message: Any, headers: Sequence[Header] = ()) -> Response:
    """FastAPI's ``HTTPException`` shape: ``{"detail": message}``."""
    return json_response(status, {"detail": message}, headers)


def no_content() -> Response:
    """204 with no body and no content-type (what FastAPI sends for ``status_code=204``)."""
    return Response(204)


async def send_response(send: Send, response: Response, extra: Sequence[Header] = ()) -> None:
    """Emit ``response`` (plus ``extra`` headers) as one response start and one body."""
    headers: list[Header] = [*response.headers, *extra]
    if response.status != 204:
        headers.append((b"content-length", str(len(response.body)).encode("ascii")))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
