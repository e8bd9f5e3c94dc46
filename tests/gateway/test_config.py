"""Configuration: YAML plus CUTOVER_* overrides, frozen values, field-naming errors, exit code 2."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.commands import add_gateway_parser
from gateway.config import ConfigError, OperationPattern, UpstreamConfig, load_config, parse_config

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
        ("redact: {headers: ['  ']}", "redact.headers.0"),
    ],
)
def test_errors_name_the_field(text: str, field: str) -> None:
    """An invalid value stops parsing with a one-line message that names its field."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yaml")
    assert f"(test.yaml): {field}: " in str(info.value)
    assert "\n" not in str(info.value)


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


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("routes: [{name: a, paths: ['/*'], weight_bps: true}]", "routes.0.weight_bps"),
        ("routes: [{name: a, paths: ['/*'], weight_bps: '50'}]", "routes.0.weight_bps"),
        ("routes: [{name: a, paths: ['/*'], weight_bps: 50.0}]", "routes.0.weight_bps"),
        ("access_log_sample_rate: '0.5'", "access_log_sample_rate"),
        ("listeners: {public: {port: '8080'}}", "listeners.public.port"),
        ("routes: [{name: a, paths: ['/*'], sticky: {client_address: 'yes'}}]",
         "routes.0.sticky.client_address"),
        ("upstreams: {baseline: {url: 'http://x:99999'}}", "upstreams.baseline.url"),
        ("upstreams: {baseline: {url: 'http://x:8001', read_timeout_s: 1e308}}",
         "upstreams.baseline.read_timeout_s"),
        ("upstreams: {baseline: {url: 'http://x:8001', connect_timeout_s: .inf}}",
         "upstreams.baseline.connect_timeout_s"),
        ("upstreams: {candidate: {url: 'http://x:8002', total_timeout_s: .nan}}",
         "upstreams.candidate.total_timeout_s"),
    ],
)  # fmt: skip
def test_file_values_are_strict_and_bounded(text: str, field: str) -> None:
    """A file value of the wrong type is not coerced (true is not 1, "50" not 50); bounds hold."""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yaml")
    assert f"(test.yaml): {field}: " in str(info.value)


def test_environment_values_are_still_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment overrides are strings by nature: they convert as before, after a strict file."""
    monkeypatch.setenv("CUTOVER_LISTENERS__PUBLIC__PORT", "9000")
    monkeypatch.setenv("CUTOVER_ACCESS_LOG_SAMPLE_RATE", "0.5")
    config = parse_config("listeners: {public: {port: 8000}}")
    assert config.public.port == 9000
    assert config.access_log_sample_rate == 0.5


@pytest.mark.parametrize(
    ("name", "closest"),
    [
        ("CUTOVER_UPSTREAMS__CANDIATE__URL", "CUTOVER_UPSTREAMS__CANDIDATE__URL"),
        ("CUTOVER_LISTENER__ADMIN__HOST", "CUTOVER_LISTENERS__ADMIN__HOST"),
        ("CUTOVER_ADMIN_TOKN", "CUTOVER_ADMIN_TOKEN"),
        ("cutover_access_log_rate", "CUTOVER_ACCESS_LOG_SAMPLE_RATE"),
    ],
)
def test_an_unknown_cutover_variable_names_the_closest_known_one(
    monkeypatch: pytest.MonkeyPatch, name: str, closest: str
) -> None:
    """A misspelt CUTOVER_* variable stops start-up naming it and the closest known name."""
    monkeypatch.setenv(name, "x")
    with pytest.raises(ConfigError) as info:
        parse_config("")
    message = str(info.value)
    assert f"environment variable {name}: unknown setting; did you mean {closest}?" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "name",
    [
        "CUTOVER_ADMIN_URL",  # read by the operator CLI
        "CUTOVER_ADMIN_TOKEN",  # a setting and a CLI variable
        "CUTOVER_UPSTREAMS__BASELINE__POOL_SIZE",
        "CUTOVER_LISTENERS",  # a whole section, as JSON
        "CUTOVER_MIGRATION__INTERVAL_S",  # below a free-form section
    ],
)
def test_known_and_documented_variables_are_accepted(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Every name a setting or the CLI reads is accepted, sections and free-form keys included."""
    values = {
        "CUTOVER_UPSTREAMS__BASELINE__POOL_SIZE": "8",
        "CUTOVER_LISTENERS": '{"public": {"port": 8080}}',
        "CUTOVER_MIGRATION__INTERVAL_S": "2",
    }
    monkeypatch.setenv(name, values.get(name, "x"))
    parse_config("upstreams: {baseline: {url: 'http://127.0.0.1:8001'}}")


def test_python_m_gateway_exits_2_with_one_line(tmp_path: Path) -> None:
    """``python -m gateway --config bad.yaml`` exits 2 with one line naming the field."""
    import os
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("upstreams: {baseline: {url: 'http://127.0.0.1:99999'}}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUTOVER_")}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(bad)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "upstreams.baseline.url: " in lines[0]
    assert "bad.yaml" in lines[0]


