"""Parsing ``migration.notifications`` and ``migration.hooks``: defaults,
and errors naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.config import ConfigError
from migration.notify_config import DEFAULT_EVENTS, parse_hooks, parse_notifications

ROUTES = ["api", "default"]
URL = "http://127.0.0.1:9000/hook"
EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "gateway.example.yaml"


def test_sink_defaults() -> None:
    """A bare URL is a json sink for the seven lifecycle kinds on every route, named by index."""
    [sink] = parse_notifications([{"url": URL}], ROUTES)
    assert (sink.name, sink.format, sink.routes) == ("json-0", "json", None)
    assert sink.events == DEFAULT_EVENTS
    assert (sink.timeout_s, sink.retries, sink.queue_size) == (2.0, 3, 100)
    assert sink.wants("rolled_back", "api")
    assert not sink.wants("decision_hold", "api")


def test_sink_fields() -> None:
    """Every documented field is read; durations take units."""
    [sink] = parse_notifications(
        [
            {
                "url": "https://hooks.slack.com/services/T/B/X",
                "name": "ops",
                "format": "slack",
                "events": ["rolled_back", "hook"],
                "routes": ["api"],
                "timeout_s": "500ms",
                "retries": 0,
                "queue_size": 5,
            }
        ],
        ROUTES,
    )
    assert (sink.name, sink.format, sink.timeout_s, sink.retries, sink.queue_size) == (
        "ops",
        "slack",
        0.5,
        0,
        5,
    )
    assert sink.wants("hook", "api")
    assert not sink.wants("hook", "default")


def test_nothing_configured() -> None:
    """No keys: no sinks and no hooks."""
    assert parse_notifications(None, ROUTES) == ()
    hooks = parse_hooks(None, ROUTES)
    assert (hooks.pre_promotion, hooks.post_rollback) == (None, None)


def test_hooks() -> None:
    """Both hooks parse with their defaults; routes filter."""
    hooks = parse_hooks(
        {"pre_promotion": {"url": URL, "routes": ["api"]}, "post_rollback": {"url": URL}},
        ROUTES,
    )
    assert hooks.pre_promotion is not None
    assert hooks.post_rollback is not None
    assert (hooks.pre_promotion.timeout_s, hooks.pre_promotion.retry_after_s) == (5.0, 15.0)
    assert not hooks.pre_promotion.applies("default")
    assert hooks.post_rollback.applies("default")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"url": URL}, "migration.notifications: expected a list"),
        ([{"url": "ftp://x/y"}], "migration.notifications.0.url"),
        ([{}], "migration.notifications.0.url"),
        ([{"url": URL, "format": "teams"}], "migration.notifications.0.format"),
        ([{"url": URL, "events": ["rolledback"]}], "migration.notifications.0.events"),
        ([{"url": URL, "events": []}], "migration.notifications.0.events"),
        ([{"url": URL, "routes": ["nope"]}], "migration.notifications.0.routes"),
        ([{"url": URL, "timeout_s": 0}], "migration.notifications.0.timeout_s"),
        ([{"url": URL, "timeout_s": "soon"}], "migration.notifications.0.timeout_s"),
        ([{"url": URL, "timeout_s": 600}], "migration.notifications.0.timeout_s"),
        ([{"url": URL, "retries": -1}], "migration.notifications.0.retries"),
        ([{"url": URL, "retries": True}], "migration.notifications.0.retries"),
        ([{"url": URL, "queue_size": 0}], "migration.notifications.0.queue_size"),
        ([{"url": URL, "name": "a b"}], "migration.notifications.0.name"),
        ([{"url": URL}, {"url": URL, "name": "json-0"}], "migration.notifications.1.name"),
        ([{"url": URL, "sink": "x"}], "migration.notifications.0: unknown field"),
    ],
)
def test_bad_notifications_name_the_field(value: Any, field: str) -> None:
    """Each invalid sink value stops start-up with a message naming its field."""
    with pytest.raises(ConfigError) as err:
        parse_notifications(value, ROUTES)
    assert str(err.value).startswith(field)


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ([], "migration.hooks: expected a mapping"),
        ({"pre_merge": {}}, "migration.hooks: unknown field"),
        ({"pre_promotion": {"timeout_s": 1}}, "migration.hooks.pre_promotion.url"),
        (
            {"post_rollback": {"url": URL, "timeout_s": -1}},
            "migration.hooks.post_rollback.timeout_s",
        ),
        (
            {"pre_promotion": {"url": URL, "retry_after_s": 0}},
            "migration.hooks.pre_promotion.retry_after_s",
        ),
        ({"pre_promotion": {"url": URL, "routes": ["x"]}}, "migration.hooks.pre_promotion.routes"),
    ],
)
def test_bad_hooks_name_the_field(value: Any, field: str) -> None:
    """Each invalid hook value stops start-up with a message naming its field."""
    with pytest.raises(ConfigError) as err:
        parse_hooks(value, ROUTES)
    assert str(err.value).startswith(field)


def test_a_url_is_never_echoed() -> None:
    """A bad URL's error does not repeat it: a webhook URL can be its own secret."""
    with pytest.raises(ConfigError) as err:
        parse_notifications([{"url": "hxxps://hooks.example/T000/s3cr3t"}], ROUTES)
    assert "s3cr3t" not in str(err.value)


def test_the_example_config_block_parses() -> None:
    """deploy/gateway.example.yaml's commented notifications/hooks block is valid uncommented."""
    text = EXAMPLE.read_text().split("\n# migration:\n", 1)[1]
    lines = [line.removeprefix("#").removeprefix(" ") for line in text.splitlines()]
    data = yaml.safe_load("\n".join(lines))
    [sink] = parse_notifications(data["notifications"], ["tasks", "default"])
    hooks = parse_hooks(data["hooks"], ["tasks", "default"])
    assert (sink.name, sink.format) == ("ops-slack", "slack")
    assert hooks.pre_promotion is not None
    assert hooks.post_rollback is not None


def test_json_from_the_environment() -> None:
    """A JSON string (how an environment override arrives) parses as the YAML value would."""
    [sink] = parse_notifications('[{"url": "http://127.0.0.1:9/x", "format": "slack"}]', ROUTES)
    assert sink.format == "slack"
    hooks = parse_hooks('{"post_rollback": {"url": "http://127.0.0.1:9/y"}}', ROUTES)
    assert hooks.post_rollback is not None
    with pytest.raises(ConfigError, match=r"^migration\.notifications: expected JSON"):
        parse_notifications("[{url: x", ROUTES)
