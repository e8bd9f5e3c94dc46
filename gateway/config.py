"""Gateway configuration: one YAML file plus ``CUTOVER_*`` environment overrides, parsed once.

Each field is declared once, on the frozen, slotted dataclass the data path reads (plain slot reads,
also from the mypyc-compiled modules): pydantic validates the file against those dataclasses, their
``Annotated`` bounds and validators (:mod:`gateway.config_fields`) converting what the file writes
into what the data path wants; derived values are ``init=False`` fields set in ``__post_init__``.
The sections are pydantic dataclasses rather than plain ones so that pydantic-settings sees their
fields (a list or section below the top level may be given as JSON in the environment) and so that
a section built in code is checked like one read from the file; their validators therefore accept
their own output. :class:`GatewayConfig` stays a plain dataclass: its ``__post_init__`` checks
across sections raise :class:`ConfigError` as they are, wherever the values came from.
Environment variables win over the file (nested fields use ``__``, e.g.
``CUTOVER_UPSTREAMS__CANDIDATE__URL``, ``CUTOVER_LISTENERS__PUBLIC__PORT``; list fields such as
``routes`` take JSON). Any problem raises :class:`ConfigError` whose message names the field
(``routes.0.weight_bps: ...``); ``cutover gateway`` turns it into exit code 2.

Decisions where the issue left a choice:

* Weights are **basis points** (``weight_bps``, 0..10000) in the file and in the data path; the
  admin API and CLI take percent (a float) and convert.
* Path patterns: ``*`` matches any run of characters, ``/`` included; a pattern without ``*`` must
  match the path exactly. ``/api/v1/tasks*`` therefore covers ``/api/v1/tasks``, ``/api/v1/tasks/7``
  and ``/api/v1/tasks?x`` (the query is not part of the path). Routes are tried in file order and
  the first whose pattern and method match wins; put the catch-all (``/*``) last. No match is a 404.
* Sticky key: the first present header of ``sticky.headers`` (case-insensitive), else the cookie
  ``sticky.cookie``, else the client address when ``sticky.client_address`` is true; with no key the
  choice is a fresh random draw per request.
* ``pool_size`` is the number of idle keep-alive connections kept per upstream; active connections
  are not capped (cap concurrency at the listener or load balancer in front).
* Only ``http://`` upstreams: the gateway's own HTTP/1.1 client does not speak TLS.
* ``operations`` (per route): how requests are named for the per-operation windows (issue #14),
  tried before the contract's OpenAPI operations (:mod:`migration.operations`); each entry is
  ``"METHOD /path/{param}"`` or ``{name, method, path}`` (:func:`~.config_fields.operation_entry`).
  ``max_operations`` (1..256, default 16) bounds the names one route reports: the first names
  seen keep theirs, later new ones are counted as ``other``.
* ``workers``: data-plane processes on this host (``cutover gateway --workers``), a whole number
  within 1..64 or ``auto`` (:func:`~.config_fields.workers`). Resolved here, so
  :attr:`GatewayConfig.workers` is always a number.

Sections owned by other parts live in the same file so an operator edits one document: each route's
``shadow:`` block and the top-level ``shadow:`` settings are sections like the rest, declared in
:mod:`gateway.config_shadow` (errors name ``routes.N.shadow.FIELD``); ``recording:`` configures the
traffic recorder that ``cutover contracts replay`` reads; ``migration:`` is kept as a plain mapping
and validated by :mod:`migration.runtime` when the controller starts (the gateway makes no rollout
decisions, so it does not interpret it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    create_model,
)
from pydantic.dataclasses import dataclass as section
from pydantic_settings import SettingsError

from gateway import config_fields as check
from gateway.config_env import EnvironmentFirst, check_environment, undecodable
from gateway.config_fields import MAX_WORKERS as MAX_WORKERS  # re-exported: public names here
from gateway.config_fields import OTHER_OPERATION as OTHER_OPERATION
from gateway.config_fields import SECTION, Lower, Name, Network, describe
from gateway.config_fields import http_methods as http_methods  # gateway.faults uses it too
from gateway.config_shadow import RouteShadowConfig, ShadowSettings
from gateway.redact import DEFAULT_HEADERS as DEFAULT_REDACT_HEADERS
from gateway.redact import DEFAULT_QUERY_PARAMS as DEFAULT_REDACT_QUERY_PARAMS
from gateway.redact import redact_target

BACKENDS: tuple[str, str] = ("baseline", "candidate")
IDEMPOTENT_METHODS: frozenset[Literal["GET", "HEAD", "OPTIONS"]] = frozenset(
    {"GET", "HEAD", "OPTIONS"}
)


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the offending field."""


