"""API-key auth (API.md, "Auth"): ``X-API-Key: KEY`` or ``Authorization: Bearer KEY``.

API.md requires auth *before* body validation: an unauthenticated POST with a
broken body is a 401, not a
422. FastAPI parses the JSON body before it solves any dependency, so a
     dependency alone cannot promise
that. ``AuthenticatedRoute`` therefore checks the key in the route's own handler, before FastAPI's
handler touches the body; the route still matches first, so unknown paths stay 404 and wrong methods
405 exactly as FastAPI answers them. The ``Security`` parameters of ``document_api_key`` put both
schemes into the OpenAPI document; that dependency re-checks the key, which costs one comparison.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers

MISSING_KEY = "Missing API key"
INVALID_KEY = "Invalid API key"
CHALLENGE = {"www-authenticate": "Bearer"}
API_KEY_STATE = "llmstruct_api_key"


def presented_key(headers: Headers) -> str | None:
    """The key a client sent: ``X-API-Key`` first, else a ``Bearer`` ``Authorization`` header."""
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def auth_failure(presented: str | None, expected: str) -> str | None:
    """``None`` when ``presented`` is the key, else the 401 detail API.md specifies."""
    if presented is None:
        return MISSING_KEY
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        return INVALID_KEY
    return None


def unauthorized(detail: str) -> JSONResponse:
    """The 401 answer, with the ``www-authenticate: Bearer`` challenge."""
    return JSONResponse({"detail": detail}, status_code=401, headers=CHALLENGE)


class AuthenticatedRoute(APIRoute):
    """An ``APIRoute`` whose handler refuses requests without the key before reading the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticated(request: Request) -> Response:
            expected: str = getattr(request.app.state, API_KEY_STATE)
            failure = auth_failure(presented_key(request.headers), expected)
            if failure is not None:
                return unauthorized(failure)
            return await handler(request)

        return authenticated


_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


async def document_api_key(
    request: Request,
    api_key: str | None = Security(_api_key_header),
    bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
) -> None:
    """Declare both schemes in OpenAPI; ``AuthenticatedRoute`` has already enforced them."""
    presented = api_key or (bearer.credentials if bearer else None)
    failure = auth_failure(presented, getattr(request.app.state, API_KEY_STATE))
    if failure is not None:  # only reachable if a route was added without AuthenticatedRoute
        raise HTTPException(status_code=401, detail=failure, headers=CHALLENGE)
