"""Operation-level spec pairs: operations, deprecation, parameters, bodies, statuses,
headers, links, security and webhooks. Each group's cases are negatives for the ids the
other cases of the group yield.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any, NamedTuple

from tests.contracts.diff_cases import Case, Spec

TODAY = date(2026, 12, 6)
Mutation = Callable[[Spec], None]


def _unchanged(d: Spec) -> None:
    return None


class Row(NamedTuple):
    """A mutation of the revision (and, for deprecations, of the base) and the ids it must yield."""

    name: str
    mutate: Mutation
    expected: set[str]
    options: dict[str, Any]
    base: Mutation = _unchanged


def spec() -> Spec:
    """A small document: GET/POST /things, GET /things/{id}, one webhook."""
    ok = {
        "description": "ok",
        "content": {"application/json": {"schema": {"type": "object"}}},
        "headers": {
            "X-Trace": {"schema": {"type": "string"}},
            "ETag": {"required": True, "schema": {"type": "string"}},
        },
        "links": {"GetThing": {"operationId": "getThing"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things": {
                "get": {
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "X-Tenant",
                            "in": "header",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": ok, "404": {"description": "missing"}},
                },
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    "responses": {"201": {"description": "created"}},
                },
            },
            "/things/{id}": {
                "get": {
                    "operationId": "getThing",
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            },
        },
        "webhooks": {
            "thingDone": {
                "post": {
                    "requestBody": {
                        "content": {"application/json": {"schema": {"type": "object"}}}
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }


def _get(d: Spec) -> dict[str, Any]:
    operation: dict[str, Any] = d["paths"]["/things"]["get"]
    return operation


def _post(d: Spec) -> dict[str, Any]:
    operation: dict[str, Any] = d["paths"]["/things"]["post"]
    return operation


def _one(d: Spec) -> dict[str, Any]:
    operation: dict[str, Any] = d["paths"]["/things/{id}"]["get"]
    return operation


def _params(d: Spec) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = _get(d)["parameters"]
    return parameters


def _param(d: Spec, place: str) -> dict[str, Any]:
    return next(p for p in _params(d) if p["in"] == place)


def _deprecate(sunset: str | None = None) -> Mutation:
    def mutate(d: Spec) -> None:
        _one(d)["deprecated"] = True
        if sunset:
            _one(d)["x-sunset"] = sunset

    return mutate


def _remove_one(d: Spec) -> None:
    del d["paths"]["/things/{id}"]


def _headers(d: Spec) -> dict[str, Any]:
    headers: dict[str, Any] = _get(d)["responses"]["200"]["headers"]
    return headers


def _parameter_rows(place: str) -> list[tuple[Any, ...]]:
    p = f"request-parameter-{place}"
    new = {"name": "extra", "in": place, "schema": {"type": "string"}}

    def required(flag: bool) -> Mutation:
        return lambda d: _param(d, place).update(required=flag)

    return [
        (f"{place}-added", lambda d: _params(d).append(dict(new)), {f"{p}-added"}, {}),
        (
            f"{place}-required-added",
            lambda d: _params(d).append({**new, "required": True}),
            {f"{p}-required-added"},
            {},
        ),
        (f"{place}-removed", lambda d: _params(d).remove(_param(d, place)), {f"{p}-removed"}, {}),
        (f"{place}-required", required(True), {f"{p}-became-required"}, {}, required(False)),
        (f"{place}-optional", required(False), {f"{p}-became-optional"}, {}, required(True)),
        (f"{place}-still-required", required(True), set(), {}, required(True)),
    ]


def _rows() -> list[list[tuple[Any, ...]]]:
    return [
        [
            ("unchanged", lambda d: None, set(), {}),
            (
                "operation-added",
                lambda d: d["paths"].update(
                    {"/other": {"get": {"responses": {"200": {"description": "ok"}}}}}
                ),
                {"operation-added"},
                {},
            ),
            ("operation-removed", _remove_one, {"operation-removed"}, {}),
            (
                "path-param-renamed",
                lambda d: d["paths"].update({"/things/{thing}": d["paths"].pop("/things/{id}")}),
                set(),
                {},
            ),
        ],
        [
            (
                "removed-after-sunset",
                _remove_one,
                {"operation-removed-deprecated"},
                {},
                _deprecate("2026-01-01"),
            ),
            (
                "removed-before-sunset",
                _remove_one,
                {"operation-removed-before-sunset"},
                {},
                _deprecate("2099-01-01"),
            ),
            ("removed-undated", _remove_one, {"operation-removed-deprecated"}, {}, _deprecate()),
            (
                "removed-undated-with-minimum",
                _remove_one,
                {"operation-removed-before-sunset"},
                {"min_deprecation_days": 30},
                _deprecate(),
            ),
            ("removed-not-deprecated", _remove_one, {"operation-removed"}, {}),
        ],
        [
            ("deprecated", _deprecate(), {"operation-deprecated"}, {}),
            (
                "reactivated",
                lambda d: _one(d).pop("deprecated"),
                {"operation-reactivated"},
                {},
                _deprecate(),
            ),
            ("still-deprecated", _deprecate(), set(), {}, _deprecate()),
            (
                "deprecated-no-sunset-minimum",
                _deprecate(),
                {"operation-deprecated", "operation-sunset-too-early"},
                {"min_deprecation_days": 90},
            ),
            (
                "deprecated-short-sunset",
                _deprecate("2026-12-16"),
                {"operation-deprecated", "operation-sunset-too-early"},
                {"min_deprecation_days": 90},
            ),
            (
                "deprecated-long-sunset",
                _deprecate("2027-06-01"),
                {"operation-deprecated"},
                {"min_deprecation_days": 90},
            ),
        ],
        [
            ("body-removed", lambda d: _post(d).pop("requestBody"), {"request-body-removed"}, {}),
            (
                "body-optional",
                lambda d: _post(d)["requestBody"].update(required=False),
                {"request-body-became-optional"},
                {},
            ),
            (
                "body-required",
                lambda d: _post(d)["requestBody"].update(required=True),
                {"request-body-became-required"},
                {},
                lambda d: _post(d)["requestBody"].update(required=False),
            ),
            (
                "body-media-added",
                lambda d: _post(d)["requestBody"]["content"].update({"text/csv": {}}),
                {"request-body-media-type-added"},
                {},
            ),
            (
                "body-media-removed",
                lambda d: _post(d)["requestBody"].update(content={"text/csv": {}}),
                {"request-body-media-type-removed", "request-body-media-type-added"},
                {},
            ),
            (
                "body-media-parameters-ignored",
                lambda d: _post(d)["requestBody"].update(
                    content={"application/json; charset=utf-8": {"schema": {"type": "object"}}}
                ),
                set(),
                {},
            ),
        ],
        [
            (
                "get-body-added",
                lambda d: _get(d).update(requestBody={"content": {"application/json": {}}}),
                {"request-body-added"},
                {},
            ),
            (
                "get-body-required-added",
                lambda d: _get(d).update(
                    requestBody={"required": True, "content": {"application/json": {}}}
                ),
                {"request-body-required-added"},
                {},
            ),
        ],
        [
            (
                "success-status-added",
                lambda d: _post(d)["responses"].update({"202": {"description": "later"}}),
                {"response-success-status-added"},
                {},
            ),
            (
                "success-status-removed",
                lambda d: _get(d)["responses"].pop("200"),
                {"response-success-status-removed"},
                {},
            ),
            (
                "error-status-added",
                lambda d: _post(d)["responses"].update({"409": {"description": "conflict"}}),
                {"response-non-success-status-added"},
                {},
            ),
            (
                "error-status-removed",
                lambda d: _get(d)["responses"].pop("404"),
                {"response-non-success-status-removed"},
                {},
            ),
            (
                "status-range-added",
                lambda d: _post(d)["responses"].update({"2XX": {"description": "any"}}),
                {"response-success-status-added"},
                {},
            ),
        ],
        [
            (
                "response-media-added",
                lambda d: _get(d)["responses"]["200"]["content"].update({"text/csv": {}}),
                {"response-media-type-added"},
                {},
            ),
            (
                "response-media-removed",
                lambda d: _get(d)["responses"]["200"].pop("content"),
                {"response-media-type-removed"},
                {},
            ),
        ],
        [
            (
                "header-added",
                lambda d: _headers(d).update({"X-Rate": {"schema": {"type": "integer"}}}),
                {"response-header-added"},
                {},
            ),
            (
                "header-removed",
                lambda d: _headers(d).pop("X-Trace"),
                {"response-header-removed"},
                {},
            ),
            (
                "required-header-removed",
                lambda d: _headers(d).pop("ETag"),
                {"response-required-header-removed"},
                {},
            ),
            (
                "header-optional",
                lambda d: _headers(d)["ETag"].update(required=False),
                {"response-header-became-optional"},
                {},
            ),
            (
                "header-required",
                lambda d: _headers(d)["X-Trace"].update(required=True),
                {"response-header-became-required"},
                {},
            ),
            (
                "header-case",
                lambda d: _headers(d).update({"x-trace": _headers(d).pop("X-Trace")}),
                set(),
                {},
            ),
        ],
        [
            (
                "link-added",
                lambda d: _get(d)["responses"]["200"]["links"].update(
                    {"Self": {"operationId": "getThing"}}
                ),
                {"response-link-added"},
                {},
            ),
            (
                "link-removed",
                lambda d: _get(d)["responses"]["200"].pop("links"),
                {"response-link-removed"},
                {},
            ),
        ],
        [
            (
                "security-added",
                lambda d: d.update(security=[{"bearer": []}]),
                {"security-added"},
                {},
            ),
            ("security-optional", lambda d: d.update(security=[{"bearer": []}, {}]), set(), {}),
            (
                "security-removed",
                lambda d: d.pop("security"),
                {"security-removed"},
                {},
                lambda d: d.update(security=[{"bearer": []}]),
            ),
        ],
        [
            (
                "webhook-added",
                lambda d: d["webhooks"].update(
                    {"thingGone": copy.deepcopy(d["webhooks"]["thingDone"])}
                ),
                {"webhook-added"},
                {},
            ),
            ("webhook-removed", lambda d: d.pop("webhooks"), {"webhook-removed"}, {}),
        ],
        *[_parameter_rows(place) for place in ("query", "header", "cookie")],
        [
            (
                "operation-id-added",
                lambda d: _get(d).update(operationId="listThings"),
                {"operation-id-added"},
                {},
            ),
            (
                "operation-id-changed",
                lambda d: _one(d).update(operationId="fetchThing"),
                {"operation-id-changed"},
                {},
            ),
            (
                "operation-id-removed",
                lambda d: _one(d).pop("operationId"),
                {"operation-id-removed"},
                {},
            ),
        ],
        [
            (
                "sunset-earlier",
                _deprecate("2027-01-01"),
                {"operation-sunset-moved-earlier"},
                {},
                _deprecate("2027-06-01"),
            ),
            ("sunset-later", _deprecate("2027-12-01"), set(), {}, _deprecate("2027-06-01")),
            (
                "sunset-dropped",
                lambda d: _one(d).pop("x-sunset"),
                {"operation-sunset-moved-earlier"},
                {},
                _deprecate("2027-06-01"),
            ),
        ],
        [
            (
                "query-explode-off",
                lambda d: _param(d, "query").update(explode=False),
                {"request-parameter-query-serialization-changed"},
                {},
            ),
            (
                "query-style-spelled-out",
                lambda d: _param(d, "query").update(style="form", explode=True),
                set(),
                {},
            ),
            (
                "header-explode-on",
                lambda d: _param(d, "header").update(explode=True),
                {"request-parameter-header-serialization-changed"},
                {},
            ),
            (
                "cookie-explode-off",
                lambda d: _param(d, "cookie").update(explode=False),
                {"request-parameter-cookie-serialization-changed"},
                {},
            ),
            (
                "path-label-style",
                lambda d: _one(d)["parameters"][0].update(style="label"),
                {"request-parameter-path-serialization-changed"},
                {},
            ),
            (
                "path-style-spelled-out",
                lambda d: _one(d)["parameters"][0].update(style="simple", explode=False),
                set(),
                {},
            ),
        ],
    ]


def operation_cases() -> list[Case]:
    """Every row as a case."""
    cases = []
    for group in _rows():
        rows = [Row(*row) for row in group]
        about = frozenset().union(*(row.expected for row in rows))
        for row in rows:
            base, revision = _mutated(row.base), _mutated(row.base)
            row.mutate(revision)
            options = {"today": TODAY, **row.options}
            cases.append(
                Case(f"op:{row.name}", base, revision, frozenset(row.expected), about, options)
            )
    return cases


def _mutated(mutate: Mutation) -> Spec:
    doc = spec()
    mutate(doc)
    return doc