#: Upper bounds of the upstream timeouts: a typo (or ``1e308``) must not become "wait forever".
MAX_CONNECT_TIMEOUT_S = 300.0
MAX_TIMEOUT_S = 86_400.0
#: ``CUTOVER_*`` variables read by the operator CLI rather than by this configuration; they may be
#: set where the gateway runs without being an error (``CUTOVER_ADMIN_TOKEN`` is both).
#: (``CUTOVER_REPLICA``: a cluster member's name.)
CLI_ENV_VARS = frozenset({"CUTOVER_ADMIN_URL", "CUTOVER_ADMIN_TOKEN", "CUTOVER_REPLICA"})
#: Operation names one route reports by default, and at most (``max_operations``).
DEFAULT_MAX_OPERATIONS = 16
MAX_OPERATIONS = 256

# --------------------------------------------------------------------------- the schema


@section(frozen=True, slots=True, config=SECTION)
class UpstreamConfig:
    """One upstream (baseline or candidate) and how the gateway talks to it."""

    url: Annotated[str, AfterValidator(check.http_url)]
    connect_timeout_s: Annotated[float, Field(gt=0, le=MAX_CONNECT_TIMEOUT_S)] = 2.0
    read_timeout_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)] = 30.0
    total_timeout_s: Annotated[float | None, Field(gt=0, le=MAX_TIMEOUT_S)] = 300.0
    pool_size: Annotated[int, Field(ge=0, le=10_000)] = 64
    #: From ``url``: where the pool connects.
    host: str = field(init=False)
    port: int = field(init=False)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        object.__setattr__(self, "host", parts.hostname or "")
        object.__setattr__(self, "port", parts.port or 80)

    @property
    def authority(self) -> str:
        """``host:port`` as sent in the upstream ``Host`` header."""
        return f"{self.host}:{self.port}"


@section(frozen=True, slots=True, config=SECTION)
class Upstreams:
    """The two backends the gateway splits traffic between."""

    baseline: UpstreamConfig = UpstreamConfig("http://127.0.0.1:8001")
    candidate: UpstreamConfig = UpstreamConfig("http://127.0.0.1:8002")


@section(frozen=True, slots=True, config=SECTION)
class StickyConfig:
    """Where the sticky key of a request comes from, in priority order."""

    headers: tuple[Lower, ...] = ("x-api-key", "authorization")
    cookie: str | None = None
    client_address: bool = True
    #: ``headers`` as the data path looks them up: lower-case bytes.
    header_keys: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = tuple(h.lower().encode("latin-1") for h in self.headers)
        object.__setattr__(self, "header_keys", keys)


@dataclass(frozen=True, slots=True)
class OperationPattern:
    """One entry of a route's ``operations``: requests ``method path`` are operation ``name``.

    ``method`` is upper-case; ``path`` is a template whose ``{param}`` matches one non-empty
    segment.
    """

    name: str
    method: str
    path: str


def _off(value: object) -> object:
    """YAML 1.1 reads an unquoted ``off`` as the boolean false: take it as written."""
    return "off" if value is False else value


def _none_if_empty(value: str | None) -> str | None:
    """An empty token (``CUTOVER_ADMIN_TOKEN=``) means no token."""
    return value or None


def _operation(value: object) -> OperationPattern:
    if isinstance(value, OperationPattern):  # a section built in code is validated too
        return value
    return OperationPattern(*check.operation_entry(value))


