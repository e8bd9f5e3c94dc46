"""Real sockets on loopback: forwarding, headers, framing, errors, limits, disconnects."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from gateway.http import Listener, Request
from gateway.server import Gateway
from tests.gateway.conftest import GatewayFactory, client, config_for
from tests.gateway.upstreams import Upstream
from tests.support.servers import free_port

pytestmark = pytest.mark.integration


async def raw(gateway: Gateway, data: bytes, *, until_close: bool = True) -> bytes:
    """Send raw bytes to the public listener; read until the gateway closes (or one read)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    writer.write(data)
    await writer.drain()
    out = await asyncio.wait_for(reader.read(-1) if until_close else reader.read(65536), 5)
    writer.close()
    return out


async def test_forwards_to_the_baseline_with_rewritten_headers(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """A request reaches the baseline with forwarding fields; the answer names the backend."""
    gateway = await make_gateway()
    async with client(gateway) as c:
        r = await c.get(
            "/echo?q=1",
            headers={
                "X-Forwarded-For": "203.0.113.5",
                "Connection": "keep-alive, X-Hop",
                "X-Hop": "1",
            },
        )
    assert r.status_code == 200
    assert r.headers["x-cutover-backend"] == "baseline"
    seen = dict(r.json()["headers"])
    assert r.json()["target"] == "/echo?q=1"
    assert seen["x-forwarded-for"] == "203.0.113.5, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == f"127.0.0.1:{gateway.public_port}"
    assert seen["host"] == f"127.0.0.1:{upstreams[0].port}"
    assert "x-hop" not in seen
    assert "connection" not in seen
    assert seen["x-request-id"] == r.headers["x-request-id"]
    assert "x-secret" not in r.headers  # named by the upstream's Connection header
    assert r.headers["x-upstream"] == "baseline"


async def test_request_id_is_passed_through(make_gateway: GatewayFactory) -> None:
    """A client's X-Request-ID goes upstream unchanged and comes back."""
    gateway = await make_gateway()
    async with client(gateway) as c:
        r = await c.get("/echo", headers={"X-Request-ID": "abc-123"})
        other = await c.get("/echo")
    assert r.headers["x-request-id"] == "abc-123"
    assert dict(r.json()["headers"])["x-request-id"] == "abc-123"
    assert other.headers["x-request-id"] not in ("", "abc-123")


async def test_weight_100_and_sticky_split(make_gateway: GatewayFactory) -> None:
    """At 100 % every request goes to the candidate; at 50 % one API key always gets one backend."""
    gateway = await make_gateway(
        routes=[{"name": "default", "paths": ["/*"], "weight_bps": 10_000}]
    )
    async with client(gateway) as c:
        assert (await c.get("/json")).headers["x-cutover-backend"] == "candidate"
        gateway.state.set_weight("default", 5000)
        for key in ("alpha", "beta", "gamma"):
            backends = {
                (await c.get("/json", headers={"X-API-Key": key})).headers["x-cutover-backend"]
                for _ in range(5)
            }
            assert len(backends) == 1


async def test_override_only_from_trusted_clients(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """The override header works with the token and is never passed upstream."""
    gateway = await make_gateway(override={"token": "ovr"})
    async with client(gateway) as c:
        ignored = await c.get("/echo", headers={"X-Cutover-Backend": "candidate"})
        forced = await c.get(
            "/echo", headers={"X-Cutover-Backend": "candidate", "X-Cutover-Override-Token": "ovr"}
        )
    assert ignored.headers["x-cutover-backend"] == "baseline"
    assert forced.headers["x-cutover-backend"] == "candidate"
    for r in (ignored, forced):
        names = {n for n, _ in r.json()["headers"]}
        assert "x-cutover-backend" not in names
        assert "x-cutover-override-token" not in names


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/chunked", b'{"parts":[1,2,3]}'),
        ("/eof", b"until-the-end"),
        ("/big/300000", b"x" * 300000),
    ],
)
async def test_response_framings(make_gateway: GatewayFactory, path: str, body: bytes) -> None:
    """Chunked, close-delimited and long responses arrive whole."""
    gateway = await make_gateway()
    async with client(gateway) as c:
        for _ in range(2):  # twice: the second goes over a pooled connection
            r = await c.get(path)
            assert r.status_code == 200
            assert r.content == body


async def test_head_keeps_the_length_without_a_body(make_gateway: GatewayFactory) -> None:
    """HEAD is answered with the upstream's Content-Length, no body, and the connection lives on."""
    gateway = await make_gateway()
    async with client(gateway) as c:
        r = await c.head("/json")
        assert r.status_code == 200
        assert r.content == b""
        assert int(r.headers["content-length"]) > 300
        assert (await c.get("/json")).status_code == 200