def test_route_fallback_settings() -> None:
    """``fallback``, ``fallback_after_s`` (auto or seconds) and the floor are parsed per route."""
    config = parse_config(
        "routes: [{name: a, paths: ['/a'], fallback: to_baseline, fallback_after_s: 1.5},"
        " {name: b, paths: ['/*'], fallback_after_s: auto, fallback_after_floor_s: 0.25}]",
        "test.yaml",
    )
    a, b = config.routes
    assert (a.fallback, a.fallback_after_s, a.fallback_after_floor_s) == ("to_baseline", 1.5, 1.0)
    assert (b.fallback, b.fallback_after_s, b.fallback_after_floor_s) == ("both", None, 0.25)


def test_unquoted_fallback_off_means_off() -> None:
    """``fallback: off`` unquoted (YAML 1.1 reads it as false) is the ``off`` mode, not an error."""
    config = parse_config("routes: [{name: a, paths: ['/*'], fallback: off}]", "test.yaml")
    assert config.routes[0].fallback == "off"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("routes: [{name: a, paths: ['/*'], fallback: sometimes}]", "routes.0.fallback"),
        ("routes: [{name: a, paths: ['/*'], fallback_after_s: 0}]", "routes.0.fallback_after_s"),
        ("routes: [{name: a, paths: ['/*'], fallback_after_s: never}]",
         "routes.0.fallback_after_s"),
        ("routes: [{name: a, paths: ['/*'], fallback_after_s: 31}]", "routes.0.fallback_after_s"),
        ("routes: [{name: a, paths: ['/*'], fallback_after_floor_s: -1}]",
         "routes.0.fallback_after_floor_s"),
    ],
)  # fmt: skip
def test_bad_fallback_settings_name_the_field(text: str, field: str) -> None:
    """A bad fallback mode or deadline (or one above the 30 s read timeout) names its field."""
    with pytest.raises(ConfigError, match=rf"{field}\b"):
        parse_config(text, "test.yaml")


def test_slow_client_limits_have_defaults_and_bounds() -> None:
    """limits.* for slow clients default to 10 s / 500 B/s / no cap and refuse unbounded values."""
    limits = parse_config("").limits
    assert (limits.header_timeout_s, limits.body_idle_timeout_s) == (10.0, 10.0)
    assert (limits.body_min_rate_bytes_s, limits.body_grace_s) == (500.0, 10.0)
    assert limits.max_connections is None
    for text, field in [
        ("limits: {header_timeout_s: .inf}", "limits.header_timeout_s"),
        ("limits: {body_idle_timeout_s: 0}", "limits.body_idle_timeout_s"),
        ("limits: {body_min_rate_bytes_s: -1.0}", "limits.body_min_rate_bytes_s"),
        ("limits: {max_connections: 0}", "limits.max_connections"),
    ]:
        with pytest.raises(ConfigError) as info:
            parse_config(text, "test.yaml")
        assert f"(test.yaml): {field}: " in str(info.value)


def test_route_operations_in_both_forms() -> None:
    """``operations`` takes 'METHOD /path' (named by itself) or {name, method, path}, bounded."""
    config = parse_config(
        "routes: [{name: a, paths: ['/*'], max_operations: 4, operations: ["
        "'POST /api/v1/tasks', {name: one task, method: get, path: '/api/v1/tasks/{task_id}'}]}]",
        "test.yaml",
    )
    route = config.routes[0]
    assert route.operations == (
        OperationPattern("POST /api/v1/tasks", "POST", "/api/v1/tasks"),
        OperationPattern("one task", "GET", "/api/v1/tasks/{task_id}"),
    )
    assert route.max_operations == 4


def test_route_operations_default_to_none_bounded_at_16() -> None:
    """Without ``operations`` a route has no patterns of its own and reports at most 16 names."""
    route = parse_config("").routes[0]
    assert (route.operations, route.max_operations) == ((), 16)


