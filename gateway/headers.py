"""Header rewriting for a forwarding intermediary, as pure functions over ``(name, value)`` bytes.

RFC 9110 §7.6.1: a proxy removes the hop-by-hop fields (``Connection`` and every field it names,
``Keep-Alive``, ``Proxy-Connection``, ``TE``, ``Transfer-Encoding``, ``Upgrade``, ``Trailer``,
``Proxy-Authenticate``, ``Proxy-Authorization``) and frames each hop's message itself. §7.6.3: it
adds ``Via``. The de-facto ``X-Forwarded-For/Proto/Host`` fields tell the upstream who the client
was (``X-Forwarded-For`` is appended to, not replaced). The WebSocket handshake (RFC 6455 §4.1) is
the one place ``Connection: Upgrade``/``Upgrade`` are forwarded, because the upgrade is end-to-end
here: the gateway relays the upgraded byte stream untouched.

Header names arrive lower-cased from the server layer; values are passed through byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

HeaderList = Sequence[tuple[bytes, bytes]]

HOP_BY_HOP: frozenset[bytes] = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"trailer",
    }
)
#: Request fields the gateway sets itself (or consumes), so the client's copies never pass.
_REQUEST_OWNED: frozenset[bytes] = frozenset(
    {
        b"host",
        b"content-length",
        b"expect",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-request-id",
        b"x-cutover-backend",
    }
)
_RESPONSE_OWNED: frozenset[bytes] = frozenset(
    {b"content-length", b"x-cutover-backend", b"x-request-id"}
)
VIA = b"1.1 cutover"
_REQUEST_DROP = HOP_BY_HOP | _REQUEST_OWNED
_RESPONSE_DROP = HOP_BY_HOP | _RESPONSE_OWNED
_DROP_CACHE: dict[frozenset[bytes], frozenset[bytes]] = {}
#: Heads already built, minus the request id, keyed by every input that shapes them: most traffic
#: repeats a few header sets (one client library, one upstream framework), and a hit costs ~0.6 µs
#: where building costs ~2.5 µs. Bounded: the cache starts over at this many entries.
HEAD_CACHE_SIZE = 512
_REQUEST_HEADS: dict[Any, tuple[bytes, bytes]] = {}
_RESPONSE_HEADS: dict[Any, tuple[bytes, bytes]] = {}


def connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Lower-case field names listed in every ``Connection`` header (RFC 9110 §7.6.1)."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(tokens)


def upstream_request_head(
    method: bytes,
    target: bytes,
    headers: HeaderList,
    *,
    authority: bytes,
    client_host: str,
    request_id: bytes,
    content_length: int | None,
    chunked: bool,
    upgrade: bytes | None = None,
    strip: frozenset[bytes] = frozenset(),
) -> bytes:
    """The request head sent upstream: hop-by-hop removed, forwarding fields set, own framing.

    ``strip`` names extra fields to drop (the override token header). ``upgrade`` is the client's
    ``Upgrade`` value for a WebSocket handshake, forwarded with ``Connection: upgrade``.
    """
    key = (
        method, target, tuple(headers), authority, client_host, content_length, chunked, upgrade,
        strip,
    )  # fmt: skip
    parts = _REQUEST_HEADS.get(key)
    if parts is None:
        parts = _request_head_parts(
            method, target, headers, authority, client_host, content_length, chunked, upgrade, strip
        )
        _remember(_REQUEST_HEADS, key, parts)
    return parts[0] + request_id + parts[1]


def _remember(cache: dict[Any, tuple[bytes, bytes]], key: Any, parts: tuple[bytes, bytes]) -> None:
    if len(cache) >= HEAD_CACHE_SIZE:
        cache.clear()  # bounded memory whatever the variety of heads
    cache[key] = parts


def _request_head_parts(
    method: bytes,
    target: bytes,
    headers: HeaderList,
    authority: bytes,
    client_host: str,
    content_length: int | None,
    chunked: bool,
    upgrade: bytes | None,
    strip: frozenset[bytes],
) -> tuple[bytes, bytes]:
    base = _DROP_CACHE.get(strip)
    if base is None:
        base = _DROP_CACHE[strip] = _REQUEST_DROP | strip
    lines = [method, b" ", target, b" HTTP/1.1\r\nhost: ", authority, b"\r\n"]
    forwarded_for: bytes | None = None
    original_host = b""
    listed = False  # a Connection header names more fields to drop: rare, handled below
    for name, value in headers:
        if name in base:
            if name == b"x-forwarded-for":
                forwarded_for = value if forwarded_for is None else forwarded_for + b", " + value
            elif name == b"host":
                original_host = value
            elif name == b"connection":
                listed = True
            continue
        lines += (name, b": ", value, b"\r\n")
    if listed:
        drop = base | connection_tokens(headers)
        del lines[6:]
        for name, value in headers:
            if name not in drop:
                lines += (name, b": ", value, b"\r\n")
    client = client_host.encode("latin-1")
    lines += (
        b"x-forwarded-for: ",
        client if forwarded_for is None else forwarded_for + b", " + client,
        b"\r\nx-forwarded-proto: http\r\n",
    )
    if original_host:
        lines += (b"x-forwarded-host: ", original_host, b"\r\n")
    lines.append(b"x-request-id: ")
    prefix = b"".join(lines)
    lines = [b"\r\nvia: ", VIA, b"\r\n"]
    if upgrade is not None:
        lines += (b"connection: upgrade\r\nupgrade: ", upgrade, b"\r\n")
    if chunked:
        lines.append(b"transfer-encoding: chunked\r\n")
    elif content_length is not None:
        lines += (b"content-length: %d\r\n" % content_length,)
    lines.append(b"\r\n")
    return prefix, b"".join(lines)


def _status_line(status: int, reason: bytes) -> bytes:
    key = (status, reason)
    line = _STATUS_LINES.get(key)
    if line is None:
        line = b"HTTP/1.1 %d %s\r\n" % (status, reason or b"-")
        if len(_STATUS_LINES) < 1024:  # reasons come from upstreams: keep the cache bounded
            _STATUS_LINES[key] = line
    return line


_STATUS_LINES: dict[tuple[int, bytes], bytes] = {}


def client_response_head(
    status: int,
    reason: bytes,
    headers: HeaderList,
    *,
    backend: bytes,
    request_id: bytes,
    content_length: int | None,
    chunked: bool,
    keep_alive: bool,
    upgrade: bytes | None = None,
) -> bytes:
    """The response head sent to the client: upstream fields minus hop-by-hop, plus ours."""
    key = (status, reason, tuple(headers), backend, content_length, chunked, keep_alive, upgrade)
    parts = _RESPONSE_HEADS.get(key)
    if parts is None:
        parts = _response_head_parts(
            status, reason, headers, backend, content_length, chunked, keep_alive, upgrade
        )
        _remember(_RESPONSE_HEADS, key, parts)
    return parts[0] + request_id + parts[1]


def _response_head_parts(
    status: int,
    reason: bytes,
    headers: HeaderList,
    backend: bytes,
    content_length: int | None,
    chunked: bool,
    keep_alive: bool,
    upgrade: bytes | None,
) -> tuple[bytes, bytes]:
    lines = [_status_line(status, reason)]
    listed = False
    for name, value in headers:
        if name not in _RESPONSE_DROP:
            lines += (name, b": ", value, b"\r\n")
        elif name == b"connection":
            listed = True
    if listed:  # fields named by Connection are hop-by-hop too (rare: redo the copy)
        drop = _RESPONSE_DROP | connection_tokens(headers)
        del lines[1:]
        for name, value in headers:
            if name not in drop:
                lines += (name, b": ", value, b"\r\n")
    lines += (b"via: 1.1 cutover\r\nx-cutover-backend: ", backend, b"\r\nx-request-id: ")
    prefix = b"".join(lines)
    lines = [b"\r\n"]
    if upgrade is not None:
        lines += (b"connection: upgrade\r\nupgrade: ", upgrade, b"\r\n")
    else:
        if chunked:
            lines.append(b"transfer-encoding: chunked\r\n")
        elif content_length is not None:
            lines.append(b"content-length: %d\r\n" % content_length)
        if not keep_alive:
            lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    return prefix, b"".join(lines)


def header_value(headers: HeaderList, name: bytes) -> bytes | None:
    """The first value of ``name`` (lower-case) or None."""
    for key, value in headers:
        if key == name:
            return value
    return None
