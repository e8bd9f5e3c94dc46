"""argv built for each llmstruct CLI command."""

from __future__ import annotations

from fastapi_backend import cli_args


def test_scan_repeats_options_in_equals_form() -> None:
    """Each path and pattern is its own --option=value, so values starting with - stay values."""
    assert cli_args.scan(["a", "-b"], ["**/*.py"], ["x/**"], progress=True) == [
        "scan",
        "--paths=a",
        "--paths=-b",
        "--include=**/*.py",
        "--exclude=x/**",
        "--progress",
    ]


def test_scan_empty_include_is_explicit() -> None:
    """An empty include list is a bare --include, not the CLI's default pattern."""
    assert cli_args.scan([], [], []) == ["scan", "--include"]


def test_context_sets_only_given_options() -> None:
    """query is left out when None; include files repeat; max tokens always set."""
    assert cli_args.context("FULL", None, ["a.py", "b.py"], 10) == [
        "context",
        "FULL",
        "--include-file=a.py",
        "--include-file=b.py",
        "--max-tokens=10",
    ]
    assert "--query=hi" in cli_args.context("FOCUSED", "hi", [], 8000)


def test_list_tasks_sets_only_given_filters() -> None:
    """Unset filters are not passed; limit and offset always are."""
    assert cli_args.list_tasks("open", None, "x", None, 5, 10) == [
        "tasks",
        "list",
        "--status=open",
        "--tag=x",
        "--limit=5",
        "--offset=10",
    ]
