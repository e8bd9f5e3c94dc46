"""Header rewriting (RFC 9110 §7.6): hop-by-hop removal, forwarding fields, own framing."""

from __future__ import annotations

import pytest

from gateway.headers import client_response_head, connection_tokens, upstream_request_head


def parse(head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    lines = head.split(b"\r\n")
    assert lines[-2:] == [b"", b""]
    pairs = [tuple(line.split(b": ", 1)) for line in lines[1:-2]]
    return lines[0], pairs  # type: ignore[return-value]


def up(headers: list[tuple[bytes, bytes]], **kw: object) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    args: dict[str, object] = {
        "authority": b"10.0.0.9:8002",
        "client_host": "192.0.2.7",
        "request_id": b"rid-1",
        "content_length": None,
        "chunked": False,
    }
    args.update(kw)
    return parse(upstream_request_head(b"GET", b"/a?b=1", headers, **args))  # type: ignore[arg-type]


HOP = [
    (b"connection", b"keep-alive, x-private"),
    (b"keep-alive", b"timeout=5"),
    (b"proxy-connection", b"keep-alive"),
    (b"te", b"trailers"),
    (b"transfer-encoding", b"chunked"),
    (b"upgrade", b"h2c"),
    (b"proxy-authorization", b"Basic x"),
    (b"proxy-authenticate", b"Basic"),
    (b"trailer", b"x-t"),
    (b"x-private", b"secret"),
]


@pytest.mark.parametrize("name", [n for n, _ in HOP])
def test_hop_by_hop_fields_never_reach_the_upstream(name: bytes) -> None:
    """Every hop-by-hop field, and every field named by Connection, is dropped."""
    _, pairs = up([(b"host", b"gw"), *HOP, (b"accept", b"*/*")])
    names = [n for n, _ in pairs]
    assert name not in names
    assert (b"accept", b"*/*") in pairs


def test_forwarding_fields_and_host() -> None:
    """Host becomes the upstream's; X-Forwarded-For is appended to; Proto and Host are set."""
    line, pairs = up(
        [
            (b"host", b"api.example"),
            (b"x-forwarded-for", b"203.0.113.1"),
            (b"x-forwarded-for", b"198.51.100.2"),
        ]
    )
    assert line == b"GET /a?b=1 HTTP/1.1"
    assert dict(pairs)[b"host"] == b"10.0.0.9:8002"
    assert dict(pairs)[b"x-forwarded-for"] == b"203.0.113.1, 198.51.100.2, 192.0.2.7"
    assert dict(pairs)[b"x-forwarded-proto"] == b"http"
    assert dict(pairs)[b"x-forwarded-host"] == b"api.example"
    assert dict(pairs)[b"x-request-id"] == b"rid-1"
    assert dict(pairs)[b"via"] == b"1.1 cutover"
    assert [n for n, _ in pairs].count(b"host") == 1


def test_client_copies_of_owned_fields_are_replaced() -> None:
    """A client's X-Request-ID, Content-Length, Expect and override header are not passed on."""
    _, pairs = up(
        [
            (b"x-request-id", b"client"),
            (b"content-length", b"99"),
            (b"expect", b"100-continue"),
            (b"x-cutover-backend", b"candidate"),
            (b"x-cutover-override-token", b"t"),
        ],
        strip=frozenset({b"x-cutover-override-token"}),
        content_length=5,
    )
    d = dict(pairs)
    assert d[b"x-request-id"] == b"rid-1"
    assert d[b"content-length"] == b"5"
    assert b"expect" not in d
    assert b"x-cutover-backend" not in d
    assert b"x-cutover-override-token" not in d


@pytest.mark.parametrize(
    ("kw", "field", "value"),
    [
        ({"chunked": True}, b"transfer-encoding", b"chunked"),
        ({"content_length": 12}, b"content-length", b"12"),
        ({"upgrade": b"websocket"}, b"upgrade", b"websocket"),
    ],
)
def test_request_framing_is_the_gateways(kw: dict[str, object], field: bytes, value: bytes) -> None:
    """The upstream request carries exactly the framing the gateway sends."""
    _, pairs = up([(b"host", b"x")], **kw)
    assert dict(pairs)[field] == value
    if "upgrade" in kw:
        assert dict(pairs)[b"connection"] == b"upgrade"


def test_response_head() -> None:
    """Upstream fields pass except hop-by-hop; backend, request id and framing are ours."""
    head = client_response_head(
        201,
        b"Created",
        [
            (b"content-type", b"application/json"),
            (b"connection", b"close, x-up"),
            (b"x-up", b"1"),
            (b"transfer-encoding", b"chunked"),
            (b"x-request-id", b"upstream"),
            (b"set-cookie", b"a=1"),
            (b"set-cookie", b"b=2"),
        ],
        backend=b"candidate",
        request_id=b"rid-9",
        content_length=None,
        chunked=True,
        keep_alive=True,
    )
    line, pairs = parse(head)
    assert line == b"HTTP/1.1 201 Created"
    names = [n for n, _ in pairs]
    assert b"x-up" not in names
    assert b"connection" not in names
    assert [v for n, v in pairs if n == b"set-cookie"] == [b"a=1", b"b=2"]
    assert dict(pairs)[b"x-cutover-backend"] == b"candidate"
    assert dict(pairs)[b"x-request-id"] == b"rid-9"
    assert names.count(b"transfer-encoding") == 1


def test_response_head_close_and_length() -> None:
    """A response on a closing connection says so; a known length is forwarded."""
    _, pairs = parse(
        client_response_head(
            200,
            b"OK",
            [],
            backend=b"baseline",
            request_id=b"r",
            content_length=3,
            chunked=False,
            keep_alive=False,
        )
    )
    assert dict(pairs)[b"content-length"] == b"3"
    assert dict(pairs)[b"connection"] == b"close"


def test_connection_tokens() -> None:
    """Tokens of all Connection fields, lower-cased and trimmed."""
    assert connection_tokens([(b"connection", b"Keep-Alive, X-A"), (b"connection", b"x-b")]) == {
        b"keep-alive",
        b"x-a",
        b"x-b",
    }


def test_fields_named_by_connection_are_dropped_wherever_they_appear() -> None:
    """A field listed in Connection is hop-by-hop whether it comes before or after Connection."""
    headers = [(b"x-early", b"1"), (b"connection", b"X-Early, x-late"), (b"x-late", b"2")]
    headers.append((b"x-kept", b"3"))
    _, sent = up(headers)
    names = [name for name, _ in sent]
    assert not {b"x-early", b"x-late", b"connection"} & set(names)
    assert (b"x-kept", b"3") in sent
    _, returned = parse(
        client_response_head(
            200,
            b"OK",
            headers,
            backend=b"baseline",
            request_id=b"r",
            content_length=0,
            chunked=False,
            keep_alive=True,
        )
    )
    names = [name for name, _ in returned]
    assert not {b"x-early", b"x-late"} & set(names)
    assert (b"x-kept", b"3") in returned


def test_memoised_heads_carry_each_requests_id_and_stay_bounded() -> None:
    """A head built from the cache differs only by request id; the cache never outgrows its cap."""
    from gateway import headers as module

    first = upstream_request_head(
        b"GET",
        b"/m",
        [(b"accept", b"*/*")],
        authority=b"u:1",
        client_host="192.0.2.1",
        request_id=b"rid-a",
        content_length=None,
        chunked=False,
    )
    again = upstream_request_head(
        b"GET",
        b"/m",
        [(b"accept", b"*/*")],
        authority=b"u:1",
        client_host="192.0.2.1",
        request_id=b"rid-b",
        content_length=None,
        chunked=False,
    )
    assert first.replace(b"rid-a", b"rid-b") == again
    assert b"x-request-id: rid-b\r\n" in again
    for i in range(module.HEAD_CACHE_SIZE + 5):
        client_response_head(
            200,
            b"OK",
            [(b"etag", b"%d" % i)],
            backend=b"candidate",
            request_id=b"r",
            content_length=i,
            chunked=False,
            keep_alive=True,
        )
    assert len(module._RESPONSE_HEADS) <= module.HEAD_CACHE_SIZE
