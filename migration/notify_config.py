"""The ``migration.notifications`` and ``migration.hooks`` config, parsed once into frozen values.

::

    notifications:                     # a list of sinks, each with its own queue and counters
      - url: https://hooks.slack.com/services/T000/B000/XXXX
        name: ops-slack                # the sink's label in /metrics and logs (default: slack-0)
        format: slack                  # json (default) or slack
        events: [rolled_back, completed]   # default: the seven lifecycle kinds (DEFAULT_EVENTS)
        routes: [api]                  # default: every route
        timeout_s: 2                   # per attempt, whole exchange
        retries: 3                     # attempts after the first, exponential backoff with jitter
        queue_size: 100                # undelivered notifications kept; a full queue drops
                                       # the oldest
    hooks:
      pre_promotion: {url: http://127.0.0.1:9000/confirm, timeout_s: 5, retry_after_s: 15,
                      routes: [api]}
      post_rollback: {url: http://127.0.0.1:9000/rolled-back, timeout_s: 5}

Set from the environment, ``notifications`` and ``hooks`` take JSON, as every list value does
(``CUTOVER_MIGRATION__NOTIFICATIONS='[{"url": "...", "format": "slack"}]'``). Errors raise
:class:`~gateway.config.ConfigError` naming the field
(``migration.notifications.0.format: ...``), as every ``migration:`` key does. A URL is never echoed
in an error or a log line: a Slack incoming-webhook URL *is* its secret, so sinks are named.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import httpx

from gateway.config import ConfigError
from migration.plan import PlanError, parse_duration

__all__ = [
    "DEFAULT_EVENTS",
    "NOTIFIABLE_EVENTS",
    "HookSettings",
    "HooksSettings",
    "SinkSettings",
    "parse_hooks",
    "parse_notifications",
]

#: What the issue asks to be told about: the lifecycle, not every change of verdict.
DEFAULT_EVENTS: Final = frozenset(
    {"started", "promoted", "paused", "stalled", "rolled_back", "completed", "aborted"}
)
#: Kinds a sink may also ask for (``hook``: a pre-promotion or post-rollback hook's outcome).
NOTIFIABLE_EVENTS: Final = DEFAULT_EVENTS | {
    "resumed",
    "awaiting_gate",
    "awaiting_hook",
    "overridden",
    "weight_set",
    "hook",
    "baseline_degraded",
    "baseline_recovered",
    "share_mismatch",
}
_SINK_KEYS = {"url", "name", "format", "events", "routes", "timeout_s", "retries", "queue_size"}
_HOOK_KEYS = {"url", "timeout_s", "routes", "retry_after_s"}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_TIMEOUT_S: Final = 60.0


@dataclass(frozen=True)
class SinkSettings:
    """One notification sink."""

    name: str
    url: str
    format: Literal["json", "slack"] = "json"
    events: frozenset[str] = DEFAULT_EVENTS
    routes: frozenset[str] | None = None  # None: every route
    timeout_s: float = 2.0
    retries: int = 3
    queue_size: int = 100

    def wants(self, kind: str, route: str) -> bool:
        """True when this sink is told about a ``kind`` event on ``route``."""
        return kind in self.events and (self.routes is None or route in self.routes)


@dataclass(frozen=True)
class HookSettings:
    """One hook: where to POST, how long to wait, which routes it guards."""

    url: str
    timeout_s: float = 5.0
    routes: frozenset[str] | None = None
    retry_after_s: float = 15.0  # pre-promotion only: the wait after a denial before asking again

    def applies(self, route: str) -> bool:
        """True when the hook guards ``route``."""
        return self.routes is None or route in self.routes


@dataclass(frozen=True)
class HooksSettings:
    """The ``hooks:`` mapping; either hook may be absent."""

    pre_promotion: HookSettings | None = None
    post_rollback: HookSettings | None = None


def _url(value: Any, field: str) -> str:
    """An absolute http(s) URL with a host (not echoed: it may carry a token)."""
    problem = "expected an http:// or https:// URL with a host"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{field}: {problem}")
    try:
        url = httpx.URL(value.strip())
    except (httpx.InvalidURL, TypeError):
        raise ConfigError(f"{field}: {problem}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"{field}: {problem}")
    return str(url)


def _duration(value: Any, field: str, default: float, high: float = MAX_TIMEOUT_S) -> float:
    """Seconds (a number or ``"2s"``/``"500ms"``) within (0, ``high``]."""
    if value is None:
        return default
    try:
        seconds = parse_duration(value, field)
    except PlanError as exc:
        raise ConfigError(str(exc)) from None
    if not 0 < seconds <= high:
        raise ConfigError(f"{field}: must be within (0, {high:g}] seconds, got {value!r}")
    return seconds


def _count(value: Any, field: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{field}: expected an integer within [{low}, {high}], got {value!r}")
    return value


def _names(
    value: Any, field: str, known: Sequence[str] | frozenset[str], what: str
) -> frozenset[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{field}: expected a non-empty list of {what} names")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ConfigError(f"{field}: unknown {what}(s) {unknown}; known: {sorted(known)}")
    return frozenset(value)


def _json(value: Any, field: str) -> Any:
    """A value from the environment arrives as a JSON string
    (``CUTOVER_MIGRATION__NOTIFICATIONS``)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise ConfigError(f"{field}: expected JSON from the environment") from None