def test_route_operations_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``CUTOVER_ROUTES`` (JSON) carries operations in both forms too."""
    operations = ["GET /x", {"name": "y", "method": "PUT", "path": "/y/{id}"}]
    routes = [{"name": "a", "paths": ["/*"], "operations": operations}]
    monkeypatch.setenv("CUTOVER_ROUTES", json.dumps(routes))
    assert [op.name for op in parse_config("").routes[0].operations] == ["GET /x", "y"]


@pytest.mark.parametrize(
    ("operations", "field", "message"),
    [
        ("['GET']", "routes.0.operations.0", "expected 'METHOD /path'"),
        ("['GET /a', 'G3T /b']", "routes.0.operations.1", "not an HTTP method"),
        ("['GET tasks']", "routes.0.operations.0", "must start with '/'"),
        ("['GET /a?b=1']", "routes.0.operations.0", "no query"),
        ("['GET /a/{id']", "routes.0.operations.0", "'{param}'"),
        ("['GET /a/{id}x}']", "routes.0.operations.0", "'{param}'"),
        ("[{name: x, method: GET}]", "routes.0.operations.0", "missing path"),
        ("[{name: x, method: GET, path: /a, weight: 1}]", "routes.0.operations.0", "unknown key"),
        ("[{name: 7, method: GET, path: /a}]", "routes.0.operations.0", "name: expected a string"),
        ("[{name: other, method: GET, path: /a}]", "routes.0.operations.0", "reserved"),
        ("[{name: '', method: GET, path: /a}]", "routes.0.operations.0", "1..128"),
        ("[42]", "routes.0.operations.0", "expected 'METHOD /path'"),
        ("['GET /a/{x}', 'POST /a/{x}', 'GET /a/{y}']", "routes.0.operations.2", "already entry 0"),
    ],
)
def test_bad_route_operations_name_the_entry(operations: str, field: str, message: str) -> None:
    """A bad ``operations`` entry stops start-up naming ``routes.N.operations.M`` and why."""
    with pytest.raises(ConfigError) as info:
        parse_config(f"routes: [{{name: a, paths: ['/*'], operations: {operations}}}]", "t.yaml")
    assert f"{field}: " in str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize("bound", [0, 257, "'8'", True])
def test_max_operations_bounds(bound: object) -> None:
    """``max_operations`` is a whole number within 1..256."""
    with pytest.raises(ConfigError, match=r"routes\.0\.max_operations: "):
        parse_config(f"routes: [{{name: a, paths: ['/*'], max_operations: {bound}}}]", "t.yaml")


def test_environment_json_below_the_top_level_is_decoded_and_merged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A list or a section given as JSON below the top level is decoded, merged with the file's."""
    monkeypatch.setenv("CUTOVER_OVERRIDE__TRUSTED_CIDRS", '["10.0.0.0/8"]')
    monkeypatch.setenv("CUTOVER_REDACT__HEADERS", '["X-Secret"]')
    monkeypatch.setenv("CUTOVER_LISTENERS__PUBLIC", '{"host": "0.0.0.0"}')
    config = parse_config("listeners: {public: {port: 9001}}")
    assert [str(n) for n in config.override.trusted_networks] == ["10.0.0.0/8"]
    assert "x-secret" in config.redact.headers
    assert (config.public.host, config.public.port) == ("0.0.0.0", 9001)


def test_broken_environment_json_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment value that is not JSON where JSON is expected stops start-up naming it."""
    monkeypatch.setenv("CUTOVER_OVERRIDE__TRUSTED_CIDRS", "[10.")
    with pytest.raises(ConfigError, match=r"override\.trusted_cidrs: the environment value is not"):
        parse_config("")
    monkeypatch.setenv("CUTOVER_OVERRIDE__TRUSTED_CIDRS", "[]")
    monkeypatch.setenv("CUTOVER_LISTENERS", "{oops")
    with pytest.raises(ConfigError, match=r"listeners: the environment value is not JSON \(CUTOV"):
        parse_config("")


def test_a_section_built_in_code_is_checked_like_the_file() -> None:
    """Sections are validated when code builds them, and a validated section validates again."""
    with pytest.raises(ValidationError, match=r"^1 validation error for UpstreamConfig\nurl\n"):
        UpstreamConfig(url="https://10.0.0.1")
    route = parse_config("routes: [{name: a, paths: ['/*'], operations: ['GET /x']}]").routes[0]
    assert dataclasses.replace(route) == route


def test_sections_are_the_data_path_values() -> None:
    """Parsed values are the frozen slotted dataclasses the data path reads, derived fields set."""
    config = parse_config(
        "upstreams: {candidate: {url: 'http://10.0.0.2:9002'}}\n"
        "routes: [{name: a, paths: ['/*'], methods: [get], fallback_methods: [PUT],"
        " sticky: {headers: [X-Key]}}]\n"
        "override: {token_header: X-Tok, trusted_cidrs: [10.1.2.3/16]}\n"
        "recording: {path: /tmp/rec.jsonl}\nredact: {headers: [X-Secret]}\n"
    )
    assert (config.candidate.host, config.candidate.port) == ("10.0.0.2", 9002)
    route = config.routes[0]
    assert route.methods == frozenset({"GET"})
    assert route.fallback_methods == frozenset({"GET", "HEAD", "OPTIONS", "PUT"})
    assert route.sticky.header_keys == (b"x-key",)
    assert config.override.token_header == "x-tok"
    assert [str(n) for n in config.override.trusted_networks] == ["10.1.0.0/16"]
    assert config.recording is not None
    assert "x-secret" in config.recording.redact_headers
    assert not hasattr(route, "__dict__")  # slots: plain attribute reads on the hot path
