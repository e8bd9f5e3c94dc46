"""Checks and conversions of single gateway config values: the schema's validators (pure functions).

Each takes a value as written (YAML, or an environment string) and returns it as the data path reads
it, or raises ``ValueError``, which pydantic reports under the field's dotted name. They live apart
from :mod:`gateway.config` so that the schema there reads as a list of fields.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import ConfigDict, StringConstraints, ValidationError, ValidationInfo

#: Most data-plane processes one host runs (``workers``); ``auto`` is capped here too.
MAX_WORKERS = 64
#: The name of the operations past a route's ``max_operations`` (reserved: no pattern may take it).
OTHER_OPERATION = "other"
TEMPLATE_PARAMETER = re.compile(r"\{[^/{}]+\}")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: A name compared case-insensitively (a header, a query parameter): kept lower-case.
Lower = Annotated[str, StringConstraints(to_lower=True)]
#: A name the config adds to a list (redacted, compared, sampled by): non-blank, at most 128.
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=128)
]
#: Every section's config: keys it does not declare are refused (``routs:`` is an error, not a
#: silent default).
SECTION = ConfigDict(extra="forbid")
#: The words a YAML author knows for what the JSON-mode file check and the dataclasses say.
_PLAIN_WORDS = {
    "unexpected_keyword_argument": "Extra inputs are not permitted",
    **dict.fromkeys(("list_type", "tuple_type", "frozen_set_type"), "Input should be a valid list"),
    **dict.fromkeys(("dict_type", "dataclass_type"), "Input should be a valid dictionary"),
}


def describe(exc: ValidationError, where: str = "") -> str:
    """pydantic's errors on one line, ``field: message; field: message``, each field's dotted name
    below ``where`` (``routes.0.weight_bps``; ``routes.tasks.shadow.ignore.0``)."""
    problems = []
    for err in exc.errors():
        loc = ".".join([where, *map(str, err["loc"])] if where else map(str, err["loc"]))
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(f"{loc or '(top level)'}: {_PLAIN_WORDS.get(err['type'], message)}")
    return "; ".join(problems)


def http_url(value: str) -> str:
    """An upstream URL: ``http://host[:port]`` with no path or query."""
    parts = urlsplit(value)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError("must be an http:// URL with a host (TLS upstreams are not supported)")
    if parts.path not in ("", "/") or parts.query:
        raise ValueError("must not carry a path or query: requests keep their own path")
    try:
        parts.port  # noqa: B018 - urlsplit checks the range only when asked
    except ValueError:
        raise ValueError(f"{value!r}: the port must be a number within 0..65535") from None
    return value


def http_methods(value: Iterable[str]) -> list[str]:
    """HTTP method names upper-cased; ``ValueError`` for one that is not letters only.

    The one rule for a route's ``methods`` and a fault's (:mod:`gateway.faults`).
    """
    upper = [m.upper() for m in value]
    for method in upper:
        if not method.isalpha():
            raise ValueError(f"{method!r} is not an HTTP method")
    return upper


def route_patterns(value: tuple[str, ...]) -> tuple[str, ...]:
    """Path patterns start with ``/`` (or are ``*``)."""
    for pattern in value:
        if not (pattern.startswith("/") or pattern == "*"):
            raise ValueError(f"pattern {pattern!r} must start with '/' (or be '*')")
    return value


def fallback_after(value: object, info: ValidationInfo) -> float | None:
    """``auto`` (None: the controller's published value) or seconds within (0, 3600].

    A plain validator rather than a ``float | Literal["auto"]`` union, whose errors would name each
    member; an environment value (python mode) may be a numeric string, the file's (json) may not.
    """
    if value == "auto" or value is None:
        return None
    if isinstance(value, str) and info.mode == "python":
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 3600:
        raise ValueError("must be 'auto' or a number of seconds within (0, 3600]")
    return float(value)


def networks(value: object) -> tuple[Network, ...]:
    """``trusted_cidrs``: CIDR strings into networks (host bits allowed)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError(f"must be a list of CIDRs, got {value!r}")
    found = []
    for cidr in value:
        try:
            found.append(ipaddress.ip_network(cidr, strict=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{cidr!r} is not a CIDR: {exc}") from None
    return tuple(found)


def operation_entry(value: object) -> tuple[str, str, str]:
    """One ``operations`` entry: ``"METHOD /path"`` (named by itself) or ``{name, method, path}``.

    A plain validator rather than a ``str | model`` union: pydantic would report a bad entry once
    per member of the union, and the message must name the entry (``routes.0.operations.2``).
    Returns ``(name, method, path)``, the method upper-cased.
    """
    expected = "'METHOD /path' or a mapping with name, method and path"
    if isinstance(value, str):
        parts = value.split()
        if len(parts) != 2:
            raise ValueError(f"{value!r}: expected {expected}")
        name, (method, path) = value.strip(), parts
    elif isinstance(value, Mapping):
        unknown = sorted(str(key) for key in value if key not in ("name", "method", "path"))
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (expected name, method and path)")
        for key in ("name", "method", "path"):
            if key not in value:
                raise ValueError(f"missing {key} (expected name, method and path)")
            if not isinstance(value[key], str):
                raise ValueError(f"{key}: expected a string, got {value[key]!r}")
        name, method, path = value["name"].strip(), value["method"], value["path"]
    else:
        raise ValueError(f"expected {expected}, got {value!r}")
    if not method.isalpha():
        raise ValueError(f"{method!r} is not an HTTP method")
    if not path.startswith("/") or any(c in path for c in "?# \t"):
        raise ValueError(f"path {path!r} must start with '/' and hold no query, fragment or space")
    rest = TEMPLATE_PARAMETER.sub("", path)
    if "{" in rest or "}" in rest:
        raise ValueError(f"path {path!r}: each '{{' must open a '{{param}}' within one segment")
    if not 0 < len(name) <= 128:
        raise ValueError(f"name {name!r} must be 1..128 characters")
    if name == OTHER_OPERATION:
        raise ValueError(f"name {name!r} is reserved for the operations past max_operations")
    return name, method.upper(), path


def workers(value: object, info: ValidationInfo | None) -> int:
    """``workers``: a whole number within 1..64, or ``auto``: the CPUs this process may run on.

    Those are ``os.sched_getaffinity`` (a container's cpuset or ``taskset`` counts, not the host's
    cores), capped at :data:`MAX_WORKERS`. One message for every bad value instead of an
    ``int | Literal`` union's two; a quoted number counts from the environment (pydantic's python
    mode) and the command line (no ``info``), not in the file (JSON mode).
    """
    text = value.strip() if isinstance(value, str) else None
    if text == "auto":
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux: no affinity call
            cpus = os.cpu_count() or 1
        return max(1, min(cpus, MAX_WORKERS))
    if text is not None and text.isdigit() and (info is None or info.mode == "python"):
        value = int(text)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(
            f"expected a number of processes within 1..{MAX_WORKERS} or 'auto', got {value!r}"
        )
    if not 1 <= value <= MAX_WORKERS:
        raise ValueError(f"must be within 1..{MAX_WORKERS} (or 'auto'), got {value}")
    return value
