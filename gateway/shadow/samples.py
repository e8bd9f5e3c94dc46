"""Evidence samples: a request and both responses, made safe and small enough to keep.

A sample is what an operator opens to see *why* a field differs, so it carries the request line,
headers and body and the two responses. Before it is kept, secrets are redacted (``Authorization``,
``X-API-Key``, ``Cookie`` … — whatever ``ShadowSettings.redact_headers`` lists) and bodies are cut
to ``sample_body_bytes``, so the memory held per sample has a fixed ceiling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

REDACTED = "[redacted]"
HeaderPairs = tuple[tuple[str, str], ...]


def header_pairs(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> HeaderPairs:
    """Headers as a tuple of ``(lower-case name, value)`` pairs, whatever shape they came in."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return tuple((name.lower(), value) for name, value in pairs)


def redact(headers: HeaderPairs, secret_names: frozenset[str], max_value: int = 256) -> HeaderPairs:
    """Replace secret header values with ``[redacted]`` and cut very long values."""
    out = []
    for name, value in headers:
        if name in secret_names:
            value = REDACTED
        elif len(value) > max_value:
            value = value[: max_value - 1] + "…"
        out.append((name, value))
    return tuple(out)


def redact_query(path: str, secret_params: frozenset[str]) -> str:
    """``path?query`` with the values of the ``secret_params`` query parameters redacted."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    parts = []
    for item in query.split("&"):
        name, eq, _value = item.partition("=")
        if eq and unquote_plus(name).lower() in secret_params:
            item = f"{name}={REDACTED}"
        parts.append(item)
    return f"{base}?{'&'.join(parts)}"


def truncate(body: bytes | None, cap: int) -> str | None:
    """Body as text (UTF-8, replacement on errors) cut to ``cap`` bytes with a size note."""
    if body is None:
        return None
    if len(body) <= cap:
        return body.decode("utf-8", errors="replace")
    head = body[:cap].decode("utf-8", errors="ignore")
    return f"{head}… [{len(body) - cap} more bytes]"


@dataclass(frozen=True, slots=True)
class ResponseView:
    """One response as kept in a sample."""

    backend: str
    status: int | None
    headers: HeaderPairs
    body: str | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the admin API."""
        return {
            "backend": self.backend,
            "status": self.status,
            "headers": dict(self.headers),
            "body": self.body,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Sample:
    """A request with the primary response and the other one (a
    shadow, or nothing for contracts)."""

    at: float
    method: str
    path: str
    request_headers: HeaderPairs
    request_body: str | None
    primary: ResponseView
    shadow: ResponseView | None
    details: tuple[str, ...]
    same_backend: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the admin API."""
        return {
            "at": self.at,
            "same_backend": self.same_backend,
            "request": {
                "method": self.method,
                "path": self.path,
                "headers": dict(self.request_headers),
                "body": self.request_body,
            },
            "primary": self.primary.to_dict(),
            "shadow": None if self.shadow is None else self.shadow.to_dict(),
            "details": list(self.details),
        }


@dataclass(frozen=True, slots=True)
class SampleBuilder:
    """Turns raw exchange parts into a redacted, truncated :class:`Sample`."""

    secret_names: frozenset[str]
    body_cap: int
    secret_params: frozenset[str] = frozenset()

    def response(
        self,
        backend: str,
        status: int | None,
        headers: HeaderPairs,
        body: bytes | None,
        error: str | None = None,
    ) -> ResponseView:
        """A response view with secrets (``Set-Cookie``) redacted and the body cut."""
        return ResponseView(
            backend,
            status,
            redact(headers, self.secret_names),
            truncate(body, self.body_cap),
            error,
        )

    def sample(
        self,
        at: float,
        method: str,
        path: str,
        request_headers: HeaderPairs,
        request_body: bytes | None,
        primary: ResponseView,
        shadow: ResponseView | None,
        details: Iterable[str],
        same_backend: bool = False,
    ) -> Sample:
        """A whole sample, request side redacted and truncated here."""
        return Sample(
            at=at,
            method=method,
            path=redact_query(path, self.secret_params),
            request_headers=redact(request_headers, self.secret_names),
            request_body=truncate(request_body, self.body_cap),
            primary=primary,
            shadow=shadow,
            details=tuple(details),
            same_backend=same_backend,
        )
