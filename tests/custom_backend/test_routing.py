"""Precompiled routing: dict lookups and one prefix test per template, with Starlette's outcomes."""

from __future__ import annotations

import pytest

from custom_backend.request import Request
from custom_backend.responses import Response
from custom_backend.routing import (
    NOT_FOUND,
    Endpoint,
    Matched,
    MethodNotAllowed,
    Redirect,
    Router,
)


async def _handler(request: Request) -> Response:
    return Response(200)


def _router() -> Router:
    router = Router()
    router.add("POST", "/items", Endpoint("create", _handler))
    router.add("GET", "/items", Endpoint("list", _handler))
    router.add("GET", "/items/{item_id}", Endpoint("get", _handler))
    router.add("DELETE", "/items/{item_id}", Endpoint("delete", _handler))
    router.add(("GET", "HEAD"), "/metrics", Endpoint("metrics", _handler, auth=False))
    return router


def test_static_and_template_matches() -> None:
    """Static paths match exactly; a template captures one non-empty segment."""
    router = _router()
    assert router.match("GET", "/items") == Matched(router.match("GET", "/items").endpoint, None)  # type: ignore[union-attr]
    found = router.match("DELETE", "/items/abc")
    assert isinstance(found, Matched)
    assert (found.endpoint.name, found.param) == ("delete", "abc")
    assert isinstance(router.match("HEAD", "/metrics"), Matched)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/items", ("GET", "POST")),
        ("PATCH", "/items/1", ("DELETE", "GET")),
        ("POST", "/metrics", ("GET", "HEAD")),
        ("OPTIONS", "/items", ("GET", "POST")),
    ],
)
def test_method_not_allowed_lists_every_method_of_the_path(
    method: str, path: str, allow: tuple[str, ...]
) -> None:
    """A known path with another method: 405 listing the path's methods, sorted (RFC 9110)."""
    assert _router().match(method, path) == MethodNotAllowed(allow)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/items/", Redirect("/items")),
        ("/metrics//", Redirect("/metrics")),
        ("/items/a/b", NOT_FOUND),
        ("/items//", Redirect("/items")),
        ("/nothing", NOT_FOUND),
        ("/", NOT_FOUND),
    ],
)
def test_unknown_paths(path: str, expected: object) -> None:
    """A trailing-slash twin of a known path redirects; anything else is not found."""
    assert _router().match("GET", path) == expected


def test_only_one_trailing_parameter() -> None:
    """Templates the matcher cannot do in one prefix test are refused at start-up."""
    with pytest.raises(ValueError, match="one trailing path parameter"):
        Router().add("GET", "/a/{x}/b", Endpoint("x", _handler))
