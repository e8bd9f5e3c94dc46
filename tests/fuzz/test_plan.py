"""The fuzz plan itself: it authenticates with every scheme the contract declares."""

from __future__ import annotations

from contracts.export import load_openapi
from tests.fuzz.legacy import drop_framing
from tests.fuzz.plan import AUTH_SCHEMES, schema


def test_auth_covers_every_security_scheme() -> None:
    """A renamed scheme would leave requests unauthenticated, and 401s pass most checks silently."""
    assert set(AUTH_SCHEMES) == set(load_openapi()["components"]["securitySchemes"])


def test_generated_framing_headers_are_not_sent() -> None:
    """A generated Content-Length or Transfer-Encoding is dropped; the API's own headers stay."""
    case = schema["/api/v1/tasks"]["GET"].Case(
        headers={"content-length": "'T\"m(", "Transfer-Encoding": "x", "X-API-Key": "k"}
    )
    drop_framing(case)
    assert dict(case.headers or {}) == {"X-API-Key": "k"}
