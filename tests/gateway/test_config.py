"""Configuration: YAML plus CUTOVER_* overrides, frozen values, field-naming errors, exit code 2."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gateway.commands import add_gateway_parser
from gateway.config import ConfigError, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "gateway.example.yaml"


def test_embedded_default() -> None:
    """The default serves both llmstruct backends, one catch-all route, sticky on the API key."""
    config = load_config()
    assert config.baseline.url == "http://127.0.0.1:8001"
    assert config.candidate.url == "http://127.0.0.1:8002"
    assert [r.name for r in config.routes] == ["default"]
    route = config.routes[0]
    assert route.paths == ("/*",)
    assert route.weight_bps == 0
    assert route.sticky.headers == ("x-api-key", "authorization")
    assert route.sticky.client_address
    assert (config.public.host, config.public.port) == ("127.0.0.1", 8080)
    assert (config.admin.host, config.admin.port) == ("127.0.0.1", 8081)


def test_example_config_is_valid() -> None:
    """deploy/gateway.example.yaml loads and means what its comments say."""
    config = load_config(EXAMPLE)
    assert [r.name for r in config.routes] == ["tasks", "default"]
    assert config.routes[0].weight_bps == 1000
    assert {"PUT", "DELETE", "GET"} <= config.routes[0].fallback_methods


def test_values_are_frozen() -> None:
    """The parsed configuration cannot be mutated."""
    config = load_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.admin_token = "x"  # type: ignore[misc]


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUTOVER_* variables win over the file, nested with ``__``; unrelated ones are ignored."""
    monkeypatch.setenv("CUTOVER_UPSTREAMS__CANDIDATE__URL", "http://10.0.0.7:9002")
    monkeypatch.setenv("CUTOVER_ADMIN_TOKEN", "from-env")
    monkeypatch.setenv("CUTOVER_LISTENERS__PUBLIC__PORT", "9080")
    monkeypatch.setenv("CUTOVER_ADMIN_URL", "http://127.0.0.1:8081")  # a CLI variable, not config
    config = parse_config("admin_token: from-file\nlisteners: {public: {port: 1}}\n")
    assert config.candidate.url == "http://10.0.0.7:9002"
    assert config.candidate.port == 9002
    assert config.admin_token == "from-env"
    assert config.public.port == 9080


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("routes: [{name: a, paths: ['/*'], weight_bps: 10001}]", "routes.0.weight_bps"),
        ("routes: [{name: a, paths: ['api']}]", "routes.0.paths"),
        ("routes: [{name: a, paths: ['/*']}, {name: a, paths: ['/x']}]", "routes"),
        ("upstreams: {candidate: {url: 'https://x'}}", "upstreams.candidate.url"),
        ("upstreams: {baseline: {url: 'http://x/path'}}", "upstreams.baseline.url"),
        ("override: {trusted_cidrs: ['10.0.0.0/99']}", "override.trusted_cidrs"),
        ("listeners: {admin: {port: 70000}}", "listeners.admin.port"),
        ("access_log_sample_rate: 2", "access_log_sample_rate"),
        (
            "routes: [{name: a, paths: ['/*'], fallback_methods: [POST]}]",
            "routes.0.fallback_methods.0",
        ),
        ("routs: []", "routs"),
    ],
)
def test_errors_name_the_field(text: str, field: str) -> None:
    """An invalid value stops parsing with a message that names its field."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yaml")
    assert f"  {field}: " in str(info.value)


def test_env_errors_name_the_field_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad environment override is reported like a bad file value."""
    monkeypatch.setenv("CUTOVER_UPSTREAMS__BASELINE__CONNECT_TIMEOUT_S", "-1")
    with pytest.raises(ConfigError, match=r"upstreams\.baseline\.connect_timeout_s"):
        parse_config("")


def test_yaml_that_is_not_a_mapping() -> None:
    """Broken YAML and non-mapping documents are config errors, not tracebacks."""
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("a: [")
    with pytest.raises(ConfigError, match="mapping"):
        parse_config("- 1")


def _gateway_command(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    add_gateway_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_gateway_command_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cutover gateway --config bad.yaml`` exits with code 2 and names the field."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("routes: [{name: default, paths: ['/*'], weight_bps: -5}]\n")
    assert _gateway_command(["gateway", "--config", str(bad)]) == 2
    assert "routes.0.weight_bps" in capsys.readouterr().err


def test_gateway_command_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing config file is exit code 2 with the path in the message."""
    assert _gateway_command(["gateway", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml" in capsys.readouterr().err


def test_shadow_recording_and_migration_sections() -> None:
    """A route's shadow block, the recorder and the opaque migration section are carried through."""
    config = parse_config(
        "routes: [{name: default, paths: ['/*'], shadow: {percent: 25}}]\n"
        "shadow: {workers: 2}\n"
        "recording: {path: /tmp/rec.jsonl}\n"
        "migration: {interval_s: 1}\n"
    )
    assert config.routes[0].shadow is not None
    assert config.routes[0].shadow.percent == 25
    assert config.shadow is not None
    assert config.shadow.workers == 2
    assert config.recording is not None
    assert config.recording.sample_rate == 0.01
    assert config.migration == {"interval_s": 1}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (
            "routes: [{name: default, paths: ['/*'], shadow: {percent: 200}}]",
            "routes.0.shadow.percent",
        ),
        ("shadow: {routes: {nope: {percent: 5}}}", "shadow.routes.nope"),
        ("recording: {path: x, sample_rate: 2}", "recording.sample_rate"),
    ],
)
def test_bad_shadow_or_recording_values_name_the_field(text: str, field: str) -> None:
    """Errors in the sections other parts own still stop start-up naming the field."""
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert field in str(err.value)
