"""405 answers that list every method of the resource in ``Allow`` (RFC 9110 §15.5.6, §10.2.1).

Starlette's router answers a wrong method with the ``Allow`` of the *first* route whose path
matched: ``/api/v1/tasks`` has a POST route and a GET route, so ``OPTIONS /api/v1/tasks`` said
``Allow: POST`` although GET works too, and ``/metrics`` joined a set (``GET, HEAD`` or ``HEAD,
GET`` by hash order). RFC 9110 requires the origin server to list the target resource's currently
supported methods, so the handler here rebuilds ``Allow`` by asking the route table which methods
fully match the path (FastAPI's included routers hide their routes' methods, but answer
``matches``), sorted, which is also what the candidate's router does (``custom_backend.routing``);
every other ``HTTPException`` keeps FastAPI's default answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

# The methods of RFC 9110 §9 and PATCH (RFC 5789): the only ones a route here can serve.
KNOWN_METHODS: Final = (
    "CONNECT",
    "DELETE",
    "GET",
    "HEAD",
    "OPTIONS",
    "PATCH",
    "POST",
    "PUT",
    "TRACE",
)


def allowed_methods(routes: Sequence[BaseRoute], scope: dict[str, Any]) -> list[str]:
    """The methods some route fully matches for ``scope``'s path, sorted (405s are rare)."""
    found = []
    for method in KNOWN_METHODS:
        probe = {**scope, "method": method}
        if any(route.matches(probe)[0] is Match.FULL for route in routes):
            found.append(method)
    return found


async def method_aware_http_exception_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's ``HTTPException`` answer, with a complete ``Allow`` on a 405."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        methods = allowed_methods(request.app.router.routes, dict(request.scope))
        if methods:
            exc.headers = {**(exc.headers or {}), "Allow": ", ".join(methods)}
    return await http_exception_handler(request, exc)
