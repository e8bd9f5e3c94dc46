"""Header rewriting for a forwarding intermediary, as pure functions over ``(name, value)`` bytes.

RFC 9110 §7.6.1: a proxy removes the hop-by-hop fields (``Connection`` and every field it names,
``Keep-Alive``, ``Proxy-Connection``, ``TE``, ``Transfer-Encoding``, ``Upgrade``, ``Trailer``,
``Proxy-Authenticate``, ``Proxy-Authorization``) and frames each hop's message itself. §7.6.3: it
adds ``Via``. The de-facto ``X-Forwarded-For/Proto/Host`` fields tell the upstream who the client was
(``X-Forwarded-For`` is appended to, not replaced). The WebSocket handshake (RFC 6455 §4.1) is the
one place ``Connection: Upgrade``/``Upgrade`` are forwarded, because the upgrade is end-to-end here:
the gateway relays the upgraded byte stream untouched.

Header names arrive lower-cased from the server layer; values are passed through byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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


def connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Lower-case field names listed in every ``Connection`` header (RFC 9110 §7.6.1)."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(tokens)


def _dropped(headers: HeaderList, drop: frozenset[bytes]) -> frozenset[bytes]:
    for name, _ in headers:
        if name == b"connection":
            return drop | connection_tokens(headers)
    return drop


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
    base = _DROP_CACHE.get(strip)
    if base is None:
        base = _DROP_CACHE[strip] = _REQUEST_DROP | strip
    drop = _dropped(headers, base)
    lines = [method, b" ", target, b" HTTP/1.1\r\nhost: ", authority, b"\r\n"]
    forwarded_for: bytes | None = None
    original_host = b""
    for name, value in headers:
        if name in drop:
            if name == b"x-forwarded-for":
                forwarded_for = value if forwarded_for is None else forwarded_for + b", " + value
            elif name == b"host":
                original_host = value
            continue
        lines += (name, b": ", value, b"\r\n")
    client = client_host.encode("latin-1")
    lines += (
        b"x-forwarded-for: ",
        client if forwarded_for is None else forwarded_for + b", " + client,
        b"\r\nx-forwarded-proto: http\r\n",
    )
    if original_host:
        lines += (b"x-forwarded-host: ", original_host, b"\r\n")
    lines += (b"x-request-id: ", request_id, b"\r\nvia: ", VIA, b"\r\n")
    if upgrade is not None:
        lines += (b"connection: upgrade\r\nupgrade: ", upgrade, b"\r\n")
    if chunked:
        lines.append(b"transfer-encoding: chunked\r\n")
    elif content_length is not None:
        lines += (b"content-length: ", str(content_length).encode(), b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


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
    drop = _dropped(headers, _RESPONSE_DROP)
    lines = [b"HTTP/1.1 ", str(status).encode(), b" ", reason or b"-", b"\r\n"]
    for name, value in headers:
        if name not in drop:
            lines += (name, b": ", value, b"\r\n")
    lines += (b"via: ", VIA, b"\r\nx-cutover-backend: ", backend)
    lines += (b"\r\nx-request-id: ", request_id, b"\r\n")
    if upgrade is not None:
        lines += (b"connection: upgrade\r\nupgrade: ", upgrade, b"\r\n")
    else:
        if chunked:
            lines.append(b"transfer-encoding: chunked\r\n")
        elif content_length is not None:
            lines += (b"content-length: ", str(content_length).encode(), b"\r\n")
        if not keep_alive:
            lines.append(b"connection: close\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def header_value(headers: HeaderList, name: bytes) -> bytes | None:
    """The first value of ``name`` (lower-case) or None."""
    for key, value in headers:
        if key == name:
            return value
    return None