@section(frozen=True, slots=True, config=SECTION)
class RouteConfig:
    """A named group of path patterns with its own candidate weight."""

    name: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
    paths: Annotated[tuple[str, ...], Field(min_length=1), AfterValidator(check.route_patterns)]
    methods: Annotated[
        frozenset[str], AfterValidator(lambda names: frozenset(http_methods(names)))
    ] = frozenset()  # all
    weight_bps: Annotated[int, Field(ge=0, le=10_000)] = 0
    sticky: StickyConfig = StickyConfig()
    #: Methods retried on the other backend: the idempotent ones plus those the file adds (only the
    #: non-idempotent PUT and DELETE may be; the idempotent ones are in anyway).
    fallback_methods: Annotated[
        frozenset[Literal["PUT", "DELETE", "GET", "HEAD", "OPTIONS"]],
        AfterValidator(IDEMPOTENT_METHODS.union),
    ] = IDEMPOTENT_METHODS
    #: None: ``shadow.routes.NAME``, else the shadow defaults (rate 0).
    shadow: RouteShadowConfig | None = None
    #: ``both``: a failed candidate attempt is retried on the baseline and a baseline connect
    #: error/timeout/reset on the candidate; ``to_baseline``: only the former; ``off``: neither.
    fallback: Annotated[Literal["both", "to_baseline", "off"], BeforeValidator(_off)] = "both"
    #: Seconds a candidate attempt that may fall back waits for its response head; None = ``auto``
    #: (the value the controller publishes: :meth:`gateway.state.GatewayState.set_fallback_after`).
    fallback_after_s: Annotated[float | None, PlainValidator(check.fallback_after)] = None
    #: Lowest deadline an ``auto`` value may take.
    fallback_after_floor_s: Annotated[float, Field(gt=0, le=3600)] = 1.0
    #: The route's own operation patterns, tried before the contract's (:mod:`migration.operations`)
    operations: Annotated[
        tuple[Annotated[OperationPattern, PlainValidator(_operation)], ...],
        Field(max_length=1024),
    ] = ()
    #: Distinct operation names the route reports; later new ones are ``other``.
    max_operations: Annotated[int, Field(ge=1, le=MAX_OPERATIONS)] = DEFAULT_MAX_OPERATIONS


def _unique_names(routes: tuple[RouteConfig, ...]) -> tuple[RouteConfig, ...]:
    seen: set[str] = set()
    for route in routes:
        if route.name in seen:
            raise ValueError(f"route name {route.name!r} is used twice")
        seen.add(route.name)
    return routes


@section(frozen=True, slots=True, config=SECTION)
class ListenerConfig:
    """A TCP address to listen on."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080


@section(frozen=True, slots=True, config=SECTION)
class Listeners:
    """The client-facing listener and the operator's admin API."""

    public: ListenerConfig = ListenerConfig(port=8080)
    admin: ListenerConfig = ListenerConfig(port=8081)


@section(frozen=True, slots=True, config=SECTION | ConfigDict(validate_by_name=True))
class OverrideConfig:
    """Who may force a backend with ``X-Cutover-Backend``."""

    token: Annotated[str | None, AfterValidator(_none_if_empty)] = None
    token_header: Lower = "x-cutover-override-token"
    #: ``trusted_cidrs`` in the file; code passes the field's own name (``validate_by_name``).
    trusted_networks: Annotated[
        tuple[Network, ...], PlainValidator(check.networks), Field(alias="trusted_cidrs")
    ] = ()


@section(frozen=True, slots=True, config=SECTION)
class LimitsConfig:
    """Size limits that keep the gateway's memory bounded."""

    max_request_body_bytes: Annotated[int, Field(ge=0)] = 1 << 30
    replay_buffer_bytes: Annotated[int, Field(ge=0, le=16 << 20)] = 64 * 1024
    tap_body_limit_bytes: Annotated[int, Field(ge=0, le=64 << 20)] = 1 << 20
    #: Slow clients (issue #12; see :mod:`gateway.http`): the whole request head, from its first
    #: byte (from the accept for a connection's first request) → 408 and close.
    header_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    #: The longest silence while a request body is being read → 408 (if unanswered) and close.
    body_idle_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 10.0
    #: Apache mod_reqtimeout ``MinRate``: after ``body_grace_s`` the body must average this rate
    #: (0 turns the check off).
    body_min_rate_bytes_s: Annotated[float, Field(ge=0, le=1 << 30)] = 500.0
    body_grace_s: Annotated[float, Field(ge=0, le=3600)] = 10.0
    #: Open client connections on the public listener; beyond it a new one is answered 503 and
    #: closed. None: half the process's open-file limit (the rest is left for upstream sockets).
    max_connections: Annotated[int | None, Field(ge=1, le=1_000_000)] = None


