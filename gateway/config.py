"""Gateway configuration: one YAML file plus ``CUTOVER_*`` environment overrides, parsed once.

The file is validated by pydantic-settings models (environment variables win over the file; nested
fields use ``__``, e.g. ``CUTOVER_UPSTREAMS__CANDIDATE__URL``, ``CUTOVER_ADMIN_TOKEN``,
``CUTOVER_LISTENERS__PUBLIC__PORT``; list fields such as ``routes`` take JSON) and then frozen into
plain dataclasses, so the data path never touches pydantic. Any problem raises :class:`ConfigError`
whose message names the field (``routes.0.weight_bps: ...``); ``cutover gateway`` turns it into exit
code 2.

Decisions where the issue left a choice:

* Weights are **basis points** (``weight_bps``, 0..10000) in the file and in the data path; the admin
  API and CLI take percent (a float) and convert.
* Path patterns: ``*`` matches any run of characters, ``/`` included; a pattern without ``*`` must
  match the path exactly. ``/api/v1/tasks*`` therefore covers ``/api/v1/tasks``, ``/api/v1/tasks/7``
  and ``/api/v1/tasks?x`` (the query is not part of the path). Routes are tried in file order and the
  first whose pattern and method match wins; put the catch-all (``/*``) last. No match is a 404.
* Sticky key: the first present header of ``sticky.headers`` (case-insensitive), else the cookie
  ``sticky.cookie``, else the client address when ``sticky.client_address`` is true; with no key the
  choice is a fresh random draw per request.
* ``pool_size`` is the number of idle keep-alive connections kept per upstream; active connections
  are not capped (cap concurrency at the listener or load balancer in front).
* Only ``http://`` upstreams: the gateway's own HTTP/1.1 client does not speak TLS.
* ``operations`` (per route): how requests are named for the per-operation windows (issue #14),
  tried before the contract's OpenAPI operations (:mod:`migration.operations`). Each entry is
  ``"METHOD /path/{param}"`` (named by the string itself) or ``{name, method, path}``; a
  ``{param}`` matches one non-empty path segment, the query string is never part of the path.
  ``max_operations`` (1..256, default 16) bounds the names one route reports: the first names
  seen keep theirs, later new ones are counted as ``other``. An entry that is not a method and
  a path starting with ``/`` stops start-up naming it (``routes.0.operations.2: ...``).
* ``workers``: data-plane processes on this host (``cutover gateway --workers``), a whole number
  within 1..64 or ``auto`` — the CPUs this process may run on (``os.sched_getaffinity``, so a
  container's cpuset or ``taskset`` counts, not the host's cores), capped at 64. Resolved here, so
  :attr:`GatewayConfig.workers` is always a number.

Sections owned by other parts live in the same file so an operator edits one document: each route's
``shadow:`` block and the top-level ``shadow:`` settings are parsed by :mod:`gateway.shadow.config`
here at start-up (errors name ``routes.N.shadow.FIELD``); ``recording:`` configures the traffic
recorder that ``cutover contracts replay`` reads; ``migration:`` is kept as a plain mapping and
validated by :mod:`migration.runtime` when the controller starts (the gateway makes no rollout
decisions, so it does not interpret it).
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.redact import DEFAULT_HEADERS as DEFAULT_REDACT_HEADERS
from gateway.redact import DEFAULT_QUERY_PARAMS as DEFAULT_REDACT_QUERY_PARAMS
from gateway.redact import redact_target

if TYPE_CHECKING:
    from gateway.shadow.config import RouteShadowConfig, ShadowSettings

BACKENDS: tuple[str, str] = ("baseline", "candidate")
IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS"})
OPTIONAL_FALLBACK_METHODS: frozenset[str] = frozenset({"PUT", "DELETE"})


class ConfigError(ValueError):
    """The configuration cannot be used; the message names the offending field."""


#: Upper bounds of the upstream timeouts: a typo (or ``1e308``) must not become "wait forever".
MAX_CONNECT_TIMEOUT_S = 300.0
MAX_TIMEOUT_S = 86_400.0
#: ``CUTOVER_*`` variables read by the operator CLI rather than by this configuration; they may be
#: set where the gateway runs without being an error (``CUTOVER_ADMIN_TOKEN`` is both).
CLI_ENV_VARS: frozenset[str] = frozenset(
    {
        "CUTOVER_ADMIN_URL",
        "CUTOVER_ADMIN_TOKEN",
        "CUTOVER_REPLICA",
    }  # CUTOVER_REPLICA: a member name
)
#: Most data-plane processes one host runs (``workers``); ``auto`` is capped here too.
MAX_WORKERS = 64
#: Operation names one route reports by default, and at most (``max_operations``).
DEFAULT_MAX_OPERATIONS = 16
MAX_OPERATIONS = 256
#: The name of the operations past a route's ``max_operations`` (reserved: no pattern may take it).
OTHER_OPERATION = "other"


# --------------------------------------------------------------------------- frozen values


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """One upstream (baseline or candidate) and how the gateway talks to it."""

    name: str
    url: str
    host: str
    port: int
    connect_timeout_s: float
    read_timeout_s: float
    total_timeout_s: float | None
    pool_size: int

    @property
    def authority(self) -> str:
        """``host:port`` as sent in the upstream ``Host`` header."""
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class StickyConfig:
    """Where the sticky key of a request comes from, in priority order."""

    headers: tuple[str, ...]
    cookie: str | None
    client_address: bool
    #: ``headers`` as the data path looks them up: lower-case bytes.
    header_keys: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = tuple(h.lower().encode("latin-1") for h in self.headers)
        object.__setattr__(self, "header_keys", keys)


@dataclass(frozen=True, slots=True)
class OperationPattern:
    """One entry of a route's ``operations``: requests ``method path`` are operation ``name``.

    ``method`` is upper-case; ``path`` is a template whose ``{param}`` matches one non-empty segment.
    """

    name: str
    method: str
    path: str


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """A named group of path patterns with its own candidate weight."""

    name: str
    paths: tuple[str, ...]
    methods: frozenset[str]  # empty: every method
    weight_bps: int
    sticky: StickyConfig
    fallback_methods: frozenset[str]  # idempotent methods retried on the other backend
    shadow: RouteShadowConfig | None = None  # None: the shadow defaults (rate 0)
    #: ``both``: a failed candidate attempt is retried on the baseline and a baseline connect
    #: error/timeout/reset on the candidate; ``to_baseline``: only the former; ``off``: neither.
    fallback: Literal["both", "to_baseline", "off"] = "both"
    #: Seconds a candidate attempt that may fall back waits for its response head; None = ``auto``
    #: (the value the controller publishes, see :meth:`gateway.state.GatewayState.set_fallback_after`).
    fallback_after_s: float | None = None
    #: Lowest deadline an ``auto`` value may take.
    fallback_after_floor_s: float = 1.0
    #: The route's own operation patterns, tried before the contract's (:mod:`migration.operations`).
    operations: tuple[OperationPattern, ...] = ()
    #: Distinct operation names the route reports; later new ones are ``other``.
    max_operations: int = DEFAULT_MAX_OPERATIONS


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """A TCP address to listen on."""

    host: str
    port: int


@dataclass(frozen=True, slots=True)
class OverrideConfig:
    """Who may force a backend with ``X-Cutover-Backend``."""

    token: str | None
    token_header: str
    trusted_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@dataclass(frozen=True, slots=True)
class LimitsConfig:
    """Size limits that keep the gateway's memory bounded."""

    max_request_body_bytes: int
    replay_buffer_bytes: int
    tap_body_limit_bytes: int
    #: Slow clients (issue #12; see :mod:`gateway.http`): the whole request head, from its first
    #: byte (from the accept for a connection's first request) → 408 and close.
    header_timeout_s: float = 10.0
    #: The longest silence while a request body is being read → 408 (if unanswered) and close.
    body_idle_timeout_s: float = 10.0
    #: Apache mod_reqtimeout ``MinRate``: after ``body_grace_s`` the body must average this rate
    #: (0 turns the check off).
    body_min_rate_bytes_s: float = 500.0
    body_grace_s: float = 10.0
    #: Open client connections on the public listener; beyond it a new one is answered 503 and
    #: closed. None: half the process's open-file limit (the rest is left for upstream sockets).
    max_connections: int | None = None