async def test_upload_streams_intact(make_gateway: GatewayFactory) -> None:
    """Small, large and chunked request bodies reach the upstream byte for byte."""
    gateway = await make_gateway()
    payload = bytes(range(256)) * 4096  # 1 MiB, over the replay buffer: streamed

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 100_000):
            yield payload[i : i + 100_000]

    async with client(gateway) as c:
        small = await c.post("/upload", content=b"hello")
        large = await c.post("/upload", content=payload)
        chunked = await c.post("/upload", content=chunks())
    assert small.json() == {"size": 5, "sha256": hashlib.sha256(b"hello").hexdigest()}
    expected = {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    assert large.json() == expected
    assert chunked.json() == expected


async def test_no_route_is_404_json(make_gateway: GatewayFactory) -> None:
    """Without a matching route the gateway answers 404 JSON itself."""
    registry = CollectorRegistry()
    gateway = await make_gateway(registry=registry, routes=[{"name": "api", "paths": ["/api/*"]}])
    async with client(gateway) as c:
        r = await c.get("/elsewhere")
    assert r.status_code == 404
    assert r.json()["error"] == "no_route"
    assert r.headers["x-cutover-backend"] == "gateway"
    labels = {"route": "unmatched", "backend": "gateway", "code_class": "4xx"}
    assert registry.get_sample_value("cutover_requests_total", labels) == 1


async def test_body_over_the_limit_is_413(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream]
) -> None:
    """A declared or streamed body over the limit gets 413 JSON and never completes upstream."""
    gateway = await make_gateway(
        limits={"max_request_body_bytes": 1000, "replay_buffer_bytes": 100}
    )
    async with client(gateway) as c:
        declared = await c.post("/upload", content=b"x" * 2000)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(20):
                yield b"y" * 500

        streamed = await c.post("/upload", content=chunks())
    assert declared.status_code == 413
    assert declared.json()["error"] == "request_body_too_large"
    assert streamed.status_code == 413
    assert all(int(str(req["body_size"])) <= 1000 for req in upstreams[0].seen.requests)


#: No second attempt: a baseline failure reaches the client as is
#: (``fallback: both`` would retry it).
NO_FALLBACK = [{"name": "default", "paths": ["/*"], "fallback": "off"}]


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [("/reset", 502, "upstream_reset"), ("/slow/3000", 504, "upstream_timeout")],
)
async def test_upstream_failures_become_json_errors(
    make_gateway: GatewayFactory, path: str, status: int, error: str
) -> None:
    """A reset is 502 and a read timeout 504, each with a small JSON body."""
    registry = CollectorRegistry()
    gateway = await make_gateway(registry=registry, routes=NO_FALLBACK)
    async with client(gateway) as c:
        r = await c.get(path)
    assert r.status_code == status
    body = r.json()
    assert body["error"] == error
    assert body["backend"] == "baseline"
    assert body["request_id"] == r.headers["x-request-id"]
    kind = error.removeprefix("upstream_")
    labels = {"route": "default", "backend": "baseline", "kind": kind}
    assert registry.get_sample_value("cutover_upstream_errors_total", labels) == 1


async def test_connection_refused_is_502(upstreams: tuple[Upstream, Upstream]) -> None:
    """An upstream that refuses connections gives 502 upstream_connect_error."""
    dead = f"http://127.0.0.1:{free_port()}"
    gateway = Gateway(config_for(dead, upstreams[1].url, routes=NO_FALLBACK))
    await gateway.start()
    try:
        async with client(gateway) as c:
            r = await c.get("/json")
        assert r.status_code == 502
        assert r.json()["error"] == "upstream_connect_error"
    finally:
        await gateway.stop()


@pytest.mark.parametrize("warm", [False, True], ids=["task-path", "callback-path"])
async def test_client_disconnect_cancels_the_upstream_request(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream], warm: bool
) -> None:
    """When the client goes away the gateway closes its upstream connection (both paths)."""
    gateway = await make_gateway()
    if warm:  # leaves an idle pooled connection, so the next GET takes the callback path
        async with client(gateway) as c:
            await c.get("/json")
    _reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    writer.write(b"GET /hang HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    await asyncio.wait_for(upstreams[0].hang_started.wait(), 5)
    writer.close()
    await asyncio.wait_for(upstreams[0].hang_cancelled.wait(), 5)


async def test_access_log_is_sampled(make_gateway: GatewayFactory) -> None:
    """With sample rate 1 every request is an access event carrying request id, route, backend."""
    gateway = await make_gateway(access_log_sample_rate=1.0)
    with capture_logs() as logs:
        async with client(gateway) as c:
            r = await c.get("/json", headers={"X-Request-ID": "log-me"})
            await c.get("/json")
    access = [e for e in logs if e["event"] == "access"]
    assert len(access) == 2
    assert access[0]["request_id"] == r.headers["x-request-id"] == "log-me"
    assert (access[0]["route"], access[0]["backend"], access[0]["status"]) == (
        "default",
        "baseline",
        200,
    )


async def test_access_log_off_by_default(make_gateway: GatewayFactory) -> None:
    """The default sample rate writes no access events."""
    gateway = await make_gateway()
    with capture_logs() as logs:
        async with client(gateway) as c:
            await c.get("/json")
    assert not [e for e in logs if e["event"] == "access"]


@pytest.mark.parametrize(
    "data",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    ],
)
async def test_malformed_requests_get_400(make_gateway: GatewayFactory, data: bytes) -> None:
    """A malformed request line or header is a 400 JSON and a closed connection."""
    gateway = await make_gateway()
    out = await raw(gateway, data)
    assert out.startswith(b"HTTP/1.1 400 ")
    assert json.loads(out.split(b"\r\n\r\n", 1)[1])["error"] == "bad_request"