@section(frozen=True, slots=True, config=SECTION)
class RecordingConfig:
    """Where and how much traffic the recorder keeps for ``cutover contracts replay``."""

    path: Annotated[str, Field(min_length=1)]
    sample_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01
    max_body_bytes: Annotated[int, Field(ge=0)] = 64 * 1024
    max_file_bytes: Annotated[int, Field(gt=0)] = 64 << 20
    #: Masked in every recorded exchange: the top-level ``redact:`` section's (set by
    #: :class:`GatewayConfig`, not a key of ``recording:``).
    redact_headers: frozenset[str] = field(init=False, default=DEFAULT_REDACT_HEADERS)
    redact_query_params: frozenset[str] = field(init=False, default=DEFAULT_REDACT_QUERY_PARAMS)


@section(frozen=True, slots=True, config=SECTION)
class RedactConfig:
    """Credentials masked wherever requests are written down (access log, recordings).

    The file's names are added to the defaults: adding one never drops ``api_key``.
    """

    query_params: Annotated[
        frozenset[Name], Field(max_length=256), AfterValidator(DEFAULT_REDACT_QUERY_PARAMS.union)
    ] = DEFAULT_REDACT_QUERY_PARAMS
    headers: Annotated[
        frozenset[Name], Field(max_length=256), AfterValidator(DEFAULT_REDACT_HEADERS.union)
    ] = DEFAULT_REDACT_HEADERS

    def target(self, target: str) -> str:
        """``target`` with the credential query parameters masked (:func:`redact_target`)."""
        return redact_target(target, self.query_params)


@section(frozen=True, slots=True, config=SECTION)
class GatewayConfig:
    """The whole gateway configuration, immutable after start-up.

    ``__post_init__`` holds the checks that span sections; it raises :class:`ConfigError` naming
    the field, whether the values came from a file or were put together in code.
    """

    upstreams: Upstreams = Upstreams()
    routes: Annotated[tuple[RouteConfig, ...], AfterValidator(_unique_names)] = (
        RouteConfig("default", ("/*",)),
    )
    listeners: Listeners = Listeners()
    admin_token: Annotated[str | None, AfterValidator(_none_if_empty)] = None
    override: OverrideConfig = OverrideConfig()
    limits: LimitsConfig = LimitsConfig()
    access_log_sample_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    shadow: ShadowSettings = field(default_factory=ShadowSettings)
    recording: RecordingConfig | None = None
    #: Validated by :mod:`migration.runtime` when the controller starts, not here.
    migration: dict[str, Any] = field(default_factory=dict)
    redact: RedactConfig = RedactConfig()
    #: Data-plane processes on this host (``auto`` already resolved to a number).
    workers: Annotated[int, PlainValidator(check.workers)] = 1

    def __post_init__(self) -> None:
        read_timeout = self.upstreams.candidate.read_timeout_s
        for i, route in enumerate(self.routes):  # an auto value is clamped to it instead
            after = route.fallback_after_s
            if after is not None and after > read_timeout:
                raise ConfigError(
                    f"routes.{i}.fallback_after_s: {after} s is above the candidate's read timeout"
                    f" (upstreams.candidate.read_timeout_s = {read_timeout} s)"
                )
            _check_unique_operations(route.operations, f"routes.{i}.operations")
        unknown = sorted(set(self.shadow.routes) - {r.name for r in self.routes})
        if unknown:
            raise ConfigError(f"shadow.routes.{unknown[0]}: no such route")
        if self.recording is not None:  # a copy: the section may be shared with another config
            recording = dataclasses.replace(self.recording)
            object.__setattr__(recording, "redact_headers", self.redact.headers)
            object.__setattr__(recording, "redact_query_params", self.redact.query_params)
            object.__setattr__(self, "recording", recording)

    @property
    def baseline(self) -> UpstreamConfig:
        """``upstreams.baseline`` (read at start-up, not per request)."""
        return self.upstreams.baseline

    @property
    def candidate(self) -> UpstreamConfig:
        """``upstreams.candidate`` (read at start-up, not per request)."""
        return self.upstreams.candidate

    @property
    def public(self) -> ListenerConfig:
        """``listeners.public`` (read at start-up, not per request)."""
        return self.listeners.public

    @property
    def admin(self) -> ListenerConfig:
        """``listeners.admin`` (read at start-up, not per request)."""
        return self.listeners.admin

    def upstream(self, backend: str) -> UpstreamConfig:
        """The upstream called ``backend`` (``baseline`` or ``candidate``)."""
        return self.upstreams.candidate if backend == "candidate" else self.upstreams.baseline


