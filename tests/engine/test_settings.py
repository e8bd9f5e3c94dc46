"""LlmstructSettings and the CLI's light reader agree, and bad values name their field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

import engine
from engine.config import (
    DEFAULT_PROJECT_ROOT,
    EngineConfig,
    SettingsError,
    config_from_env,
    engine_config,
)
from engine.settings import LlmstructSettings, load_settings


def test_public_api_is_pinned() -> None:
    """The facade exports exactly what the backends import."""
    assert set(engine.__all__) == {
        "VERSION",
        "Engine",
        "EngineError",
        "InvalidInput",
        "LlmstructSettings",
        "NotFound",
        "PathOutsideRoot",
    }
    assert engine.Engine.__name__ == "Engine"
    assert engine.LlmstructSettings is LlmstructSettings
    assert issubclass(engine.PathOutsideRoot, engine.InvalidInput)
    assert issubclass(engine.InvalidInput, engine.EngineError)
    assert issubclass(engine.NotFound, engine.EngineError)


def test_defaults() -> None:
    """Defaults follow contracts/API.md; the root is the repository holding the engine package."""
    settings = LlmstructSettings()
    assert settings.api_key == "dev-key"
    assert settings.project_root == DEFAULT_PROJECT_ROOT
    assert (DEFAULT_PROJECT_ROOT / "engine" / "__init__.py").is_file()
    assert settings.database == DEFAULT_PROJECT_ROOT / ".llmstruct" / "llmstruct.db"
    assert (settings.cli_timeout, settings.max_concurrent, settings.bridge_mode) == (
        30.0,
        10,
        "subprocess",
    )
    assert (settings.max_body_bytes, settings.cors_origins, settings.log_level) == (
        1048576,
        ["*"],
        "INFO",
    )


def test_env_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every field is read from LLMSTRUCT_*; origins JSON or a comma list; db under the root."""
    monkeypatch.setenv("LLMSTRUCT_PROJECT_ROOT", str(tmp_path))
    monkeypatch.setenv("LLMSTRUCT_DATABASE", "data/x.db")
    monkeypatch.setenv("LLMSTRUCT_CORS_ORIGINS", "http://a, http://b")
    monkeypatch.setenv("LLMSTRUCT_BRIDGE_MODE", "inprocess")
    monkeypatch.setenv("LLMSTRUCT_LOG_LEVEL", "debug")
    settings = LlmstructSettings()
    assert settings.project_root == tmp_path.resolve()
    assert settings.database == tmp_path.resolve() / "data" / "x.db"
    assert settings.cors_origins == ["http://a", "http://b"]
    assert (settings.bridge_mode, settings.log_level) == ("inprocess", "DEBUG")
    monkeypatch.setenv("LLMSTRUCT_CORS_ORIGINS", '["http://c"]')
    assert LlmstructSettings().cors_origins == ["http://c"]
    assert config_from_env() == engine_config(settings)
    assert config_from_env() == EngineConfig(
        tmp_path.resolve(), tmp_path.resolve() / "data" / "x.db"
    )


@pytest.mark.parametrize(
    ("var", "value", "field"),
    [
        ("LLMSTRUCT_CLI_TIMEOUT", "0", "CLI_TIMEOUT"),
        ("LLMSTRUCT_MAX_CONCURRENT", "many", "MAX_CONCURRENT"),
        ("LLMSTRUCT_BRIDGE_MODE", "carrier-pigeon", "BRIDGE_MODE"),
        ("LLMSTRUCT_MAX_BODY_BYTES", "-5", "MAX_BODY_BYTES"),
        ("LLMSTRUCT_LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("LLMSTRUCT_PROJECT_ROOT", "/definitely/not/here", "PROJECT_ROOT"),
    ],
)
def test_bad_values_name_the_field(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, field: str
) -> None:
    """A bad value raises an error that names the variable."""
    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError, match=field.lower()):
        LlmstructSettings()
    with pytest.raises(SettingsError, match=f"^LLMSTRUCT_{field}: "):
        load_settings()


def test_light_reader_names_bad_root(tmp_path: Path) -> None:
    """The CLI's reader refuses a missing root and a directory as database, naming the variable."""
    with pytest.raises(SettingsError, match=r"^LLMSTRUCT_PROJECT_ROOT: "):
        config_from_env({"LLMSTRUCT_PROJECT_ROOT": str(tmp_path / "missing")})
    with pytest.raises(SettingsError, match=r"^LLMSTRUCT_DATABASE: "):
        config_from_env(
            {"LLMSTRUCT_PROJECT_ROOT": str(tmp_path), "LLMSTRUCT_DATABASE": str(tmp_path)}
        )
    assert (
        config_from_env({"llmstruct_project_root": str(tmp_path)}).project_root
        == tmp_path.resolve()
    )


def test_engine_accepts_settings_and_creates_db_dir(tmp_path: Path) -> None:
    """Engine(LlmstructSettings(...)) works and creates the database's parent directory."""
    settings = LlmstructSettings(project_root=tmp_path, database=tmp_path / "deep" / "dir" / "x.db")
    eng = engine.Engine(settings)
    try:
        assert (tmp_path / "deep" / "dir" / "x.db").exists()
        assert eng.status()["project_root"] == str(tmp_path.resolve())
    finally:
        eng.close()
