"""Which operation a request is: the unit the per-operation windows count by (issue #14).

A regression in one operation that carries 5 % of a route's traffic barely moves the route's p95,
so every attempt is also booked under an operation name. Per route, a request's name comes from
the first source that knows it:

1. the route's own ``operations:`` patterns (``"POST /api/v1/tasks"`` or ``{name, method, path}``,
   :class:`gateway.config.OperationPattern`), so an operator can rename or split what the
   contract says;
2. the contract's OpenAPI paths and methods, named by ``operationId`` (``migration.contract``:
   ``llmstruct`` is the checked-in ``contracts/openapi.json``, else a file path);
3. ``f"{METHOD} {route}"`` — for a route without either, and for any request no pattern matches
   (the WebSocket ``GET /api/v1/ws`` of the llmstruct API, a typo'd path).

Templates (``/api/v1/tasks/{task_id}``: each ``{param}`` is one non-empty segment,
:func:`contracts.validators.compile_template`) are tried most specific first — fewer parameters,
then the longer template — the order :class:`contracts.validators.ContractValidator` uses for its
own path table; the contract is read with :func:`contracts.schemas.operations`, and no JSON-schema
validator is compiled for it. The query string is not part of the path. Methods compare exactly
(RFC 9110 §9.1: they are case-sensitive), so a client's ``get`` is not ``GET``: it falls back to
``get ROUTE``.

Cardinality is bounded per route (``max_operations``, default 16): the first names seen keep their
own name and a new name past the bound is :data:`OTHER`, so one route has at most
``max_operations + 1`` series whatever its clients send — the fallback name carries the client's
method, so a client inventing methods only fills the bound. "First seen" is per process: when the
bound is reached, two replicas may have admitted different names (each one's windows stay
correct, the merged view then holds a name that some replicas count as ``other``); configure a
bound above the route's real operation count and this never happens.

Cost, per request: one call, made only when the gateway has observers (lazily, on the request's
first booked attempt). ``timeit`` of :meth:`OperationClassifier.classify` for the ``llmstruct``
contract on this machine: a static hit (``GET /api/v1/tasks?limit=5``) 0.17 µs, a templated hit
(``GET /api/v1/tasks/abc123``) 0.27 µs, a miss (``GET /api/v1/nothing``) 0.29 µs. Inside the
gateway it weighs more than a hot loop says (callgrind: ~3k instructions for a static hit, ~5k
for a templated hit or a miss, on a proxied request's ~56k; ``bench.gateway``'s setup with one
no-op observer: 0.9 µs (static) to 2.5 µs (miss) of CPU on ~16 µs per request). Hence the merged
lookup of :class:`RouteOperations`, one flat :meth:`~OperationClassifier.classify` and no regex
for the ``/collection/{id}`` shape — a regex cost ~2 µs of CPU per request there, cold between
requests. No cache: a static hit is already one lookup on the path a cache would be keyed by, and
templated paths carry ids, so a bounded cache would mostly miss exactly where it could help.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from contracts.schemas import operations
from contracts.validators import compile_template
from gateway.config import DEFAULT_MAX_OPERATIONS, OTHER_OPERATION, OperationPattern, RouteConfig

__all__ = [
    "DEFAULT_MAX_OPERATIONS",
    "OTHER",
    "OperationClassifier",
    "OperationTable",
    "RouteOperations",
    "build_classifier",
    "contract_table",
    "op_key",
    "split_key",
]

#: The name of every operation past a route's ``max_operations``.
OTHER: Final = OTHER_OPERATION
#: Distinct client methods whose fallback name a route remembers (past it, the name is rebuilt).
_FALLBACK_MEMO = 32


def op_key(route: str, operation: str) -> str:
    """``route/operation``: one key for a (route, operation) pair (route names hold no ``/``)."""
    return f"{route}/{operation}"


def split_key(key: str) -> tuple[str, str | None]:
    """``(route, operation)`` back from :func:`op_key`; ``(key, None)`` for a plain route key.

    Route names match ``^[A-Za-z0-9_.-]+$``, so the first ``/`` separates; the operation may hold
    more ``/`` and spaces (``GET /api/v1/tasks``).
    """
    route, sep, operation = key.partition("/")
    return (route, operation) if sep else (key, None)


#: One step of a template search: a run of last-segment templates as ``{path before the last "/":
#: name}``, or one other template as a regex; ``(run, None, "")`` or ``(None, regex, name)``.
Block = tuple[dict[str, str] | None, re.Pattern[str] | None, str]


def _last_segment_head(template: str) -> str | None:
    """``/api/v1/tasks`` for ``/api/v1/tasks/{task_id}``; None unless the only parameter is the
    whole last segment."""
    head, sep, last = template.rpartition("/")
    one_parameter = template.count("{") == 1 and len(last) > 2
    if sep and one_parameter and last[0] == "{" and last.find("}") == len(last) - 1:
        return head
    return None


def _blocks(ranked: Iterable[tuple[str, str]]) -> tuple[Block, ...]:
    """Ranked ``(template, name)`` pairs as search blocks, in the same order.

    A run of consecutive last-segment templates (the REST shape ``/collection/{id}``) becomes one
    dict keyed by the path before the last ``/``: two of them match one path only when their
    heads are equal, so one lookup answers the run exactly as trying each in turn would (the
    first of equal heads wins). Any other template is a regex (:func:`compile_template`).
    """
    blocks: list[Block] = []
    run: dict[str, str] | None = None
    for template, name in ranked:
        head = _last_segment_head(template)
        if head is None:
            run = None
            blocks.append((None, compile_template(template), name))
            continue
        if run is None:
            run = {}
            blocks.append((run, None, ""))
        run.setdefault(head, name)
    return tuple(blocks)


class OperationTable:
    """Patterns to names, for one source: static paths by dict lookup, then templates in rank order.

    :meth:`classify` is the plain reference (one regex per template); the classifier answers
    the same from tables merged for speed (:class:`RouteOperations`), and a test holds the two
    to the same answers.
    """

    __slots__ = ("_regexes", "names", "static", "templates")

    def __init__(self, patterns: Iterable[OperationPattern]) -> None:
        """Index ``patterns``; where two claim the same static path, the first one declared wins."""
        static: dict[tuple[str, str], str] = {}
        ranked: dict[str, list[tuple[int, int, int, str, str]]] = {}
        names: dict[str, None] = {}
        for index, pattern in enumerate(patterns):
            names[pattern.name] = None
            parameters = pattern.path.count("{")  # a validated template: one "{" per parameter
            if parameters == 0:
                static.setdefault((pattern.method, pattern.path), pattern.name)
            else:
                entry = (parameters, -len(pattern.path), index, pattern.path, pattern.name)
                ranked.setdefault(pattern.method, []).append(entry)
        #: ``{(method, path): name}`` for the patterns without parameters.
        self.static = static
        #: ``{method: ((template, name), ...)}``: fewer parameters first, then longer templates,
        #: then declaration order — the most specific template first.
        self.templates: dict[str, tuple[tuple[str, str], ...]] = {
            method: tuple((template, name) for *_, template, name in sorted(entries))
            for method, entries in ranked.items()
        }
        self._regexes = {
            method: tuple((compile_template(template), name) for template, name in pairs)
            for method, pairs in self.templates.items()
        }
        #: Every name the table can answer, in declaration order.
        self.names: tuple[str, ...] = tuple(names)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> OperationTable:
        """The operations of an OpenAPI document, named by ``operationId``."""
        return cls(
            OperationPattern(op.operation_id, op.method, op.path)
            for op in operations(document).values()
        )

    def classify(self, method: str, path: str) -> str | None:
        """The name of ``METHOD path`` (no query string), or None when no pattern matches."""
        found = self.static.get((method, path))
        if found is not None:
            return found
        for regex, name in self._regexes.get(method, ()):
            if regex.fullmatch(path):
                return name
        return None


def contract_table(contract: str) -> OperationTable:
    """The table of a contract: ``llmstruct`` (the checked-in document) or an OpenAPI file path."""
    from contracts.export import OPENAPI_PATH, load_openapi

    return OperationTable.from_document(
        load_openapi(OPENAPI_PATH if contract == "llmstruct" else Path(contract))
    )


class RouteOperations:
    """One route's tables merged for the per-request lookup, its fallback names and its bound.

    Merged once, here: one static dict (``{path: {method: name}}``: no tuple to build per
    request) and one block list per method (:func:`_blocks`), so a request costs a dict lookup or
    two and at most one pass over blocks, however many sources the route has. The merge keeps
    the layered meaning: a later table's static path that an earlier table's template matches
    takes the earlier table's name, and every template of an earlier table comes before those
    of a later one.
    """

    __slots__ = ("blocks", "fallbacks", "max_operations", "route", "seen", "static")

    def __init__(
        self,
        route: str,
        tables: Sequence[OperationTable] = (),
        max_operations: int = DEFAULT_MAX_OPERATIONS,
    ) -> None:
        if max_operations < 1:
            raise ValueError(f"max_operations must be at least 1, got {max_operations}")
        self.route = route
        self.max_operations = max_operations
        self.static: dict[str, dict[str, str]] = {}
        templates: dict[str, list[tuple[str, str]]] = {}
        for index, table in enumerate(tables):
            for (method, path), name in table.static.items():
                by_method = self.static.setdefault(path, {})
                if method not in by_method:
                    earlier = (t.classify(method, path) for t in tables[:index])
                    by_method[method] = next((n for n in earlier if n), name)
            for method, pairs in table.templates.items():
                templates.setdefault(method, []).extend(pairs)
        self.blocks = {method: _blocks(pairs) for method, pairs in templates.items()}
        #: The names admitted so far (never :data:`OTHER`); grows up to ``max_operations``.
        self.seen: set[str] = set()
        #: Client method → its bounded fallback name (the first few methods only).
        self.fallbacks: dict[str, str] = {}

    def admit(self, name: str) -> str:
        """``name`` if it is admitted (already, or now while under the bound), else :data:`OTHER`.

        Stable: an admitted name stays admitted and a refused one stays refused (the set only
        grows, and stops growing at the bound).
        """
        seen = self.seen
        if name in seen:
            return name
        if len(seen) < self.max_operations:
            seen.add(name)
            return name
        return OTHER

    def fallback(self, method: str) -> str:
        """The bounded ``METHOD route`` name of a request no pattern matches."""
        found = self.fallbacks.get(method)
        if found is None:
            found = self.admit(f"{method} {self.route}")
            if len(self.fallbacks) < _FALLBACK_MEMO:
                self.fallbacks[method] = found
        return found


class OperationClassifier:
    """Every route's :class:`RouteOperations`; what the proxy calls once per observed request."""

    __slots__ = ("routes",)

    def __init__(self, routes: Mapping[str, RouteOperations]) -> None:
        self.routes = dict(routes)

    def classify(self, route: str, method: str, target: str) -> str:
        """The operation of a request: ``target`` is the path plus query as the client sent it.

        A route the classifier was not built for has no operations of its own: :data:`OTHER`.
        One flat function on purpose: each Python call it saved was ~500 instructions of a
        request's ~56k (callgrind, the gateway benchmark's load).
        """
        ops = self.routes.get(route)
        if ops is None:
            return OTHER
        path = target.partition("?")[0]
        by_method = ops.static.get(path)
        name = None if by_method is None else by_method.get(method)
        if name is None:
            head: str | None = None
            last = ""
            for run, regex, candidate in ops.blocks.get(method, ()):
                if run is not None:
                    if head is None:
                        head, sep, last = path.rpartition("/")
                        if not sep:
                            last = ""  # no "/" at all ("*"): no last segment either
                    if last:
                        name = run.get(head)
                        if name is not None:
                            break
                elif regex is not None and regex.fullmatch(path):
                    name = candidate
                    break
            else:
                return ops.fallbacks.get(method) or ops.fallback(method)
        return name if name in ops.seen else ops.admit(name)


def build_classifier(routes: Sequence[RouteConfig], contract: str | None) -> OperationClassifier:
    """The classifier of a gateway's routes; ``contract`` as ``migration.contract`` (None: none).

    The contract is read once and its table shared by every route.
    """
    shared = () if contract is None else (contract_table(contract),)
    return OperationClassifier(
        {
            route.name: RouteOperations(
                route.name,
                ((OperationTable(route.operations),) if route.operations else ()) + shared,
                route.max_operations,
            )
            for route in routes
        }
    )
