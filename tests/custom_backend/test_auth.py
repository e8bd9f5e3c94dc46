"""API-key decisions: which header counts, and the exact 401s."""

from __future__ import annotations

import pytest

from custom_backend.auth import INVALID_KEY, MISSING_KEY, KeyChecker, presented_key


@pytest.mark.parametrize(
    ("x_api_key", "authorization", "expected"),
    [
        ("k", None, "k"),
        ("k", "Bearer other", "k"),
        ("", "Bearer b", "b"),
        (None, "bearer  b ", "b"),
        (None, "Basic b", None),
        (None, "Bearer ", None),
        (None, "Bearer", None),
        (None, None, None),
    ],
)
def test_presented_key(
    x_api_key: str | None, authorization: str | None, expected: str | None
) -> None:
    """X-API-Key wins if non-empty; else a Bearer credential (scheme any case, spaces ignored)."""
    assert presented_key(x_api_key, authorization) == expected


def test_failures_are_the_baseline_401s() -> None:
    """Missing and wrong keys get 401 with the detail and ``www-authenticate: Bearer``."""
    checker = KeyChecker("secret")
    assert checker.failure("secret", None) is None
    missing, invalid = checker.failure(None, None), checker.failure("nope", None)
    assert missing is not None
    assert invalid is not None
    assert (missing.status, missing.body) == (401, b'{"detail":"Missing API key"}')
    assert (invalid.status, invalid.body) == (401, b'{"detail":"Invalid API key"}')
    assert (b"www-authenticate", b"Bearer") in invalid.headers
    assert checker.failure_for(None) == MISSING_KEY
    assert checker.failure_for("x") == INVALID_KEY
    assert checker.failure_for("secret") is None
