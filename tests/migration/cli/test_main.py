"""The `cutover` dispatcher."""

import pytest

from migration.cli.main import build_parser, main


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Running `cutover` with no subcommand shows usage and signals a usage error."""
    assert main([]) == 2
    assert "usage: cutover" in capsys.readouterr().out


def test_parser_builds_with_every_available_provider() -> None:
    """Every provider module that exists registers without clashing names."""
    parser = build_parser()
    assert parser.prog == "cutover"
