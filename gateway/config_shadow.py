"""Shadow configuration: per-route ``shadow:`` blocks and the process-wide shadow settings.

Declared like the rest of the gateway's schema (:mod:`gateway.config`): frozen, slotted dataclasses
whose ``Annotated`` bounds and validators pydantic applies, so the ``shadow:`` sections are parsed
with the file, from the environment too (``CUTOVER_SHADOW__WORKERS=2``), and a bad value names its
field (``routes.0.shadow.percent: ...``). :func:`parse_route_shadow` and
:func:`parse_shadow_settings` validate a block on its own the way the file is validated (strictly,
no coercion) and raise :class:`ShadowConfigError` whose message starts with the field's dotted
name. The module lives beside :mod:`gateway.config` (which embeds these blocks and imports it)
rather than in the shadow package, whose ``__init__`` imports the gateway config;
:mod:`gateway.shadow.config` keeps the shadow package's names for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import field, replace
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
)
from pydantic.dataclasses import dataclass as section

from contracts.expected import ExpectedDifferences, ExpectedFileError, load_expected
from contracts.jsonpath import PathPattern, PathSyntaxError
from gateway.config_fields import SECTION, Name, describe
from gateway.redact import DEFAULT_HEADERS, DEFAULT_QUERY_PARAMS

#: RFC 9110 §9.2.1 safe methods: the only ones shadowed unless a route lists others explicitly.
SAFE_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})
KNOWN_METHODS: frozenset[str] = SAFE_METHODS | {"POST", "PUT", "PATCH", "DELETE"}
T = TypeVar("T")


class ShadowConfigError(ValueError):
    """A shadow config value is invalid; the message starts with the field's dotted name."""


# --------------------------------------------------------------------------- value checks


def parse_cpus(value: object, available: int | None = None) -> tuple[int, ...]:
    """A CPU set as a list of ids or a cpuset string (``"0,2-3"``), each below ``available``."""
    count = available if available is not None else (os.cpu_count() or 1)
    shape = f'must be CPU ids like [2, 3] or "2-3", got {value!r}'
    ids: list[int] = []
    if isinstance(value, str):
        for part in value.split(","):
            first, _, last = part.strip().partition("-")
            if not first.isdigit() or (last and not last.isdigit()):
                raise ValueError(shape)
            ids.extend(range(int(first), int(last or first) + 1))
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise ValueError(f"CPU ids must be integers >= 0, got {item!r}")
            ids.append(item)
    else:
        raise ValueError(shape)
    if not ids:
        raise ValueError("must name at least one CPU")
    beyond = sorted(i for i in set(ids) if i >= count)
    if beyond:
        raise ValueError(f"this host has CPUs 0-{count - 1}, not {beyond}")
    return tuple(sorted(set(ids)))


def _json_path(path: str) -> str:
    try:
        PathPattern.parse(path)
    except PathSyntaxError as exc:
        raise ValueError(str(exc)) from None
    return path


def _methods(value: frozenset[str]) -> frozenset[str]:
    methods = frozenset(m.upper() for m in value)
    if unknown := sorted(methods - KNOWN_METHODS):
        known = ", ".join(sorted(KNOWN_METHODS))
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {known}")
    return methods


def _expected(value: object) -> ExpectedDifferences:
    """A file written by ``contracts diff --expect-file``, read now (null: no expectations)."""
    if value is None or isinstance(value, ExpectedDifferences):
        return value or ExpectedDifferences()
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a file written by `contracts diff --expect-file`")
    try:
        return load_expected(value.strip())
    except ExpectedFileError as exc:
        raise ValueError(str(exc)) from None


def _not_below_bucket(horizon: float, info: ValidationInfo) -> float:
    if horizon < info.data.get("window_bucket_s", 0):
        raise ValueError("must not be below window_bucket_s")
    return horizon


