"""API-key auth (API.md, "Auth"), decided by a pure function over the two headers.

The rules are the baseline's (``fastapi_backend/auth.py``): a non-empty ``X-API-Key`` wins;
otherwise an ``Authorization`` header whose scheme is ``Bearer`` (any case) carries the key,
surrounding spaces ignored. The key is compared in constant time. Auth runs after routing (unknown
paths stay 404, wrong methods 405) and before any parameter or body validation.
"""

from __future__ import annotations

# ``hmac.compare_digest`` is this same constant-time comparison (``hmac`` falls back to it when
# Python is built without OpenSSL); ``hmac`` itself imports ``_hashlib``, whose OpenSSL set-up costs
# the server process ~0.55 MiB resident for a comparison (``custom_backend.lean``).
from _operator import _compare_digest as compare_digest
from typing import Final

from custom_backend.responses import WWW_AUTHENTICATE, Response, detail

MISSING_KEY: Final = "Missing API key"
INVALID_KEY: Final = "Invalid API key"


def presented_key(x_api_key: str | None, authorization: str | None) -> str | None:
    """The key a client sent, or None when it sent none."""
    if x_api_key:
        return x_api_key
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer":
            credentials = credentials.strip()
            if credentials:
                return credentials
    return None


class KeyChecker:
    """Holds the expected key (encoded once) and answers with the 401 response or None."""

    def __init__(self, expected: str) -> None:
        self._expected = expected.encode()
        self._missing = detail(401, MISSING_KEY, (WWW_AUTHENTICATE,))
        self._invalid = detail(401, INVALID_KEY, (WWW_AUTHENTICATE,))

    def failure(self, x_api_key: str | None, authorization: str | None) -> Response | None:
        """None when the request carries the key, else the prepared 401 response."""
        presented = presented_key(x_api_key, authorization)
        if presented is None:
            return self._missing
        if not compare_digest(presented.encode(), self._expected):
            return self._invalid
        return None

    def failure_for(self, presented: str | None) -> str | None:
        """The 401 detail for an already extracted key (the WebSocket close reason), or None."""
        if presented is None:
            return MISSING_KEY
        if not compare_digest(presented.encode(), self._expected):
            return INVALID_KEY
        return None
