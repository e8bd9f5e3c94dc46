"""Shadow configuration: per-route ``shadow:`` blocks and the process-wide shadow settings.

Parsed once at start-up from plain dicts (the gateway config embeds a ``shadow:`` mapping under each
route) into frozen dataclasses. A bad value raises :class:`ShadowConfigError` whose message starts
with the dotted name of the field, so start-up can stop with ``routes.tasks.shadow.percent: ...``.

Each field is declared once: its default and its parser (``(value, where) -> value``) sit on the
dataclass field (:func:`_parsed`), and :func:`_parse` reads both from there, so a new knob is one
line. These parsers rather than pydantic: the shadow blocks were written first, and their messages
(``ignore[0]: ...``, ``must be one of process, inline``) are what operators and tests know. The
module lives beside :mod:`gateway.config` (which embeds these blocks and imports it) rather than in
the shadow package, whose ``__init__`` imports the gateway config; :mod:`gateway.shadow.config`
keeps the shadow package's names for it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, TypeVar

from contracts.expected import ExpectedDifferences, ExpectedFileError, load_expected
from contracts.jsonpath import PathPattern, PathSyntaxError
from gateway.redact import DEFAULT_QUERY_PARAMS

#: RFC 9110 §9.2.1 safe methods: the only ones shadowed unless a route lists others explicitly.
SAFE_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})
KNOWN_METHODS: frozenset[str] = SAFE_METHODS | {"POST", "PUT", "PATCH", "DELETE"}
#: Headers never shown verbatim in samples (compared case-insensitively).
DEFAULT_REDACT_HEADERS: tuple[str, ...] = (
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
)
T = TypeVar("T")
Parser = Callable[[Any, str], Any]


class ShadowConfigError(ValueError):
    """A shadow config value is invalid; the message starts with the field's dotted name."""


# --------------------------------------------------------------------------- value parsers


