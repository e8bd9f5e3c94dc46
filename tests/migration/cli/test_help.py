"""Every ``cutover`` command explains itself: a description, an example,
defaults (issue #15 item 6)."""

from __future__ import annotations

import argparse

import pytest

from migration.cli.main import build_parser, subcommands

PARSER = build_parser()
COMMANDS = subcommands(PARSER)


def test_the_walk_finds_the_nested_commands() -> None:
    """The walk reaches the groups' subcommands, so the checks below cover them too."""
    assert {"up", "status", "migrate start", "migrate abort", "contracts check"} <= set(COMMANDS)


@pytest.mark.parametrize("words", sorted(COMMANDS))
def test_each_command_has_a_description_an_example_and_no_double_percent(words: str) -> None:
    """``cutover WORDS --help`` has a description, an example of itself and no escaped ``%%``."""
    parser = COMMANDS[words]
    assert parser.description, f"cutover {words}: no description"
    text = parser.format_help()
    assert "example" in (parser.epilog or ""), f"cutover {words}: no example"
    assert f"  cutover {words}" in text or f" cutover {words} " in text
    assert "%%" not in text


@pytest.mark.parametrize("words", sorted(COMMANDS))
def test_each_option_has_help_and_shows_its_default(words: str) -> None:
    """Every option says what it does, and the help of one with a default names it."""
    parser = COMMANDS[words]
    formatter = parser._get_formatter()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        assert action.help, f"cutover {words} {action.dest}: no help"
        if action.default not in (None, False, argparse.SUPPRESS):
            shown = formatter._get_help_string(action) or ""
            assert "default" in shown.lower(), f"cutover {words} {action.dest}: default hidden"


def test_example_lines_are_kept_as_written() -> None:
    """An epilog's indented example lines are not re-wrapped into one paragraph."""
    text = COMMANDS["fault"].format_help()
    assert "\n  cutover fault candidate --clear" in text
    assert "\n  cutover fault\n" in text


def test_a_provider_that_fails_to_import_fails_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing or broken provider module raises instead of dropping its commands silently."""
    from migration.cli import main as cli_main

    monkeypatch.setattr(cli_main, "PROVIDERS", (*cli_main.PROVIDERS, "migration.cli.no_such"))
    with pytest.raises(ModuleNotFoundError, match="no_such"):
        cli_main.build_parser()