@dataclass(frozen=True, slots=True)
class RecordingConfig:
    """Where and how much traffic the recorder keeps for ``cutover contracts replay``."""

    path: str
    sample_rate: float
    max_body_bytes: int
    max_file_bytes: int
    #: Masked in every recorded exchange (from the top-level ``redact:`` section).
    redact_headers: frozenset[str] = DEFAULT_REDACT_HEADERS
    redact_query_params: frozenset[str] = DEFAULT_REDACT_QUERY_PARAMS


@dataclass(frozen=True, slots=True)
class RedactConfig:
    """Credentials masked wherever requests are written down (access log, recordings)."""

    query_params: frozenset[str] = DEFAULT_REDACT_QUERY_PARAMS  # lower-case names
    headers: frozenset[str] = DEFAULT_REDACT_HEADERS  # lower-case names

    def target(self, target: str) -> str:
        """``target`` with the credential query parameters masked (:func:`redact_target`)."""
        return redact_target(target, self.query_params)


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The whole gateway configuration, immutable after start-up."""

    baseline: UpstreamConfig
    candidate: UpstreamConfig
    routes: tuple[RouteConfig, ...]
    public: ListenerConfig
    admin: ListenerConfig
    admin_token: str | None
    override: OverrideConfig
    limits: LimitsConfig
    access_log_sample_rate: float
    shadow: ShadowSettings | None = None
    recording: RecordingConfig | None = None
    migration: Mapping[str, Any] = field(default_factory=dict)
    redact: RedactConfig = RedactConfig()
    #: Data-plane processes on this host (``auto`` already resolved to a number).
    workers: int = 1

    def upstream(self, backend: str) -> UpstreamConfig:
        """The upstream called ``backend`` (``baseline`` or ``candidate``)."""
        return self.candidate if backend == "candidate" else self.baseline


# --------------------------------------------------------------------------- pydantic models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UpstreamModel(_Model):
    url: str
    connect_timeout_s: float = Field(default=2.0, gt=0, le=MAX_CONNECT_TIMEOUT_S)
    read_timeout_s: float = Field(default=30.0, gt=0, le=MAX_TIMEOUT_S)
    total_timeout_s: float | None = Field(default=300.0, gt=0, le=MAX_TIMEOUT_S)
    pool_size: int = Field(default=64, ge=0, le=10_000)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
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


class UpstreamsModel(_Model):
    baseline: UpstreamModel = UpstreamModel(url="http://127.0.0.1:8001")
    candidate: UpstreamModel = UpstreamModel(url="http://127.0.0.1:8002")


class StickyModel(_Model):
    headers: list[str] = Field(default_factory=lambda: ["X-API-Key", "Authorization"])
    cookie: str | None = None
    client_address: bool = True


_TEMPLATE_PARAMETER = re.compile(r"\{[^/{}]+\}")
_OPERATION_KEYS = frozenset({"name", "method", "path"})


def _operation_entry(value: object) -> OperationPattern:
    """One ``operations`` entry: ``"METHOD /path"`` (named by itself) or ``{name, method, path}``.

    A plain validator rather than a ``str | model`` union: pydantic would report a bad entry once
    per member of the union, and the message must name the entry (``routes.0.operations.2``).
    """
    if isinstance(value, str):
        parts = value.split()
        if len(parts) != 2:
            raise ValueError(
                f"{value!r}: expected 'METHOD /path' or a mapping with name, method and path"
            )
        name, (method, path) = value.strip(), parts
    elif isinstance(value, Mapping):
        unknown = sorted(str(key) for key in value if key not in _OPERATION_KEYS)
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r} (expected name, method and path)")
        for key in ("name", "method", "path"):
            if key not in value:
                raise ValueError(f"missing {key} (expected name, method and path)")
            if not isinstance(value[key], str):
                raise ValueError(f"{key}: expected a string, got {value[key]!r}")
        name, method, path = value["name"].strip(), value["method"], value["path"]
    else:
        raise ValueError(
            f"expected 'METHOD /path' or a mapping with name, method and path, got {value!r}"
        )
    if not method.isalpha():
        raise ValueError(f"{method!r} is not an HTTP method")
    if not path.startswith("/") or any(c in path for c in "?# \t"):
        raise ValueError(f"path {path!r} must start with '/' and hold no query, fragment or space")
    rest = _TEMPLATE_PARAMETER.sub("", path)
    if "{" in rest or "}" in rest:
        raise ValueError(f"path {path!r}: each '{{' must open a '{{param}}' within one segment")
    if not 0 < len(name) <= 128:
        raise ValueError(f"name {name!r} must be 1..128 characters")
    if name == OTHER_OPERATION:
        raise ValueError(f"name {name!r} is reserved for the operations past max_operations")
    return OperationPattern(name, method.upper(), path)


OperationEntry = Annotated[OperationPattern, PlainValidator(_operation_entry)]


def http_methods(value: list[str]) -> list[str]:
    """HTTP method names upper-cased; ``ValueError`` for one that is not letters only.

    The one rule for a route's ``methods`` and a fault's (:mod:`gateway.faults`).
    """
    upper = [m.upper() for m in value]
    for method in upper:
        if not method.isalpha():
            raise ValueError(f"{method!r} is not an HTTP method")
    return upper


class RouteModel(_Model):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    paths: list[str] = Field(min_length=1)
    methods: list[str] = Field(default_factory=list)
    weight_bps: int = Field(default=0, ge=0, le=10_000)
    sticky: StickyModel = StickyModel()
    fallback_methods: list[Literal["PUT", "DELETE"]] = Field(default_factory=list)
    fallback: Literal["both", "to_baseline", "off"] = "both"
    fallback_after_s: float | Literal["auto"] = Field(default="auto")
    fallback_after_floor_s: float = Field(default=1.0, gt=0, le=3600)
    shadow: dict[str, Any] | None = None
    operations: list[OperationEntry] = Field(default_factory=list, max_length=1024)
    max_operations: int = Field(default=DEFAULT_MAX_OPERATIONS, ge=1, le=MAX_OPERATIONS)

    @field_validator("fallback", mode="before")
    @classmethod
    def _fallback_off(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted ``off`` as the boolean false: take it as written.
        return "off" if value is False else value

    @field_validator("fallback_after_s")
    @classmethod
    def _fallback_after(cls, value: float | str) -> float | str:
        if not isinstance(value, str) and not 0 < value <= 3600:
            raise ValueError("must be 'auto' or a number of seconds within (0, 3600]")
        return value

    @field_validator("paths")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not (pattern.startswith("/") or pattern == "*"):
                raise ValueError(f"pattern {pattern!r} must start with '/' (or be '*')")
        return value

    @field_validator("methods")
    @classmethod
    def _methods(cls, value: list[str]) -> list[str]:
        return http_methods(value)


class ListenerModel(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class ListenersModel(_Model):
    public: ListenerModel = ListenerModel(port=8080)
    admin: ListenerModel = ListenerModel(port=8081)


class OverrideModel(_Model):
    token: str | None = None
    token_header: str = "X-Cutover-Override-Token"
    trusted_cidrs: list[str] = Field(default_factory=list)

    @field_validator("trusted_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise ValueError(f"{cidr!r} is not a CIDR: {exc}") from None
        return value


class LimitsModel(_Model):
    max_request_body_bytes: int = Field(default=1 << 30, ge=0)
    replay_buffer_bytes: int = Field(default=64 * 1024, ge=0, le=16 << 20)
    tap_body_limit_bytes: int = Field(default=1 << 20, ge=0, le=64 << 20)
    header_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    body_idle_timeout_s: float = Field(default=10.0, gt=0, le=3600)
    body_min_rate_bytes_s: float = Field(default=500.0, ge=0, le=1 << 30)
    body_grace_s: float = Field(default=10.0, ge=0, le=3600)
    max_connections: int | None = Field(default=None, ge=1, le=1_000_000)


class RecordingModel(_Model):
    path: str = Field(min_length=1)
    sample_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    max_body_bytes: int = Field(default=64 * 1024, ge=0)
    max_file_bytes: int = Field(default=64 << 20, gt=0)


class RedactModel(_Model):
    """Names masked *in addition to* the built-in lists, so adding one never drops ``api_key``."""

    query_params: list[str] = Field(default_factory=list, max_length=256)
    headers: list[str] = Field(default_factory=list, max_length=256)

    @field_validator("query_params", "headers")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.strip() or len(name) > 128:
                raise ValueError(f"{name!r} is not a parameter or header name")
        return value


def resolve_workers(value: int | str, field: str = "workers") -> int:
    """A ``workers`` value as a number of processes: ``auto`` is the CPUs this process may use.

    A bad value raises :class:`ConfigError` naming ``field`` (``workers``, or ``--workers`` when
    the command line gave it).
    """
    if value == "auto":
        try:
            cpus = len(os.sched_getaffinity(0))
        except AttributeError:  # not Linux: no affinity call
            cpus = os.cpu_count() or 1
        return max(1, min(cpus, MAX_WORKERS))
    try:
        count = _check_workers(int(value) if isinstance(value, str) and value.isdigit() else value)
    except ValueError as exc:
        raise ConfigError(f"{field}: {exc}") from None
    assert isinstance(count, int)
    return count


def _check_workers(value: object) -> object:
    """``workers`` before pydantic's own check: a clear message instead of a union's two."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= MAX_WORKERS:
            raise ValueError(f"must be within 1..{MAX_WORKERS} (or 'auto'), got {value}")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text == "auto":
            return text
        if text.isdigit():  # an environment value; the strict file pass refuses a quoted number
            _check_workers(int(text))
            return value
    raise ValueError(
        f"expected a number of processes within 1..{MAX_WORKERS} or 'auto', got {value!r}"
    )


