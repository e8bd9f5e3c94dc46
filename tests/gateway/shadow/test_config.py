"""Parsing of the per-route ``shadow:`` block and the process-wide shadow settings."""

from __future__ import annotations

import pytest

from gateway.shadow.config import (
    SAFE_METHODS,
    RouteShadowConfig,
    ShadowConfigError,
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
        ({"ignore": ["items.id"]}, "routes.tasks.shadow.ignore[0]"),
        ({"unordered": ["$.a[", "$.b"]}, "routes.tasks.shadow.unordered[0]"),
        ({"timeout_s": 0}, "routes.tasks.shadow.timeout_s"),
        ({"max_body_bytes": -1}, "routes.tasks.shadow.max_body_bytes"),
        ({"rate": 10}, "routes.tasks.shadow.rate"),
        ({"same_backend_percent": -5}, "routes.tasks.shadow.same_backend_percent"),
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
    """``isolation`` and ``process_priority`` accept their listed values and name the field otherwise."""
    settings = parse_shadow_settings({"isolation": "inline", "process_priority": "low"})
    assert (settings.isolation, settings.process_priority) == ("inline", "low")
    assert parse_shadow_settings({}).isolation == "process"
    with pytest.raises(ShadowConfigError, match=r"^shadow\.isolation: must be one of"):
        parse_shadow_settings({"isolation": "thread"})
    with pytest.raises(ShadowConfigError, match=r"^shadow\.process_priority: must be one of"):
        parse_shadow_settings({"process_priority": "realtime"})