async def test_huge_head_gets_431(make_gateway: GatewayFactory) -> None:
    """A request head over 64 KiB is refused with 431."""
    gateway = await make_gateway()
    out = await raw(gateway, b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 431 ")


async def test_pipelined_requests_are_answered_in_order(make_gateway: GatewayFactory) -> None:
    """Two pipelined requests get two responses, in order."""
    gateway = await make_gateway()
    out = await raw(
        gateway,
        b"GET /slow/50 HTTP/1.1\r\nHost: x\r\nX-Request-ID: first\r\n\r\n"
        b"GET /json HTTP/1.1\r\nHost: x\r\nX-Request-ID: second\r\nConnection: close\r\n\r\n",
    )
    assert out.count(b"HTTP/1.1 200") == 2
    assert out.index(b"x-request-id: first") < out.index(b"x-request-id: second")


async def test_expect_continue(make_gateway: GatewayFactory) -> None:
    """``Expect: 100-continue`` is answered by the gateway before it reads the body."""
    gateway = await make_gateway()
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    writer.write(
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
    )
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"data")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_http10_client_gets_a_closed_connection(make_gateway: GatewayFactory) -> None:
    """An HTTP/1.0 client without keep-alive is answered and the connection closed."""
    gateway = await make_gateway()
    out = await raw(gateway, b"GET /chunked HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200")
    assert out.endswith(b'{"parts":[1,2,3]}')
    json.loads(out.split(b"\r\n\r\n", 1)[1])


@pytest.mark.parametrize(
    ("head", "http11", "keep_alive"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True, True),
        (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", True, False),
        (b"GET / HTTP/1.0\r\n\r\n", False, False),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", False, True),
    ],
)
async def test_request_version_with_and_without_a_connection_header(
    head: bytes, http11: bool, keep_alive: bool
) -> None:
    """``http11`` (chunked answers allowed) and ``keep_alive`` are right for 1.0 and 1.1 clients."""
    seen: list[tuple[bool, bool]] = []

    def dispatch(req: Request) -> None:
        seen.append((req.http11, req.keep_alive))
        req.conn.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
        req.conn.close()

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Listener("test", dispatch).protocol, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(head)
        await asyncio.wait_for(reader.read(-1), 5)
        writer.close()
    finally:
        server.close()
    assert seen == [(http11, keep_alive)]


@pytest.mark.parametrize("path", ["/json", "/upload"])
async def test_stale_pooled_connection_is_replaced(
    make_gateway: GatewayFactory, upstreams: tuple[Upstream, Upstream], path: str
) -> None:
    """A pooled connection the upstream drops as the request arrives is retried on a fresh one."""
    gateway = await make_gateway()
    async with client(gateway) as c:
        assert (await c.get("/json?close-next")).status_code == 200
        if path == "/json":
            r = await c.get(path)
        else:
            r = await c.post(path, content=b"replayable")
    assert r.status_code == 200
    assert upstreams[0].connections == 2


async def test_repeated_heads_follow_weights_and_get_fresh_ids(
    make_gateway: GatewayFactory,
) -> None:
    """A keep-alive client repeating one head still sees weight changes and a new request id."""
    gateway = await make_gateway(routes=[{"name": "default", "paths": ["/*"], "weight_bps": 0}])
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.public_port)
    head = b"GET /json HTTP/1.1\r\nHost: x\r\nX-API-Key: k\r\n\r\n"
    answers = []
    for weight in (0, 0, 10_000, 10_000, 0):
        gateway.state.set_weight("default", weight)
        writer.write(head)
        answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        length = int(answer.split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        answers.append(answer)
    writer.close()
    backends = [a.split(b"x-cutover-backend: ")[1].split(b"\r\n")[0] for a in answers]
    assert backends == [b"baseline", b"baseline", b"candidate", b"candidate", b"baseline"]
    ids = {a.split(b"x-request-id: ")[1].split(b"\r\n")[0] for a in answers}
    assert len(ids) == 5