Workers = Annotated[int | Literal["auto"], BeforeValidator(_check_workers)]


def _default_routes() -> list[RouteModel]:
    return [RouteModel(name="default", paths=["/*"])]


class GatewaySettings(BaseSettings):
    """The validated configuration tree; environment (``CUTOVER_*``) wins over the YAML file."""

    model_config = SettingsConfigDict(
        env_prefix="CUTOVER_", env_nested_delimiter="__", extra="forbid"
    )

    upstreams: UpstreamsModel = UpstreamsModel()
    routes: list[RouteModel] = Field(default_factory=_default_routes)
    listeners: ListenersModel = ListenersModel()
    admin_token: str | None = None
    override: OverrideModel = OverrideModel()
    limits: LimitsModel = LimitsModel()
    access_log_sample_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    shadow: dict[str, Any] = Field(default_factory=dict)
    recording: RecordingModel | None = None
    migration: dict[str, Any] = Field(default_factory=dict)
    redact: RedactModel = RedactModel()
    workers: Workers = 1

    @field_validator("routes")
    @classmethod
    def _unique_names(cls, value: list[RouteModel]) -> list[RouteModel]:
        seen: set[str] = set()
        for route in value:
            if route.name in seen:
                raise ValueError(f"route name {route.name!r} is used twice")
            seen.add(route.name)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first (it wins), then the values read from the YAML file."""
        return (env_settings, init_settings)


# --------------------------------------------------------------------------- loading


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
    is not 50), then the environment is laid over it; environment values are strings by nature,
    so they are converted as pydantic-settings does. An unknown ``CUTOVER_*`` variable is an error
    naming the closest known one (:mod:`gateway.config_env`).
    """
    from gateway.config_env import check_environment

    try:
        check_environment(GatewaySettings, os.environ, allowed=CLI_ENV_VARS)
        _file_model().model_validate(data, strict=True)  # the file alone: no env, no coercion
        settings = GatewaySettings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None
    except ValueError as exc:
        raise ConfigError(f"invalid gateway configuration ({source}): {exc}") from None
    # Imported here: gateway.shadow's package imports this module.
    from gateway.shadow.config import ShadowConfigError

    try:
        return _freeze(settings)
    except ShadowConfigError as exc:
        raise ConfigError(f"invalid gateway configuration ({source}): {exc}") from None


