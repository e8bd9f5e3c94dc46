"""``cutover up`` keeps its admin token in the state directory and names a missing config file."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest

from migration.cli.stack import TOKEN_FILE, AdminTokenError, register, state_admin_token


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CUTOVER_* variable from the outside changes the config or the token."""
    for key in list(os.environ):
        if key.startswith("CUTOVER_"):
            monkeypatch.delenv(key)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(argv)


def test_the_token_is_created_private_and_reused(tmp_path: Path) -> None:
    """The first call writes a 0600 token file; the next returns the same token."""
    token = state_admin_token(tmp_path)
    path = tmp_path / TOKEN_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text("utf-8") == token + "\n"
    assert state_admin_token(tmp_path) == token


def test_a_token_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A token file others can read is refused, naming the file and the mode."""
    path = tmp_path / TOKEN_FILE
    path.write_text("shared\n", "utf-8")
    path.chmod(0o644)
    with pytest.raises(AdminTokenError, match=r"admin-token is readable by others \(mode 0644\)"):
        state_admin_token(tmp_path)


def test_an_empty_token_file_is_refused(tmp_path: Path) -> None:
    """An empty token file is an error rather than an empty token."""
    path = tmp_path / TOKEN_FILE
    path.touch(mode=0o600)
    with pytest.raises(AdminTokenError, match="is empty"):
        state_admin_token(tmp_path)


def test_up_configs_share_the_state_dir_token(tmp_path: Path) -> None:
    """Two ``up`` configs on one state dir carry the same admin token (issue #15 item 5)."""
    from migration.cli.stack import _up_config

    args = parse(["up", "--state-dir", str(tmp_path)])
    first, second = _up_config(args, tmp_path), _up_config(args, tmp_path)
    assert first.admin_token == second.admin_token == state_admin_token(tmp_path)


def test_the_environment_token_wins_and_is_not_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CUTOVER_ADMIN_TOKEN is used as is and never written to the state dir."""
    from migration.cli.stack import _up_config

    monkeypatch.setenv("CUTOVER_ADMIN_TOKEN", "from-env")
    assert _up_config(parse(["up", "--state-dir", str(tmp_path)]), tmp_path).admin_token == (
        "from-env"
    )
    assert not (tmp_path / TOKEN_FILE).exists()


def test_a_missing_config_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``up --config missing.yaml`` exits 2 with one line naming the file, no raw errno."""
    missing = tmp_path / "missing.yaml"
    args = parse(["up", "--config", str(missing), "--state-dir", str(tmp_path / "state")])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert err == f"cutover up: config file {missing}: No such file or directory\n"
