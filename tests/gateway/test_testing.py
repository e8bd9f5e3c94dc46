"""The in-process fakes of ``gateway.testing``, and the proxy driven through them (no socket)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from gateway import testing
from gateway.http import Listener, Request
from gateway.proxy import Proxy
from gateway.testing import Client, MockUpstream, Response, UpstreamRequest, build_proxy
from tests.gateway.conftest import config_for
from tests.gateway.test_fallback import ALL_CANDIDATE, Recorder, Tap

HUNG = [{**ALL_CANDIDATE[0], "fallback_after_s": 0.3}]


def named(backend: str) -> MockUpstream:
    """An upstream answering every request with a small JSON naming itself and the target."""

    def handler(request: UpstreamRequest) -> Response:
        body = b'{"backend":"%s","target":"%s"}' % (backend.encode(), request.target.encode())
        return Response(200, (("content-type", "application/json"),), body)

    return MockUpstream(handler)


class Paths:
    """A dispatch wrapper recording which path served each request (its public return value)."""

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.taken: list[str] = []

    def __call__(self, req: Request) -> Coroutine[Any, Any, None] | None:
        result = self.proxy.dispatch(req)
        self.taken.append("task" if result is not None else "callbacks")
        return result


@pytest.fixture
def upstreams() -> tuple[MockUpstream, MockUpstream]:
    """A baseline and a candidate, in process."""
    return named("baseline"), named("candidate")


def connect(made: list[Client], proxy: Proxy) -> tuple[Client, Paths]:
    """A client of ``proxy``'s public listener, and the record of the paths it took."""
    paths = Paths(proxy)
    client = Client(Listener("public", paths))
    made.append(client)
    return client, paths


async def test_the_mock_upstream_sees_the_forwarded_request(
    upstreams: tuple[MockUpstream, MockUpstream], clients: list[Client]
) -> None:
    """A GET reaches the chosen upstream with its target, a request id and the upstream's Host."""
    config = config_for("http://base.test:1", "http://cand.test:2", routes=ALL_CANDIDATE)
    proxy = build_proxy(config, *upstreams)
    client, _ = connect(clients, proxy)
    answer = await client.request("GET", "/items?x=1", [("x-request-id", "rid-1")])
    assert answer.status == 200
    assert answer.headers["x-cutover-backend"] == "candidate"
    assert answer.body == b'{"backend":"candidate","target":"/items?x=1"}'
    [seen] = upstreams[1].requests
    assert (seen.method, seen.target, seen.header("x-request-id")) == ("GET", "/items?x=1", "rid-1")
    assert seen.header("host") == "cand.test:2"
    assert upstreams[0].requests == []


async def test_a_pooled_get_is_served_from_callbacks(
    upstreams: tuple[MockUpstream, MockUpstream], clients: list[Client]
) -> None:
    """The first GET opens a connection on the task path; the next ones reuse it from callbacks."""
    config = config_for("http://b.test:1", "http://c.test:2", routes=ALL_CANDIDATE)
    proxy = build_proxy(config, *upstreams)
    client, paths = connect(clients, proxy)
    answers = [await client.request("GET", f"/n/{i}") for i in range(3)]
    assert [a.status for a in answers] == [200, 200, 200]
    assert paths.taken == ["task", "callbacks", "callbacks"]
    assert upstreams[1].connections == 1


async def test_the_fast_path_hands_the_tap_the_body(
    upstreams: tuple[MockUpstream, MockUpstream], clients: list[Client]
) -> None:
    """Tapped GETs on a pooled connection run on callbacks and the tap gets each exchange."""
    tap = Tap()
    config = config_for("http://b.test:1", "http://c.test:2", routes=ALL_CANDIDATE)
    proxy = build_proxy(config, *upstreams, taps=(tap,))
    client, paths = connect(clients, proxy)
    answers = [await client.request("GET", f"/json?n={i}") for i in range(3)]
    assert paths.taken[1:] == ["callbacks", "callbacks"]
    assert [x.response_body for x in tap.exchanges] == [a.body for a in answers]