@functools.cache
def _file_model() -> type[BaseModel]:
    """:class:`GatewaySettings`' fields on a plain model, which validates without the environment.

    (``GatewaySettings.model_validate(..., strict=True)`` runs the settings ``__init__``, which
    reads the environment and drops ``strict``.)
    """
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in GatewaySettings.model_fields.items()
    }
    return create_model("GatewayFile", __config__=ConfigDict(extra="forbid"), **fields)


def _format_errors(exc: ValidationError, source: str) -> str:
    """One line: ``invalid gateway configuration (FILE): field: message; field: message``."""
    problems = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "(top level)"
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(f"{field}: {message}")
    return f"invalid gateway configuration ({source}): {'; '.join(problems)}"


def _freeze_upstream(name: str, model: UpstreamModel) -> UpstreamConfig:
    parts = urlsplit(model.url)
    return UpstreamConfig(
        name=name,
        url=model.url,
        host=parts.hostname or "",
        port=parts.port or 80,
        connect_timeout_s=model.connect_timeout_s,
        read_timeout_s=model.read_timeout_s,
        total_timeout_s=model.total_timeout_s,
        pool_size=model.pool_size,
    )


def _unique_operations(entries: list[OperationPattern], field: str) -> tuple[OperationPattern, ...]:
    """``entries``, refusing one whose method and path template repeat an earlier entry's."""
    first: dict[tuple[str, str], int] = {}
    for j, entry in enumerate(entries):
        shape = (entry.method, _TEMPLATE_PARAMETER.sub("{}", entry.path))
        if shape in first:
            raise ConfigError(
                f"{field}.{j}: {entry.method} {entry.path} is already entry {first[shape]}"
            )
        first[shape] = j
    return tuple(entries)