def _mapping(value: Any, field: str, keys: set[str]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{field}: expected a mapping")
    unknown = sorted(set(value) - keys)
    if unknown:
        raise ConfigError(f"{field}: unknown field(s) {unknown}; known: {sorted(keys)}")
    return value


def parse_notifications(value: Any, routes: Sequence[str]) -> tuple[SinkSettings, ...]:
    """``migration.notifications`` (a list, or None) into :class:`SinkSettings`."""
    value = _json(value, "migration.notifications")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError("migration.notifications: expected a list of sinks")
    sinks: list[SinkSettings] = []
    for i, raw in enumerate(value):
        at = f"migration.notifications.{i}"
        data = _mapping(raw, at, _SINK_KEYS)
        fmt = data.get("format", "json")
        if fmt not in ("json", "slack"):
            raise ConfigError(f"{at}.format: must be json or slack, got {fmt!r}")
        name = data.get("name", f"{fmt}-{i}")
        if not isinstance(name, str) or not _NAME.match(name):
            raise ConfigError(f"{at}.name: expected 1-64 letters, digits, '_', '.' or '-'")
        if any(s.name == name for s in sinks):
            raise ConfigError(f"{at}.name: {name!r} names another sink too")
        sinks.append(
            SinkSettings(
                name=name,
                url=_url(data.get("url"), f"{at}.url"),
                format=fmt,
                events=(
                    DEFAULT_EVENTS
                    if data.get("events") is None
                    else _names(data["events"], f"{at}.events", NOTIFIABLE_EVENTS, "event kind")
                ),
                routes=_routes(data.get("routes"), f"{at}.routes", routes),
                timeout_s=_duration(data.get("timeout_s"), f"{at}.timeout_s", 2.0),
                retries=_count(data.get("retries"), f"{at}.retries", 3, 0, 10),
                queue_size=_count(data.get("queue_size"), f"{at}.queue_size", 100, 1, 10_000),
            )
        )
    return tuple(sinks)


def _routes(value: Any, field: str, routes: Sequence[str]) -> frozenset[str] | None:
    return None if value is None else _names(value, field, routes, "route")


def _hook(value: Any, field: str, routes: Sequence[str]) -> HookSettings | None:
    if value is None:
        return None
    data = _mapping(value, field, _HOOK_KEYS)
    return HookSettings(
        url=_url(data.get("url"), f"{field}.url"),
        timeout_s=_duration(data.get("timeout_s"), f"{field}.timeout_s", 5.0),
        routes=_routes(data.get("routes"), f"{field}.routes", routes),
        retry_after_s=_duration(data.get("retry_after_s"), f"{field}.retry_after_s", 15.0, 3600.0),
    )


def parse_hooks(value: Any, routes: Sequence[str]) -> HooksSettings:
    """``migration.hooks`` (a mapping, or None) into :class:`HooksSettings`."""
    value = _json(value, "migration.hooks")
    if value is None:
        return HooksSettings()
    data = _mapping(value, "migration.hooks", {"pre_promotion", "post_rollback"})
    return HooksSettings(
        pre_promotion=_hook(data.get("pre_promotion"), "migration.hooks.pre_promotion", routes),
        post_rollback=_hook(data.get("post_rollback"), "migration.hooks.post_rollback", routes),
    )
