"""CORS as the baseline configures Starlette's ``CORSMiddleware``: the origins of
``LLMSTRUCT_CORS_ORIGINS``, every method, every header, no credentials.

Precomputed at start-up into two decisions: the preflight answer (``OPTIONS`` with ``Origin`` and
``Access-Control-Request-Method``), and the headers added to every other response. Starlette adds
``Vary: Origin`` to every response, with or without an ``Origin``, so this does too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from custom_backend.responses import Header, Response

ALL_METHODS: Final = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
_PLAIN: Final = (b"content-type", b"text/plain; charset=utf-8")
_VARY_ORIGIN: Final = (b"vary", b"Origin")
_PREFLIGHT_VARY: Final = (
    b"vary",
    b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
    b"Access-Control-Request-Private-Network",
)


class CorsPolicy:
    """The allowed origins (``*`` = any) and the answers that follow from them."""

    def __init__(self, origins: Sequence[str], max_age: int = 600) -> None:
        self.allow_all = "*" in origins
        self.origins = frozenset(origins)
        self._max_age = str(max_age).encode("ascii")
        self._any_origin: tuple[Header, ...] = (
            ((b"access-control-allow-origin", b"*"), _VARY_ORIGIN) if self.allow_all else ()
        )

    def response_headers(self, origin: str | None) -> tuple[Header, ...]:
        """Headers for a non-preflight response to a request with this ``Origin`` (or none)."""
        if origin is None:
            return (_VARY_ORIGIN,)
        if self.allow_all:
            return self._any_origin
        if origin in self.origins:
            return ((b"access-control-allow-origin", origin.encode("latin-1")), _VARY_ORIGIN)
        return (_VARY_ORIGIN,)

    def preflight(self, origin: str, method: str, requested_headers: str | None) -> Response:
        """The answer to a preflight request: 200 ``OK`` or 400 ``Disallowed CORS ...``."""
        headers: list[Header] = [_PREFLIGHT_VARY]
        failures: list[str] = []
        if self.allow_all:
            headers.append((b"access-control-allow-origin", b"*"))
        elif origin in self.origins:
            headers.append((b"access-control-allow-origin", origin.encode("latin-1")))
        else:
            failures.append("origin")
        headers.append((b"access-control-allow-methods", ", ".join(ALL_METHODS).encode("ascii")))
        headers.append((b"access-control-max-age", self._max_age))
        if method not in ALL_METHODS:
            failures.append("method")
        if requested_headers is not None:
            headers.append((b"access-control-allow-headers", requested_headers.encode("latin-1")))
        if failures:
            text = ("Disallowed CORS " + ", ".join(failures)).encode("utf-8")
            return Response(400, text, (*headers, _PLAIN))
        return Response(200, b"OK", (*headers, _PLAIN))