def _freeze(s: GatewaySettings) -> GatewayConfig:
    from gateway.shadow.config import parse_route_shadow, parse_shadow_settings

    routes = tuple(
        RouteConfig(
            name=r.name,
            paths=tuple(r.paths),
            methods=frozenset(r.methods),
            weight_bps=r.weight_bps,
            sticky=StickyConfig(
                headers=tuple(h.lower() for h in r.sticky.headers),
                cookie=r.sticky.cookie,
                client_address=r.sticky.client_address,
            ),
            fallback_methods=IDEMPOTENT_METHODS | frozenset(r.fallback_methods),
            shadow=parse_route_shadow(r.shadow, f"routes.{i}.shadow") if r.shadow else None,
            fallback=r.fallback,
            fallback_after_s=None if r.fallback_after_s == "auto" else float(r.fallback_after_s),
            fallback_after_floor_s=r.fallback_after_floor_s,
            operations=_unique_operations(r.operations, f"routes.{i}.operations"),
            max_operations=r.max_operations,
        )
        for i, r in enumerate(s.routes)
    )
    read_timeout = s.upstreams.candidate.read_timeout_s
    for i, route in enumerate(routes):  # an auto value is clamped to it instead
        after = route.fallback_after_s
        if after is not None and after > read_timeout:
            raise ConfigError(
                f"routes.{i}.fallback_after_s: {after} s is above the candidate's read timeout"
                f" (upstreams.candidate.read_timeout_s = {read_timeout} s)"
            )
    shadow = parse_shadow_settings(s.shadow, "shadow")
    unknown = sorted(set(shadow.routes) - {r.name for r in routes})
    if unknown:
        raise ConfigError(f"shadow.routes.{unknown[0]}: no such route")
    redact = RedactConfig(
        query_params=DEFAULT_REDACT_QUERY_PARAMS
        | frozenset(q.strip().lower() for q in s.redact.query_params),
        headers=DEFAULT_REDACT_HEADERS | frozenset(h.strip().lower() for h in s.redact.headers),
    )
    recording = (
        RecordingConfig(
            path=s.recording.path,
            sample_rate=s.recording.sample_rate,
            max_body_bytes=s.recording.max_body_bytes,
            max_file_bytes=s.recording.max_file_bytes,
            redact_headers=redact.headers,
            redact_query_params=redact.query_params,
        )
        if s.recording is not None
        else None
    )
    return GatewayConfig(
        baseline=_freeze_upstream("baseline", s.upstreams.baseline),
        candidate=_freeze_upstream("candidate", s.upstreams.candidate),
        routes=routes,
        public=ListenerConfig(s.listeners.public.host, s.listeners.public.port),
        admin=ListenerConfig(s.listeners.admin.host, s.listeners.admin.port),
        admin_token=s.admin_token or None,
        override=OverrideConfig(
            token=s.override.token or None,
            token_header=s.override.token_header.lower(),
            trusted_networks=tuple(
                ipaddress.ip_network(c, strict=False) for c in s.override.trusted_cidrs
            ),
        ),
        limits=LimitsConfig(
            max_request_body_bytes=s.limits.max_request_body_bytes,
            replay_buffer_bytes=s.limits.replay_buffer_bytes,
            tap_body_limit_bytes=s.limits.tap_body_limit_bytes,
            header_timeout_s=s.limits.header_timeout_s,
            body_idle_timeout_s=s.limits.body_idle_timeout_s,
            body_min_rate_bytes_s=s.limits.body_min_rate_bytes_s,
            body_grace_s=s.limits.body_grace_s,
            max_connections=s.limits.max_connections,
        ),
        access_log_sample_rate=s.access_log_sample_rate,
        shadow=shadow,
        recording=recording,
        migration=dict(s.migration),
        redact=redact,
        workers=resolve_workers(s.workers),
    )
