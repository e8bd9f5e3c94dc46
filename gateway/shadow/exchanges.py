"""Reading a completed gateway exchange for shadowing: header forms, replay rules, error labels.

The gateway hands the tap raw ``(bytes, bytes)`` header pairs as they came off the wire; the
shadow side wants text pairs to compare and replay. What is not replayed follows RFC 9110 §7.6.1
(hop-by-hop fields) plus the framing fields the sender sets itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.shadow.samples import HeaderPairs

SHADOW_HEADER = "x-cutover-shadow"
#: Request fields not replayed: hop-by-hop (RFC 9110 §7.6.1) and framing the sender sets itself.
NOT_REPLAYED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
        "trailer",
        "host",
        "content-length",
        "expect",
        SHADOW_HEADER,
    }
)


def text_pairs(headers: Sequence[tuple[bytes, bytes]]) -> HeaderPairs:
    """``(bytes, bytes)`` wire pairs as lower-case text pairs (latin-1, byte for byte)."""
    return tuple((n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in headers)


def has_body(headers: Sequence[tuple[bytes, bytes]]) -> bool:
    """Whether the request announced a body (a non-zero length or a transfer coding)."""
    for name, value in headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def content_type(headers: HeaderPairs) -> str | None:
    """The ``content-type`` value, or None."""
    for name, value in headers:
        if name == "content-type":
            return value
    return None


def failure_reason(exc: BaseException) -> str:
    """A short, bounded error label for the evidence (``timeout``, ``connect``, ``reset``, …)."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    kind = getattr(exc, "kind", None)  # gateway.upstream errors carry their own label
    if isinstance(kind, str):
        return kind
    if isinstance(exc, ConnectionRefusedError):
        return "connect"
    if isinstance(exc, ConnectionError | asyncio.IncompleteReadError):
        return "reset"
    return type(exc).__name__
