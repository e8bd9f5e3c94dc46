"""The fuzz plan itself: it authenticates with every scheme the contract declares."""

from __future__ import annotations

from contracts.export import load_openapi
from tests.fuzz.plan import AUTH_SCHEMES


def test_auth_covers_every_security_scheme() -> None:
    """A renamed scheme would leave requests unauthenticated, and 401s pass most checks silently."""
    assert set(AUTH_SCHEMES) == set(load_openapi()["components"]["securitySchemes"])