def _check_unique_operations(entries: tuple[OperationPattern, ...], where: str) -> None:
    """Refuse an entry whose method and path template repeat an earlier entry's."""
    first: dict[tuple[str, str], int] = {}
    for j, entry in enumerate(entries):
        shape = (entry.method, check.TEMPLATE_PARAMETER.sub("{}", entry.path))
        if shape in first:
            raise ConfigError(
                f"{where}.{j}: {entry.method} {entry.path} is already entry {first[shape]}"
            )
        first[shape] = j


def resolve_workers(value: int | str, field: str = "workers") -> int:
    """A ``workers`` value as a number of processes: ``auto`` is the CPUs this process may use.

    A bad value raises :class:`ConfigError` naming ``field`` (``workers``, or ``--workers`` when
    the command line gave it).
    """
    try:
        return check.workers(value, None)
    except ValueError as exc:
        raise ConfigError(f"{field}: {exc}") from None


# --------------------------------------------------------------------------- loading


def _fields() -> dict[str, Any]:
    """:class:`GatewayConfig`'s fields as ``create_model`` takes them: ``(annotation, default)``."""
    hints = typing.get_type_hints(GatewayConfig, include_extras=True)
    return {
        f.name: (hints[f.name], Field(default_factory=f.default_factory))
        if f.default_factory is not dataclasses.MISSING
        else (hints[f.name], f.default)
        for f in dataclasses.fields(GatewayConfig)
    }


#: :class:`GatewayConfig`'s fields on a pydantic-settings class: the environment layer. Typed
#: ``Any``: its attributes are :class:`GatewayConfig`'s, which is what the gateway reads.
GatewaySettings: Any = create_model("GatewaySettings", __base__=EnvironmentFirst, **_fields())
#: The same fields on a plain model, which validates the file without the environment.
_GatewayFile = create_model("GatewayFile", __config__=ConfigDict(extra="forbid"), **_fields())


def default_config_text() -> str:
    """The embedded default configuration used by ``cutover up``."""
    return resources.files("gateway").joinpath("default_config.yaml").read_text("utf-8")


def load_config(path: str | Path | None = None) -> GatewayConfig:
    """Read ``path`` (or the embedded default), apply ``CUTOVER_*`` overrides, freeze the result."""
    if path is None:
        text, source = default_config_text(), "embedded default"
    else:
        try:
            text, source = Path(path).read_text("utf-8"), str(path)
        except OSError as exc:
            raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    return parse_config(text, source)


def parse_config(text: str, source: str = "config") -> GatewayConfig:
    """Validate YAML ``text``; a problem raises :class:`ConfigError` naming the field."""
    try:
        data = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    return build_config(data, source)


def build_config(data: dict[str, Any], source: str = "config") -> GatewayConfig:
    """Validate a mapping (as read from YAML) plus the environment into a :class:`GatewayConfig`.

    The file is validated strictly first (no coercion: ``weight_bps: true`` is not 1 and ``"50"``
    is not 50) and in pydantic's JSON mode, whose strict rules still take a list for a tuple or a
    frozenset field (python-mode strictness would want the tuple itself). Then the environment is
    laid over it; environment values are strings by nature, so they are converted as
    pydantic-settings does. An unknown ``CUTOVER_*`` variable is an error naming the closest known
    one (:mod:`gateway.config_env`).
    """
    try:
        check_environment(GatewaySettings, os.environ, allowed=CLI_ENV_VARS)
        document = json.dumps(data, default=str)  # YAML dates and the like: strings, and refused
        _GatewayFile.model_validate_json(document, strict=True)  # the file alone, no coercion
        values = GatewaySettings(**data)
        return GatewayConfig(
            **{name: getattr(values, name) for name in GatewaySettings.model_fields}
        )
    except ValidationError as exc:
        problem = describe(exc)
    except SettingsError:  # a list or section in the environment given as broken JSON
        problem = undecodable(os.environ)
    except ValueError as exc:  # ConfigError from __post_init__, an unknown environment variable
        problem = str(exc)
    raise ConfigError(f"invalid gateway configuration ({source}): {problem}")
