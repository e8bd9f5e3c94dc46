"""Settings without pydantic: LlmstructSettings' variables and defaults, errors naming them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from custom_backend.settings import load_settings
from engine.config import SettingsError
from engine.settings import LlmstructSettings


def test_same_values_as_llmstruct_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One environment: both loaders resolve key, root, database, limit, origins and level alike."""
    env = {
        "LLMSTRUCT_API_KEY": "k",
        "llmstruct_project_root": str(tmp_path),
        "LLMSTRUCT_DATABASE": "data/x.db",
        "LLMSTRUCT_MAX_BODY_BYTES": "123",
        "LLMSTRUCT_CORS_ORIGINS": "http://a.test, http://b.test",
        "LLMSTRUCT_LOG_LEVEL": "debug",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ours, theirs = load_settings(), LlmstructSettings()
    assert ours.api_key == theirs.api_key
    assert ours.project_root == theirs.project_root
    assert ours.database == theirs.database
    assert ours.max_body_bytes == theirs.max_body_bytes
    assert list(ours.cors_origins) == theirs.cors_origins
    assert ours.log_level == theirs.log_level
    assert load_settings({"LLMSTRUCT_CORS_ORIGINS": '["x"]'}).cors_origins == ("x",)


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({"LLMSTRUCT_MAX_BODY_BYTES": "0"}, "LLMSTRUCT_MAX_BODY_BYTES"),
        ({"LLMSTRUCT_MAX_BODY_BYTES": "lots"}, "LLMSTRUCT_MAX_BODY_BYTES"),
        ({"LLMSTRUCT_LOG_LEVEL": "loud"}, "LLMSTRUCT_LOG_LEVEL"),
        ({"LLMSTRUCT_API_KEY": ""}, "LLMSTRUCT_API_KEY"),
        ({"LLMSTRUCT_PROJECT_ROOT": "/does/not/exist"}, "LLMSTRUCT_PROJECT_ROOT"),
        ({"LLMSTRUCT_CORS_ORIGINS": "[1]"}, "LLMSTRUCT_CORS_ORIGINS"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], field: str) -> None:
    """A bad value raises SettingsError whose message starts with the variable."""
    with pytest.raises(SettingsError, match=f"^{field}"):
        load_settings(env)


def test_server_refuses_to_start_on_bad_settings() -> None:
    """``python -m custom_backend`` exits 2 and names the variable instead of serving."""
    proc = subprocess.run(
        [sys.executable, "-m", "custom_backend", "--port", "1"],
        env={"LLMSTRUCT_MAX_BODY_BYTES": "-5", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "LLMSTRUCT_MAX_BODY_BYTES" in proc.stderr


def test_a_postgres_url_means_the_same_to_both_loaders(monkeypatch: pytest.MonkeyPatch) -> None:
    """A postgresql:// URL stays a URL for both (not a path); a bad one is named, redacted."""
    from engine.settings import load_settings as load_llmstruct

    url = "postgresql://app:pw-xyz-secret@db.example:5432/llmstruct?sslmode=require"
    monkeypatch.setenv("LLMSTRUCT_DATABASE", url)
    assert load_settings().database == LlmstructSettings().database == url
    monkeypatch.setenv("LLMSTRUCT_DATABASE", "postgres://app:pw-xyz-secret@db:70000/x")
    for loader in (load_settings, load_llmstruct):
        with pytest.raises(SettingsError) as caught:
            loader()
        assert str(caught.value) == (
            "LLMSTRUCT_DATABASE: not a valid PostgreSQL URL (postgres://app:***@db:70000/x):"
            " bad port '70000'"
        )