Percent = Annotated[float, Field(ge=0, le=100)]
Count = Annotated[int, Field(ge=1)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Names = tuple[Name, ...]
JsonPaths = tuple[Annotated[str, Field(min_length=1), AfterValidator(_json_path)], ...]


# --------------------------------------------------------------------------- the schema


@section(frozen=True, slots=True, config=SECTION)
class RouteShadowConfig:
    """How one route is shadowed. The default (``percent=0``) shadows nothing."""

    percent: Percent = 0.0
    """Share of eligible requests shadowed, 0–100."""
    sticky_header: Name | None = None
    """When set, sampling hashes this request header's value (a client stays in or out); else
    random."""
    methods: Annotated[frozenset[str], AfterValidator(_methods)] = SAFE_METHODS
    """Methods shadowed; listing POST/PUT/PATCH/DELETE here is the explicit opt-in."""
    same_backend_percent: Percent = 10.0
    """Share of shadows sent to the backend that served, to measure noise (Diffy's method)."""
    ignore: JsonPaths = ()
    """Normalised JSON paths whose differences are ignored (``$.items[*].updated_at``)."""
    unordered: JsonPaths = ()
    """JSON paths of arrays compared without regard to order."""
    headers: Names = ("content-type",)
    """Response headers compared (lower-case); a difference makes the shadow mismatched."""
    max_body_bytes: Annotated[int, Field(ge=0)] = 65536
    """Largest request body replayed; a request with a larger (or unreplayable) body is not
    shadowed."""
    timeout_s: Seconds = 2.0
    """Strict deadline for one shadow request, connect to last byte."""
    expected_differences: Annotated[ExpectedDifferences, PlainValidator(_expected)] = field(
        default_factory=ExpectedDifferences
    )
    """Documented contract changes (``contracts diff --expect-file``), read at start-up: a shadow
    differing only there is ``expected``, not ``mismatched``."""

    def with_percent(self, percent: object) -> RouteShadowConfig:
        """Return a copy with a new sampling rate (validated like the config value)."""
        return replace(self, percent=_validate(_PERCENT, percent, "percent"))


@section(frozen=True, slots=True, config=SECTION)
class ShadowSettings:
    """Process-wide knobs for the shadow machinery (queues, evidence bounds, noise thresholds)."""

    queue_size: Count = 1024
    workers: Count = 8
    """Shadows in flight at once. Shadow throughput is about workers ÷ backend latency; under
    overload, shadow work gets roughly workers ÷ (workers + busy client connections) of the loop."""
    validation_queue_size: Count = 4096
    queue_max_bytes: Count = 64 << 20
    """Body bytes each queue may hold; past it a new item is dropped like on a full queue."""
    max_queue_age_s: Seconds = 0.5
    """A shadow that waited longer than this for a worker is dropped, not sent: the gateway is
    overloaded (shed shadow work first), and a late shadow compares against changed data."""
    samples_per_field: Count = 5
    max_fields_per_route: Count = 64
    metric_fields_per_route: Count = 20
    sample_body_bytes: Count = 2048
    noise_relative: Share = 0.5
    """A field is real only if its cross-backend rate exceeds the same-backend rate by this
    fraction…"""
    noise_absolute: Share = 0.05
    """…and by this many (fractional) rate points."""
    noise_min_probes: Annotated[int, Field(ge=0)] = 5
    """Same-backend comparisons needed on a route before noise is subtracted at all."""
    window_bucket_s: Seconds = 10.0
    window_horizon_s: Annotated[Seconds, AfterValidator(_not_below_bucket)] = 3600.0
    redact_headers: Names = tuple(sorted(DEFAULT_HEADERS))
    """Headers never shown verbatim in samples (compared case-insensitively)."""
    redact_query_params: Names = tuple(sorted(DEFAULT_QUERY_PARAMS))
    """Query parameters whose values samples mask. Both default to the gateway's ``redact:`` lists
    (:mod:`gateway.redact`): the generic gateway names no API's credential parameters of its own."""
    check_primaries: bool = True
    """Check every primary response against the contract, not only shadowed ones. It makes the
    gateway capture every response body (its callback fast path serves no tapped request)."""
    isolation: Literal["process", "inline"] = "process"
    """``process``: shadows and contract checks run in a sidecar process (``sidecar.py``), off the
    gateway's event loop and CPU; ``inline``: on the gateway's loop (tests, a single-process
    embed)."""
    process_priority: Literal["idle", "low", "normal"] = "low"
    """The sidecar's CPU priority: ``low`` (nice 10: the kernel prefers the gateway and the
    backends, yet a busy host still leaves the shadows a share, so a dark launch gathers evidence),
    ``idle`` (SCHED_IDLE: spare CPU only — on a busy host shadows starve and are shed) or
    ``normal``."""
    process_cpus: Annotated[
        tuple[int, ...] | None, PlainValidator(lambda v: None if v is None else parse_cpus(v))
    ] = None
    """The CPUs the sidecar may run on (``[2, 3]`` or ``"2-3"``); None: the gateway's own. Keep the
    shadow work off the cores that serve clients: on a host where the sidecar shares the gateway's
    core, 100 % shadowing adds its CPU to every client's queueing delay."""
    publish_interval_s: Seconds = 0.5
    """How often the sidecar reports its metrics and outcome counts to the gateway."""
    routes: Mapping[str, RouteShadowConfig] = field(default_factory=dict)


_PERCENT: TypeAdapter[float] = TypeAdapter(Percent)
_ROUTE = TypeAdapter(RouteShadowConfig)
_SETTINGS = TypeAdapter(ShadowSettings)


def _validate(adapter: TypeAdapter[T], data: object, where: str) -> T:
    """``data`` validated as the file is (strictly, JSON's types); errors name ``where.FIELD``."""
    try:
        return adapter.validate_json(json.dumps(data, default=str), strict=True)
    except ValidationError as exc:
        raise ShadowConfigError(describe(exc, where)) from None


def parse_route_shadow(data: Mapping[str, Any] | None, where: str = "shadow") -> RouteShadowConfig:
    """Parse one route's ``shadow:`` mapping; ``None`` or ``{}`` means the defaults (off)."""
    return _validate(_ROUTE, {} if data is None else data, where)


def parse_shadow_settings(data: Mapping[str, Any] | None, where: str = "shadow") -> ShadowSettings:
    """Parse the process-wide ``shadow:`` mapping; ``routes`` maps route name to a route block."""
    return _validate(_SETTINGS, {} if data is None else data, where)