def _percent(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShadowConfigError(f"{where}: must be a number between 0 and 100, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 100.0:
        raise ShadowConfigError(f"{where}: must be between 0 and 100, got {value!r}")
    return number


def _count(value: Any, where: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ShadowConfigError(f"{where}: must be an integer >= {minimum}, got {value!r}")
    return value


def _number(value: Any, where: str, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ShadowConfigError(f"{where}: must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ShadowConfigError(f"{where}: must be {bound}, got {value!r}")
    return float(value)


def _choice(value: Any, where: str, choices: tuple[str, ...] = ()) -> str:
    if value not in choices:
        raise ShadowConfigError(f"{where}: must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ShadowConfigError(f"{where}: must be true or false")
    return value


def parse_cpus(value: Any, where: str, available: int | None = None) -> tuple[int, ...]:
    """A CPU set as a list of ids or a cpuset string (``"0,2-3"``), each below ``available``."""
    count = available if available is not None else (os.cpu_count() or 1)
    ids: list[int] = []
    if isinstance(value, str):
        for part in value.split(","):
            first, _, last = part.strip().partition("-")
            if not first.isdigit() or (last and not last.isdigit()):
                raise ShadowConfigError(
                    f'{where}: must be CPU ids like [2, 3] or "2-3", got {value!r}'
                )
            ids.extend(range(int(first), int(last or first) + 1))
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise ShadowConfigError(f"{where}: CPU ids must be integers >= 0, got {item!r}")
            ids.append(item)
    else:
        raise ShadowConfigError(f'{where}: must be CPU ids like [2, 3] or "2-3", got {value!r}')
    if not ids:
        raise ShadowConfigError(f"{where}: must name at least one CPU")
    beyond = sorted(i for i in set(ids) if i >= count)
    if beyond:
        raise ShadowConfigError(f"{where}: this host has CPUs 0-{count - 1}, not {beyond}")
    return tuple(sorted(set(ids)))


def _cpus(value: Any, where: str) -> tuple[int, ...] | None:
    return None if value is None else parse_cpus(value, where)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ShadowConfigError(f"{where}: must be a list of strings, got {value!r}")
    items = tuple(value)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise ShadowConfigError(f"{where}[{i}]: must be a non-empty string, got {item!r}")
    return items


def _lower_strings(value: Any, where: str) -> tuple[str, ...]:
    return tuple(s.lower() for s in _strings(value, where))


def _json_paths(value: Any, where: str) -> tuple[str, ...]:
    paths = _strings(value, where)
    for i, path in enumerate(paths):
        try:
            PathPattern.parse(path)
        except PathSyntaxError as exc:
            raise ShadowConfigError(f"{where}[{i}]: {exc}") from None
    return paths


def _methods(value: Any, where: str) -> frozenset[str]:
    methods = frozenset(m.upper() for m in _strings(value, where))
    unknown = sorted(methods - KNOWN_METHODS)
    if unknown:
        raise ShadowConfigError(
            f"{where}: unknown method(s) {', '.join(unknown)};"
            f" choose from {', '.join(sorted(KNOWN_METHODS))}"
        )
    return methods


def _expected(value: Any, where: str) -> ExpectedDifferences:
    if value is None:
        return ExpectedDifferences()
    if not isinstance(value, str) or not value.strip():
        raise ShadowConfigError(
            f"{where}: must be a file written by `contracts diff --expect-file`"
        )
    try:
        return load_expected(value.strip())
    except ExpectedFileError as exc:
        raise ShadowConfigError(f"{where}: {exc}") from None


def _header_name(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ShadowConfigError(f"{where}: must be a header name, got {value!r}")
    return value.strip().lower()


def _route_blocks(value: Any, where: str) -> dict[str, RouteShadowConfig]:
    if not isinstance(value or {}, Mapping):
        raise ShadowConfigError(f"{where}: must be a mapping of route name to shadow block")
    return {
        str(name): parse_route_shadow(block, f"{where}.{name}")
        for name, block in (value or {}).items()
    }


def _parsed(parse: Parser, default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    """A field whose file value ``parse(value, where)`` checks and converts (see :func:`_parse`)."""
    return field(default=default, metadata={"parse": parse}, **kwargs)


def _parse(cls: type[T], data: Mapping[str, Any] | None, where: str) -> T:
    """``cls`` from a mapping: each key through its field's parser; unknown keys are errors."""
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        raise ShadowConfigError(f"{where}: must be a mapping, got {type(data).__name__}")
    parsers = {f.name: f.metadata["parse"] for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    extra = sorted(set(data) - set(parsers))
    if extra:
        raise ShadowConfigError(
            f"{where}.{extra[0]}: unknown field; allowed: {', '.join(sorted(parsers))}"
        )
    return cls(**{key: parsers[key](value, f"{where}.{key}") for key, value in data.items()})


# --------------------------------------------------------------------------- the schema


@dataclass(frozen=True, slots=True)
class RouteShadowConfig:
    """How one route is shadowed. The default (``percent=0``) shadows nothing."""

    percent: float = _parsed(_percent, 0.0)
    """Share of eligible requests shadowed, 0–100."""
    sticky_header: str | None = _parsed(_header_name, None)
    """When set, sampling hashes this request header's value (a client stays in or out); else
    random."""
    methods: frozenset[str] = _parsed(_methods, SAFE_METHODS)
    """Methods shadowed; listing POST/PUT/PATCH/DELETE here is the explicit opt-in."""
    same_backend_percent: float = _parsed(_percent, 10.0)
    """Share of shadows sent to the backend that served, to measure noise (Diffy's method)."""
    ignore: tuple[str, ...] = _parsed(_json_paths, ())
    """Normalised JSON paths whose differences are ignored (``$.items[*].updated_at``)."""
    unordered: tuple[str, ...] = _parsed(_json_paths, ())
    """JSON paths of arrays compared without regard to order."""
    headers: tuple[str, ...] = _parsed(_lower_strings, ("content-type",))
    """Response headers compared (lower-case); a difference makes the shadow mismatched."""
    max_body_bytes: int = _parsed(partial(_count, minimum=0), 65536)
    """Largest request body replayed; a request with a larger (or unreplayable) body is not
    shadowed."""
    timeout_s: float = _parsed(_number, 2.0)
    """Strict deadline for one shadow request, connect to last byte."""
    expected_differences: ExpectedDifferences = field(
        default_factory=ExpectedDifferences, metadata={"parse": _expected}
    )
    """Documented contract changes (``contracts diff --expect-file``), read at start-up: a shadow
    differing only there is ``expected``, not ``mismatched``."""

    def with_percent(self, percent: float) -> RouteShadowConfig:
        """Return a copy with a new sampling rate (validated like the config value)."""
        return replace(self, percent=_percent(percent, "percent"))


@dataclass(frozen=True, slots=True)
class ShadowSettings:
    """Process-wide knobs for the shadow machinery (queues, evidence bounds, noise thresholds)."""

    queue_size: int = _parsed(_count, 1024)
    workers: int = _parsed(_count, 8)
    """Shadows in flight at once. Shadow throughput is about workers ÷ backend latency; under
    overload, shadow work gets roughly workers ÷ (workers + busy client connections) of the loop."""
    validation_queue_size: int = _parsed(_count, 4096)
    queue_max_bytes: int = _parsed(_count, 64 << 20)
    """Body bytes each queue may hold; past it a new item is dropped like on a full queue."""
    max_queue_age_s: float = _parsed(_number, 0.5)
    """A shadow that waited longer than this for a worker is dropped, not sent: the gateway is
    overloaded (shed shadow work first), and a late shadow compares against changed data."""
    samples_per_field: int = _parsed(_count, 5)
    max_fields_per_route: int = _parsed(_count, 64)
    metric_fields_per_route: int = _parsed(_count, 20)
    sample_body_bytes: int = _parsed(_count, 2048)
    noise_relative: float = _parsed(partial(_number, allow_zero=True), 0.5)
    """A field is real only if its cross-backend rate exceeds the same-backend rate by this
    fraction…"""
    noise_absolute: float = _parsed(partial(_number, allow_zero=True), 0.05)
    """…and by this many (fractional) rate points."""
    noise_min_probes: int = _parsed(partial(_count, minimum=0), 5)
    """Same-backend comparisons needed on a route before noise is subtracted at all."""
    window_bucket_s: float = _parsed(_number, 10.0)
    window_horizon_s: float = _parsed(_number, 3600.0)
    redact_headers: tuple[str, ...] = _parsed(_lower_strings, DEFAULT_REDACT_HEADERS)
    redact_query_params: tuple[str, ...] = _parsed(
        _lower_strings, tuple(sorted(DEFAULT_QUERY_PARAMS))
    )
    """Query parameters whose values samples mask (the gateway's ``redact.query_params`` list by
    default: the generic gateway names no API's credential parameters of its own)."""
    check_primaries: bool = _parsed(_flag, True)
    """Check every primary response against the contract, not only shadowed ones. It makes the
    gateway capture every response body (its callback fast path serves no tapped request)."""
    isolation: str = _parsed(partial(_choice, choices=("process", "inline")), "process")
    """``process``: shadows and contract checks run in a sidecar process (``sidecar.py``), off the
    gateway's event loop and CPU; ``inline``: on the gateway's loop (tests, a single-process
    embed)."""
    process_priority: str = _parsed(partial(_choice, choices=("idle", "low", "normal")), "low")
    """The sidecar's CPU priority: ``low`` (nice 10: the kernel prefers the gateway and the
    backends, yet a busy host still leaves the shadows a share, so a dark launch gathers evidence),
    ``idle`` (SCHED_IDLE: spare CPU only — on a busy host shadows starve and are shed) or
    ``normal``."""
    process_cpus: tuple[int, ...] | None = _parsed(_cpus, None)
    """The CPUs the sidecar may run on (``[2, 3]`` or ``"2-3"``); None: the gateway's own. Keep the
    shadow work off the cores that serve clients: on a host where the sidecar shares the gateway's
    core, 100 % shadowing adds its CPU to every client's queueing delay."""
    publish_interval_s: float = _parsed(_number, 0.5)
    """How often the sidecar reports its metrics and outcome counts to the gateway."""
    routes: Mapping[str, RouteShadowConfig] = _parsed(_route_blocks, default_factory=dict)


def parse_route_shadow(data: Mapping[str, Any] | None, where: str = "shadow") -> RouteShadowConfig:
    """Parse one route's ``shadow:`` mapping; ``None`` or ``{}`` means the defaults (off)."""
    return _parse(RouteShadowConfig, data, where)


def parse_shadow_settings(data: Mapping[str, Any] | None, where: str = "shadow") -> ShadowSettings:
    """Parse the process-wide ``shadow:`` mapping; ``routes`` maps route name to a route block."""
    settings = _parse(ShadowSettings, data, where)
    if settings.window_bucket_s > settings.window_horizon_s:
        raise ShadowConfigError(f"{where}.window_bucket_s: must not exceed window_horizon_s")
    return settings
