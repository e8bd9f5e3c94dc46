"""Precompiled routing: a dict lookup for static paths, a prefix test per parameterised template.

The llmstruct API has eight static paths and two templates with a single trailing parameter
(``/api/v1/tasks/{task_id}``, ``/api/v1/project/context/{mode}``), so matching needs no regular
expression: a template matches when the path starts with its prefix and the rest is one non-empty
segment (Starlette's ``[^/]+``). Matching is separate from handling, as in Starlette:
``Router.match`` returns a value and the app decides what to send. The outcomes reproduce
Starlette's router: full match, 405 (path known, method not), 307 redirect for a trailing-slash
variant of a known path (``redirect_slashes``), otherwise 404. One deliberate difference, made in
both stacks (``fastapi_backend.methods``): a 405's ``Allow`` lists every method of the path, sorted
(RFC 9110 §15.5.6), where Starlette listed the first route's only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from custom_backend.request import Request
    from custom_backend.responses import Response

Handler = Callable[["Request"], Awaitable["Response"]]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A handler and what the app must do before calling it."""

    name: str
    handler: Handler
    auth: bool = True


@dataclass(frozen=True, slots=True)
class Matched:
    """The path and method matched; ``param`` is the template's one path parameter (or None)."""

    endpoint: Endpoint
    param: str | None


@dataclass(frozen=True, slots=True)
class MethodNotAllowed:
    """The path exists but not for this method; ``allow`` lists the methods it has."""

    allow: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Redirect:
    """The path is unknown but its trailing-slash twin exists (Starlette's ``redirect_slashes``)."""

    path: str


@dataclass(frozen=True, slots=True)
class NotFound:
    """Nothing matches."""


NOT_FOUND: Final = NotFound()
Match = Matched | MethodNotAllowed | Redirect | NotFound
Methods = dict[str, Endpoint]


@dataclass(slots=True)
class _Methods:
    """The endpoints of one path; ``allow`` is what a 405 lists: all of them, sorted."""

    by_method: Methods
    allow: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Template:
    prefix: str
    methods: _Methods


class Router:
    """Routes built at start-up; ``match`` is a dict lookup plus one prefix test per template."""

    def __init__(self) -> None:
        self._static: dict[str, _Methods] = {}
        self._templates: list[_Template] = []

    def add(self, methods: str | tuple[str, ...], path: str, endpoint: Endpoint) -> None:
        """Add ``endpoint`` for ``methods`` on ``path`` (static, or one trailing ``{param}``)."""
        group = (methods,) if isinstance(methods, str) else methods
        if "{" not in path:
            entry = self._static.get(path)
            if entry is None:
                entry = self._static[path] = _Methods({}, group)
        else:
            prefix, _, rest = path.partition("{")
            if not prefix.endswith("/") or not rest.endswith("}") or "/" in rest or "{" in rest:
                raise ValueError(f"only one trailing path parameter is supported: {path}")
            found = [t.methods for t in self._templates if t.prefix == prefix]
            if found:
                entry = found[0]
            else:
                entry = _Methods({}, group)
                self._templates.append(_Template(prefix, entry))
        for method in group:
            entry.by_method[method] = endpoint
        entry.allow = tuple(sorted(entry.by_method))

    def _lookup(self, path: str) -> tuple[_Methods, str | None] | None:
        methods = self._static.get(path)
        if methods is not None:
            return methods, None
        for template in self._templates:
            if path.startswith(template.prefix):
                param = path[len(template.prefix) :]
                if param and "/" not in param:
                    return template.methods, param
        return None

    def match(self, method: str, path: str) -> Match:
        """Resolve ``method path`` to a handler or to the error Starlette's router would produce."""
        found = self._lookup(path)
        if found is not None:
            methods, param = found
            endpoint = methods.by_method.get(method)
            if endpoint is None:
                return MethodNotAllowed(methods.allow)
            return Matched(endpoint, param)
        if path != "/":
            twin = path.rstrip("/") if path.endswith("/") else path + "/"
            if self._lookup(twin) is not None:
                return Redirect(twin)
        return NOT_FOUND
