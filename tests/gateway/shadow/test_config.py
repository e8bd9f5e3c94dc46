"""Parsing of the per-route ``shadow:`` block and the process-wide shadow settings."""

from __future__ import annotations

import os

import pytest

from gateway.config import ConfigError, parse_config
from gateway.shadow.config import (
    SAFE_METHODS,
    RouteShadowConfig,
    ShadowConfigError,
    parse_cpus,
    parse_route_shadow,
    parse_shadow_settings,
)


def test_missing_block_means_shadowing_off() -> None:
    """No ``shadow:`` block gives the defaults: 0 %, safe methods only."""
    config = parse_route_shadow(None)
    assert config == RouteShadowConfig()
    assert config.percent == 0.0
    assert config.methods == SAFE_METHODS


def test_full_block_is_parsed_into_frozen_values() -> None:
    """Every field of a route block lands in the dataclass, normalised."""
    config = parse_route_shadow(
        {
            "percent": 25,
            "sticky_header": "X-API-Key",
            "methods": ["get", "post"],
            "same_backend_percent": 5,
            "ignore": ["$.items[*].updated_at"],
            "unordered": ["$.tags"],
            "headers": ["Content-Type", "ETag"],
            "max_body_bytes": 1024,
            "timeout_s": 0.5,
        }
    )
    assert config.percent == 25.0
    assert config.sticky_header == "x-api-key"
    assert config.methods == frozenset({"GET", "POST"})
    assert config.headers == ("content-type", "etag")
    assert config.ignore == ("$.items[*].updated_at",)
    with pytest.raises(AttributeError):
        config.percent = 50  # type: ignore[misc]


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ({"percent": 101}, "routes.tasks.shadow.percent"),
        ({"percent": "ten"}, "routes.tasks.shadow.percent"),
        ({"percent": True}, "routes.tasks.shadow.percent"),
        ({"methods": ["FETCH"]}, "routes.tasks.shadow.methods"),
        ({"methods": "GET"}, "routes.tasks.shadow.methods"),
        ({"ignore": ["items.id"]}, "routes.tasks.shadow.ignore.0"),
        ({"unordered": ["$.a[", "$.b"]}, "routes.tasks.shadow.unordered.0"),
        ({"timeout_s": 0}, "routes.tasks.shadow.timeout_s"),
        ({"max_body_bytes": -1}, "routes.tasks.shadow.max_body_bytes"),
        ({"rate": 10}, "routes.tasks.shadow.rate"),
        ({"same_backend_percent": -5}, "routes.tasks.shadow.same_backend_percent"),
        ({"timeout_s": float("inf")}, "routes.tasks.shadow.timeout_s"),
        ({"headers": [""]}, "routes.tasks.shadow.headers.0"),
        ({"sticky_header": " "}, "routes.tasks.shadow.sticky_header"),
    ],
)
def test_bad_value_names_the_field(block: dict[str, object], field: str) -> None:
    """A bad value raises ShadowConfigError whose message starts with the field's dotted name."""
    with pytest.raises(ShadowConfigError) as info:
        parse_route_shadow(block, where="routes.tasks.shadow")
    assert str(info.value).startswith(f"{field}:")


def test_settings_parse_routes_and_bounds() -> None:
    """The settings block parses its knobs and every route block under ``routes``."""
    settings = parse_shadow_settings(
        {"queue_size": 10, "workers": 2, "routes": {"tasks": {"percent": 50}}}
    )
    assert settings.queue_size == 10
    assert settings.routes["tasks"].percent == 50.0
    with pytest.raises(ShadowConfigError, match=r"^shadow\.routes\.tasks\.percent:"):
        parse_shadow_settings({"routes": {"tasks": {"percent": 500}}})
    with pytest.raises(ShadowConfigError, match=r"^shadow\.workers:"):
        parse_shadow_settings({"workers": 0})
    with pytest.raises(ShadowConfigError, match=r"^shadow\.check_primaries:"):
        parse_shadow_settings({"check_primaries": "yes"})
    assert not parse_shadow_settings({"check_primaries": False}).check_primaries


def test_with_percent_validates() -> None:
    """Changing the rate at run time goes through the same check as the config value."""
    assert RouteShadowConfig().with_percent(40).percent == 40.0
    with pytest.raises(ShadowConfigError, match="percent"):
        RouteShadowConfig().with_percent(-1)


def test_isolation_and_priority_are_choices() -> None:
    """``isolation`` and ``process_priority`` take their listed values, else name the field."""
    settings = parse_shadow_settings({"isolation": "inline", "process_priority": "low"})
    assert (settings.isolation, settings.process_priority) == ("inline", "low")
    assert parse_shadow_settings({}).isolation == "process"
    with pytest.raises(ShadowConfigError, match=r"^shadow\.isolation: .*'process' or 'inline'"):
        parse_shadow_settings({"isolation": "thread"})
    with pytest.raises(ShadowConfigError, match=r"^shadow\.process_priority: .*'low' or"):
        parse_shadow_settings({"process_priority": "realtime"})


def test_process_cpus_take_a_list_or_a_cpuset_string() -> None:
    """``process_cpus`` takes ``[1, 3]`` or ``"0,2-3"``, sorted, without repeats; default None."""
    assert parse_shadow_settings({}).process_cpus is None
    assert parse_cpus([3, 1, 3], available=4) == (1, 3)
    assert parse_cpus("0,2-3", available=4) == (0, 2, 3)
    only = (os.cpu_count() or 1) - 1
    assert parse_shadow_settings({"process_cpus": [only]}).process_cpus == (only,)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "must name at least one CPU"),
        ([-1], "integers >= 0"),
        ([True], "integers >= 0"),
        ("1-x", "CPU ids like"),
        (2, "CPU ids like"),
        ([4, 9], r"this host has CPUs 0-3, not \[4, 9\]"),
    ],
)
def test_bad_process_cpus_name_the_field(value: object, message: str) -> None:
    """A CPU set that is empty, malformed or beyond the host's CPUs is refused, saying why."""
    with pytest.raises(ValueError, match=message):
        parse_cpus(value, available=4)


def test_a_bad_process_cpus_names_the_field() -> None:
    """A bad ``process_cpus`` in the settings stops start-up naming the field."""
    with pytest.raises(ShadowConfigError, match=r"^shadow\.process_cpus: .*integers >= 0"):
        parse_shadow_settings({"process_cpus": [-1]})


def test_window_bucket_must_not_exceed_the_horizon() -> None:
    """An evidence bucket longer than the horizon it is counted over names the horizon."""
    with pytest.raises(ShadowConfigError, match=r"^shadow\.window_horizon_s: .*window_bucket_s"):
        parse_shadow_settings({"window_bucket_s": 60, "window_horizon_s": 30})


def test_environment_values_convert_and_unknown_shadow_names_are_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``CUTOVER_SHADOW__*`` converts like any setting; a misspelt one names the closest known."""
    monkeypatch.setenv("CUTOVER_SHADOW__WORKERS", "3")
    monkeypatch.setenv("CUTOVER_SHADOW__ROUTES__DEFAULT__PERCENT", "5")
    config = parse_config("")
    assert (config.shadow.workers, config.shadow.routes["default"].percent) == (3, 5.0)
    monkeypatch.setenv("CUTOVER_SHADOW__WORKRS", "3")
    with pytest.raises(ConfigError, match="did you mean CUTOVER_SHADOW__WORKERS"):
        parse_config("")
