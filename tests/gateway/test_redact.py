"""Credential query parameters masked in a request target: a pure function, tested by table."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from gateway.redact import DEFAULT_QUERY_PARAMS, MASK, redact_target
from tests.gateway.conftest import GatewayFactory, client


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/api/v1/tasks", "/api/v1/tasks"),
        ("/api/v1/tasks?limit=5", "/api/v1/tasks?limit=5"),
        ("/ws?api_key=s3cret", f"/ws?api_key={MASK}"),
        ("/x?limit=5&api_key=s3cret&q=a", f"/x?limit=5&api_key={MASK}&q=a"),
        ("/x?token=a&access_token=b", f"/x?token={MASK}&access_token={MASK}"),
        ("/x?API_KEY=s3cret", f"/x?API_KEY={MASK}"),  # names compare case-insensitively
        ("/x?api%5Fkey=s3cret", f"/x?api%5Fkey={MASK}"),  # ... and percent-decoded
        ("/x?api+key=s3cret", "/x?api+key=s3cret"),  # "api key" is another name
        ("/x?token=a=b=c", f"/x?token={MASK}"),  # everything after the first '=' is the value
        ("/x?token=", "/x?token="),  # nothing to hide
        ("/x?token", "/x?token"),
        ("/x?tokens=a&my_token=b", "/x?tokens=a&my_token=b"),  # whole names only
        ("/x?a=1&&token=t&", f"/x?a=1&&token={MASK}&"),  # empty pairs kept as they were
        ("/x?", "/x?"),
        ("/x?q=api_key%3Ds3cret", "/x?q=api_key%3Ds3cret"),  # a value mentioning a name
        ("/x?refresh_token=r&client_secret=c", f"/x?refresh_token={MASK}&client_secret={MASK}"),
    ],
)
def test_redact_target(target: str, expected: str) -> None:
    """Only the values of credential parameters change; names, order and other bytes are kept."""
    assert redact_target(target) == expected


def test_the_list_is_configurable() -> None:
    """A custom list replaces the default one; an empty list masks nothing."""
    assert redact_target("/x?sig=abc&token=t", frozenset({"sig"})) == f"/x?sig={MASK}&token=t"
    assert redact_target("/x?token=t", frozenset()) == "/x?token=t"


def test_the_default_list_covers_the_issue() -> None:
    """api_key, token and access_token (issue #12) are masked by default."""
    assert {"api_key", "token", "access_token"} <= DEFAULT_QUERY_PARAMS


def test_an_unchanged_target_is_the_same_object() -> None:
    """Nothing to mask costs no new string (the access log calls this per sampled line)."""
    target = "/api/v1/tasks?limit=5"
    assert redact_target(target) is target


@pytest.mark.integration
async def test_the_access_log_masks_credentials_in_the_query(make_gateway: GatewayFactory) -> None:
    """With access logging on, ``?api_key=…`` reaches the upstream but never the log line."""
    gateway = await make_gateway(access_log_sample_rate=1.0)
    with capture_logs() as logs:
        async with client(gateway) as c:
            r = await c.get("/json", params={"limit": "5", "api_key": "s3cret"})
    assert r.status_code == 200
    (access,) = [e for e in logs if e["event"] == "access"]
    assert access["target"] == f"/json?limit=5&api_key={MASK}"
    assert "s3cret" not in repr(logs)


@pytest.mark.integration
async def test_the_access_log_uses_the_configured_list(make_gateway: GatewayFactory) -> None:
    """``redact.query_params`` adds names to the built-in list (which it never drops)."""
    gateway = await make_gateway(access_log_sample_rate=1.0, redact={"query_params": ["Sig"]})
    with capture_logs() as logs:
        async with client(gateway) as c:
            await c.get("/json", params={"sig": "abc", "api_key": "s3cret", "q": "x"})
    (access,) = [e for e in logs if e["event"] == "access"]
    assert access["target"] == f"/json?sig={MASK}&api_key={MASK}&q=x"
