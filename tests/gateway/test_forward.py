"""``Forwarder.attempt``: the one shape of an upstream attempt on the task path (no sockets).

A PUT with a small body takes the task path with a replayable body, and the routes here let it fall
back (``fallback_methods: [PUT]``); a POST may not. Each row names what the candidate does, the
route's ``fallback``, and who answers.
"""

from __future__ import annotations

import pytest

from gateway.testing import (
    Client,
    MockUpstream,
    Response,
    UpstreamRequest,
    build_proxy,
    listener_for,
)
from tests.gateway.conftest import config_for

ROUTE = {"name": "default", "paths": ["/*"], "weight_bps": 10_000, "fallback_methods": ["PUT"]}


def upstream(name: str, status: int = 200) -> MockUpstream:
    """An upstream answering every request with ``status`` and its own name."""

    def handler(request: UpstreamRequest) -> Response:
        return Response(status, (), name.encode())

    return MockUpstream(handler)


@pytest.mark.parametrize(
    ("method", "candidate", "fallback", "status", "backend", "body"),
    [
        ("PUT", 503, "both", 200, "baseline", b"baseline"),
        ("PUT", 503, "off", 503, "candidate", b"candidate"),
        ("POST", 503, "both", 503, "candidate", b"candidate"),
        ("PUT", "refused", "both", 200, "baseline", b"baseline"),
        ("PUT", "refused", "off", 502, "candidate", None),
        ("POST", "refused", "both", 502, "candidate", None),
    ],
)
async def test_a_failed_candidate_attempt_falls_back_only_when_allowed(
    clients: list[Client],
    method: str,
    candidate: int | str,
    fallback: str,
    status: int,
    backend: str,
    body: bytes | None,
) -> None:
    """A candidate 5xx or connect failure goes to the baseline only on a route and method that
    allow it; otherwise the client gets the candidate's answer or the gateway's 502."""
    routes = [{**ROUTE, "fallback": fallback}]
    config = config_for("http://base.test:1", "http://cand.test:2", routes=routes)
    baseline = upstream("baseline")
    cand = upstream("candidate", candidate if isinstance(candidate, int) else 200)
    cand.refuse = candidate == "refused"
    client = Client(listener_for(build_proxy(config, baseline, cand)))
    clients.append(client)
    answer = await client.request(method, "/items/1", body=b'{"x":1}')
    assert answer.status == status
    assert answer.headers["x-cutover-backend"] == backend
    if body is not None:
        assert answer.body == body
    assert len(baseline.requests) == (1 if backend == "baseline" else 0)


async def test_a_fallback_that_fails_too_is_answered_by_the_gateway(clients: list[Client]) -> None:
    """Both backends unreachable: the fallback attempt's failure is the client's 502."""
    routes = [ROUTE]
    config = config_for("http://base.test:1", "http://cand.test:2", routes=routes)
    baseline, cand = upstream("baseline"), upstream("candidate")
    baseline.refuse = cand.refuse = True
    client = Client(listener_for(build_proxy(config, baseline, cand)))
    clients.append(client)
    answer = await client.request("PUT", "/items/1", body=b"{}")
    assert answer.status == 502
    assert answer.headers["x-cutover-backend"] == "baseline"