async def test_a_response_of_unknown_length_is_chunked_on_the_fast_path(
    clients: list[Client],
) -> None:
    """A chunked upstream answer is relayed chunked to an HTTP/1.1 client from callbacks."""
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    baseline = MockUpstream(lambda request: chunked)
    config = config_for("http://b.test:1", "http://c.test:2")
    proxy = build_proxy(config, baseline, baseline)
    client, paths = connect(clients, proxy)
    first, second = await client.request(), await client.request()
    assert paths.taken == ["task", "callbacks"]
    for answer in (first, second):
        assert answer.body == b"hello"
    assert second.headers.get("transfer-encoding") == "chunked"


async def test_hung_candidate_on_the_fast_path_falls_back_at_the_deadline(
    upstreams: tuple[MockUpstream, MockUpstream], clients: list[Client]
) -> None:
    """A pooled candidate that stops answering costs fallback_after_s; then the baseline answers."""
    registry, recorder = CollectorRegistry(), Recorder()
    config = config_for("http://b.test:1", "http://c.test:2", routes=HUNG)
    proxy = build_proxy(config, *upstreams, registry=registry, observers=(recorder,))
    client, paths = connect(clients, proxy)
    assert (await client.request()).headers["x-cutover-backend"] == "candidate"
    upstreams[1].handler = lambda request: None  # hangs from now on
    answer = await client.request()
    assert paths.taken == ["task", "callbacks"]
    assert answer.headers["x-cutover-backend"] == "baseline"
    assert recorder.calls[1:] == [
        ("default", "candidate", 504, "fallback_deadline"), ("default", "baseline", 200, None),
    ]  # fmt: skip
    labels = {"route": "default", "backend": "candidate", "kind": "fallback_deadline"}
    assert registry.get_sample_value("cutover_upstream_errors_total", labels) == 1


async def test_a_refused_connect_is_a_502_from_the_gateway(clients: list[Client]) -> None:
    """An upstream that refuses connections is answered with a JSON 502 naming the backend."""
    down = named("baseline")
    down.refuse = True
    config = config_for(
        "http://b.test:1", "http://c.test:2", routes=[{**ALL_CANDIDATE[0], "fallback": "off"}]
    )
    proxy = build_proxy(config, named("baseline"), down)
    client, _ = connect(clients, proxy)
    answer = await client.request()
    assert answer.status == 502
    assert answer.headers["content-type"] == "application/json"
    assert b'"backend":"candidate"' in answer.body


async def test_a_post_body_reaches_the_upstream(
    upstreams: tuple[MockUpstream, MockUpstream], clients: list[Client]
) -> None:
    """A request body is forwarded with its length (task path)."""
    config = config_for("http://b.test:1", "http://c.test:2")
    proxy = build_proxy(config, *upstreams)
    client, paths = connect(clients, proxy)
    answer = await client.request("POST", "/tasks", body=b'{"a":1}')
    assert answer.status == 200
    assert paths.taken == ["task"]
    [seen] = upstreams[0].requests
    assert (seen.body, seen.header("content-length")) == (b'{"a":1}', "7")


def test_response_raw_frames_with_a_length() -> None:
    """A mock Response is written as an HTTP/1.1 message with a Content-Length."""
    raw = Response(201, (("x-a", "1"),), b"abc", "Created").raw()
    assert raw == b"HTTP/1.1 201 Created\r\nx-a: 1\r\ncontent-length: 3\r\n\r\nabc"


def test_all_is_pinned() -> None:
    """The module's public names are deliberate."""
    assert sorted(testing.__all__) == [
        "Answer", "Client", "Handler", "MockUpstream", "Response", "UpstreamRequest",
        "build_proxy", "listener_for",
    ]  # fmt: skip
