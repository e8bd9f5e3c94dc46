"""The rule catalogue: every finding ``contracts diff`` emits has an id listed here.

A rule id names the change kind, where it is seen and which way it goes, e.g.
``request-body-max-length-decreased`` or ``response-header-enum-value-added``, so an ignore entry or
a severity override can target exactly one thing. Schema rules are generated: one per *kind* (a
keyword and a direction of change) and *location* (request body, each parameter kind, response body,
response header, webhook payload); each kind carries its level on the request side (what the server
accepts: narrowing breaks) and on the response side (what clients receive: widening breaks),
``None`` where the change cannot be seen on that side. Operation-level rules are listed one by one.

Emitting an id that is not catalogued raises ``KeyError``: the catalogue is the single source of ids
and default levels, and a test walks it to check each id has a positive and a negative case.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from contracts.report import Severity

ERR, WARN, INFO = Severity.ERR, Severity.WARN, Severity.INFO


@dataclass(frozen=True)
class Rule:
    """One catalogued rule: its id, default level, a one-line explanation and an example."""

    id: str
    level: Severity
    summary: str
    example: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {
            "id": self.id,
            "level": self.level.name,
            "summary": self.summary,
            "example": self.example,
        }


#: Where a schema is compared, and whether it is read as a request (accepted) or a response (sent).
#: A webhook payload is sent by the API and received by subscribers, so it is judged as a response.
SCHEMA_LOCATIONS: dict[str, str] = {
    "request-body": "request",
    "request-parameter-path": "request",
    "request-parameter-query": "request",
    "request-parameter-header": "request",
    "request-parameter-cookie": "request",
    "response-body": "response",
    "response-header": "response",
    "webhook-request-body": "response",
}

# kind: (request level, response level, what changed, example base -> revision)
_KINDS: dict[str, tuple[Severity | None, Severity | None, str, str]] = {
    "nullable-added": (INFO, ERR, "null became a valid value", "type: string -> [string, 'null']"),
    "nullable-removed": (ERR, INFO, "null is no longer a valid value", "nullable: true -> dropped"),
    "type-widened": (INFO, ERR, "the type admits more values", "integer -> number"),
    "type-narrowed": (ERR, INFO, "the type admits fewer values", "[string, integer] -> string"),
    "type-changed": (ERR, ERR, "the type changed incompatibly", "string -> integer"),
    "format-added": (ERR, INFO, "a format was added", "string -> string/email"),
    "format-removed": (INFO, WARN, "the format was dropped", "string/uuid -> string"),
    "format-changed": (ERR, ERR, "the format changed", "date -> date-time"),
    "enum-added": (ERR, INFO, "the value became an enum", "string -> enum [a, b]"),
    "enum-removed": (INFO, WARN, "the value is no longer an enum", "enum [a, b] -> string"),
    "enum-value-added": (INFO, WARN, "an enum value was added", "[a, b] -> [a, b, c]"),
    "enum-value-removed": (ERR, INFO, "an enum value was removed", "[a, b] -> [a]"),
    "extensible-enum-value-added": (
        INFO,
        INFO,
        "an x-extensible-enum value was added (clients must tolerate unknown values)",
        "x-extensible-enum [a] -> [a, b]",
    ),
    "extensible-enum-value-removed": (
        ERR,
        INFO,
        "an x-extensible-enum value was removed",
        "x-extensible-enum [a, b] -> [a]",
    ),
    "const-added": (ERR, INFO, "the value was pinned with const", "string -> const 'v1'"),
    "const-removed": (INFO, WARN, "const was dropped", "const 'v1' -> string"),
    "const-changed": (ERR, ERR, "the const value changed", "const 'v1' -> const 'v2'"),
    "pattern-added": (ERR, INFO, "a pattern was added", "string -> pattern ^[a-z]+$"),
    "pattern-removed": (INFO, WARN, "the pattern was dropped", "pattern ^[a-z]+$ -> none"),
    "pattern-changed": (WARN, WARN, "the pattern changed", "^[a-z]+$ -> ^[a-z0-9]+$"),
    "default-added": (INFO, None, "a default was documented", "no default -> default 50"),
    "default-removed": (WARN, None, "the default was dropped", "default 50 -> none"),
    "default-changed": (WARN, None, "the default changed", "default 50 -> default 20"),
    "property-added": (INFO, INFO, "an optional property was added", "{a} -> {a, b}"),
    "required-property-added": (ERR, None, "a required property was added", "{a} -> {a, b*}"),
    "property-removed": (WARN, WARN, "an optional property was removed", "{a, b} -> {a}"),
    "property-rejected": (
        ERR,
        None,
        "a property was removed from a closed object (additionalProperties: false)",
        "{a, b} closed -> {a} closed",
    ),
    "required-property-removed": (None, ERR, "a required property was removed", "{a*, b*} -> {a*}"),
    "property-became-required": (ERR, INFO, "a property became required", "{a} -> {a*}"),
    "property-became-optional": (INFO, ERR, "a property became optional", "{a*} -> {a}"),
    "additional-properties-closed": (
        ERR,
        INFO,
        "unknown properties are no longer allowed",
        "additionalProperties absent -> false",
    ),
    "additional-properties-opened": (
        INFO,
        WARN,
        "unknown properties are allowed again",
        "additionalProperties false -> absent",
    ),
    "any-of-member-added": (INFO, ERR, "an anyOf alternative was added", "anyOf [A] -> [A, B]"),
    "any-of-member-removed": (ERR, INFO, "an anyOf alternative was removed", "anyOf [A, B] -> [A]"),
    "one-of-member-added": (
        INFO,
        ERR,
        "a oneOf alternative was added",
        "oneOf [A, B] -> [A, B, C]",
    ),
    "one-of-member-removed": (ERR, INFO, "a oneOf alternative was removed", "oneOf [A, B] -> [A]"),
    "all-of-member-added": (ERR, INFO, "an allOf member was added", "allOf [A] -> [A, B]"),
    "all-of-member-removed": (INFO, WARN, "an allOf member was removed", "allOf [A, B] -> [A]"),
    "dependent-required-added": (
        ERR,
        INFO,
        "a dependentRequired entry was added",
        "{} -> dependentRequired {card: [cvv]}",
    ),
    "dependent-required-removed": (
        INFO,
        WARN,
        "a dependentRequired entry was removed",
        "dependentRequired {card: [cvv]} -> {}",
    ),
    "conditional-added": (ERR, INFO, "an if/then/else was added", "none -> if/then"),
    "conditional-removed": (INFO, WARN, "the if/then/else was dropped", "if/then -> none"),
    "conditional-changed": (WARN, WARN, "the if/then/else changed", "then {required: [a]} -> [b]"),
    "contains-added": (ERR, INFO, "contains was added to an array", "array -> contains {const: x}"),
    "contains-removed": (INFO, WARN, "contains was dropped", "contains {const: x} -> none"),
    "contains-changed": (WARN, WARN, "the contains schema changed", "contains x -> contains y"),
    "prefix-items-added": (ERR, INFO, "a prefixItems position was added", "[int] -> [int, str]"),
    "prefix-items-removed": (
        INFO,
        WARN,
        "a prefixItems position was dropped",
        "[int, str] -> [int]",
    ),
    "unique-items-added": (ERR, INFO, "items must now be unique", "array -> uniqueItems: true"),
    "unique-items-removed": (INFO, WARN, "items may now repeat", "uniqueItems: true -> false"),
    "multiple-of-narrowed": (
        ERR,
        INFO,
        "multipleOf added, or changed to a multiple of itself",
        "multipleOf 2 -> 4",
    ),
    "multiple-of-widened": (
        INFO,
        ERR,
        "multipleOf dropped, or changed to a divisor of itself",
        "multipleOf 4 -> 2",
    ),
    "multiple-of-changed": (ERR, ERR, "multipleOf changed incompatibly", "multipleOf 2 -> 3"),
}

#: Bound keywords: a larger upper bound or a smaller lower bound admits more values. Adding a bound
#: counts as decreasing an upper (increasing a lower) bound from infinity; removing it, the reverse.
UPPER_BOUNDS = (
    "maxLength",
    "maxItems",
    "maxProperties",
    "maximum",
    "exclusiveMaximum",
    "maxContains",
)
LOWER_BOUNDS = (
    "minLength",
    "minItems",
    "minProperties",
    "minimum",
    "exclusiveMinimum",
    "minContains",
)


def kebab(keyword: str) -> str:
    """``maxLength`` -> ``max-length``."""
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in keyword)


for _key in UPPER_BOUNDS:
    _KINDS[f"{kebab(_key)}-decreased"] = (ERR, INFO, f"{_key} decreased or added", "10 -> 5")
    _KINDS[f"{kebab(_key)}-increased"] = (INFO, ERR, f"{_key} increased or removed", "5 -> 10")
for _key in LOWER_BOUNDS:
    _KINDS[f"{kebab(_key)}-increased"] = (ERR, INFO, f"{_key} increased or added", "1 -> 5")
    _KINDS[f"{kebab(_key)}-decreased"] = (INFO, ERR, f"{_key} decreased or removed", "5 -> 1")

SCHEMA_KINDS: tuple[str, ...] = tuple(_KINDS)

# ``format`` is an annotation in JSON Schema 2020-12, but typed servers enforce it (pydantic rejects
# a date where a date-time is declared, and a non-email for EmailStr) and clients parse by it (a
# date parser fails on a date-time): adding or changing one is judged like any other constraint.

#: Where a location's level differs from its side's: a parameter's default is what the server does
#: when a client omits the parameter (a filter, a page size), so changing it silently changes the
#: answer to requests that did not change; a body property's default usually only seeds new
#: resources, so it stays a warning there.
_LOCATION_LEVELS: dict[tuple[str, str], Severity] = {
    (f"request-parameter-{where}", "default-changed"): ERR
    for where in ("path", "query", "header", "cookie")
}

_WHY = {
    ("request", ERR): "clients sending what used to be valid are rejected",
    ("request", WARN): "clients sending what used to be valid may be affected",
    ("request", INFO): "every request that was valid still is",
    ("response", ERR): "clients validating or parsing the old shape break",
    ("response", WARN): "clients relying on the old shape may break",
    ("response", INFO): "every response is still what clients expected",
}

_WHERE = {
    "request-body": "request body",
    "request-parameter-path": "path parameter",
    "request-parameter-query": "query parameter",
    "request-parameter-header": "request header parameter",
    "request-parameter-cookie": "cookie parameter",
    "response-body": "response body",
    "response-header": "response header",
    "webhook-request-body": "webhook payload",
}

# id: (level, summary, example)
_OPERATION_RULES: dict[str, tuple[Severity, str, str]] = {
    "operation-added": (INFO, "an operation was added", "POST /tasks added"),
    "operation-removed": (
        ERR,
        "an operation that was not deprecated was removed",
        "DELETE /t/{id}",
    ),
    "operation-removed-before-sunset": (
        ERR,
        "a deprecated operation was removed before its x-sunset date (or before the minimum "
        "deprecation period, when it has none)",
        "deprecated, x-sunset 2099-01-01, removed",
    ),
    "operation-removed-deprecated": (
        INFO,
        "a deprecated operation was removed after its x-sunset date (allowed)",
        "deprecated, x-sunset 2020-01-01, removed",
    ),
    "operation-deprecated": (INFO, "an operation was deprecated", "deprecated: false -> true"),
    "operation-sunset-too-early": (
        ERR,
        "an operation was deprecated with no x-sunset, or one sooner than the minimum "
        "deprecation period",
        "deprecated with x-sunset in 10 days, minimum 90",
    ),
    "operation-reactivated": (INFO, "an operation is no longer deprecated", "deprecated -> not"),
    "operation-sunset-moved-earlier": (
        ERR,
        "a deprecated operation's x-sunset date moved earlier than announced",
        "x-sunset 2027-06-01 -> 2027-01-01",
    ),
    "operation-id-added": (INFO, "an operationId was given", "none -> listThings"),
    "operation-id-changed": (
        WARN,
        "the operationId changed: nothing changes on the wire, "
        "but generated clients rename the method",
        "listThings -> getThings",
    ),
    "operation-id-removed": (WARN, "the operationId was dropped (generated clients)", "-> none"),
    "request-body-added": (INFO, "an optional request body was added", "none -> optional body"),
    "request-body-required-added": (ERR, "a required request body was added", "none -> body*"),
    "request-body-removed": (
        ERR,
        "the request body was removed: what clients send is silently dropped",
        "body -> none",
    ),
    "request-body-became-required": (ERR, "the request body became required", "body -> body*"),
    "request-body-became-optional": (INFO, "the request body became optional", "body* -> body"),
    "request-body-media-type-added": (INFO, "a request media type was added", "+ text/csv"),
    "request-body-media-type-removed": (ERR, "a request media type was removed", "- text/csv"),
    "response-success-status-added": (INFO, "a 2xx status was added", "+ 202"),
    "response-success-status-removed": (ERR, "a 2xx status was removed", "- 200"),
    "response-non-success-status-added": (INFO, "a non-2xx status was added", "+ 409"),
    "response-non-success-status-removed": (
        INFO,
        "a non-2xx status is no longer documented (clients handle unknown errors anyway)",
        "- 409",
    ),
    "response-media-type-added": (INFO, "a response media type may now be returned", "+ text/csv"),
    "response-media-type-removed": (ERR, "a response media type is no longer returned", "- csv"),
    "response-header-added": (INFO, "a response header was added", "+ X-Rate-Limit"),
    "response-header-removed": (WARN, "an optional response header was removed", "- X-Trace"),
    "response-required-header-removed": (ERR, "a required response header was removed", "- ETag"),
    "response-header-became-optional": (ERR, "a response header became optional", "ETag* -> ETag"),
    "response-header-became-required": (INFO, "a response header became required", "ETag -> *"),
    "response-link-added": (INFO, "a response link was added", "+ links.GetUser"),
    "response-link-removed": (WARN, "a response link was removed", "- links.GetUser"),
    "security-added": (
        INFO,
        "the operation now requires authentication (clients already holding credentials)",
        "security [] -> [{bearer: []}]",
    ),
    "security-removed": (INFO, "the operation no longer requires authentication", "-> []"),
    "webhook-added": (INFO, "a webhook was added", "webhooks.taskDone added"),
    "webhook-removed": (WARN, "a webhook is no longer sent", "webhooks.taskDone removed"),
}

for _where in ("path", "query", "header", "cookie"):
    _OPERATION_RULES[f"request-parameter-{_where}-serialization-changed"] = (
        ERR,
        f"a {_where} parameter's style or explode changed: clients serialise it the old way",
        "style form, explode true -> explode false",
    )
for _where in ("query", "header", "cookie"):
    _p = f"request-parameter-{_where}"
    _OPERATION_RULES.update(
        {
            f"{_p}-added": (INFO, f"an optional {_where} parameter was added", "+ ?page"),
            f"{_p}-required-added": (ERR, f"a required {_where} parameter was added", "+ ?page*"),
            f"{_p}-removed": (WARN, f"a {_where} parameter was removed (clients send it)", "- ?q"),
            f"{_p}-became-required": (ERR, f"a {_where} parameter became required", "?q -> ?q*"),
            f"{_p}-became-optional": (INFO, f"a {_where} parameter became optional", "?q* -> ?q"),
        }
    )


def _build() -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for location, direction in SCHEMA_LOCATIONS.items():
        for kind, (request_level, response_level, what, example) in _KINDS.items():
            level = request_level if direction == "request" else response_level
            level = _LOCATION_LEVELS.get((location, kind), level)
            if level is None:
                continue
            summary = f"{_WHERE[location]}: {what}; {_WHY[(direction, level)]}"
            rule_id = f"{location}-{kind}"
            rules[rule_id] = Rule(rule_id, level, summary, example)
    for rule_id, (level, summary, example) in _OPERATION_RULES.items():
        rules[rule_id] = Rule(rule_id, level, summary, example)
    return rules


#: Every rule ``contracts diff`` can emit, by id.
RULES: dict[str, Rule] = _build()


def schema_rule(location: str, kind: str) -> Rule:
    """The catalogued rule for a schema change ``kind`` seen at ``location``."""
    return RULES[f"{location}-{kind}"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_rules(fmt: str) -> str:
    """The catalogue as ``text`` (one line each), ``markdown`` (a table) or ``json``."""
    ordered = sorted(RULES.values(), key=lambda r: r.id)
    if fmt == "json":
        return json.dumps([r.to_dict() for r in ordered], indent=2) + "\n"
    if fmt == "markdown":
        lines = ["| rule | level | what it means | example |", "| --- | --- | --- | --- |"]
        lines += [
            f"| `{r.id}` | {r.level.name} | {r.summary} | {_cell(r.example)} |" for r in ordered
        ]
        return "\n".join(lines) + "\n"
    if fmt == "text":
        width = max(len(r.id) for r in ordered)
        return "\n".join(f"{r.id:<{width}}  {r.level.name:<4}  {r.summary}" for r in ordered) + "\n"
    raise ValueError(f"unknown format {fmt!r} (use text, markdown or json)")
