"""argv for each ``llmstruct`` CLI command (API.md, "The llmstruct CLI"): pure functions, no I/O.

Repeatable options are passed once per value in the ``--option=value`` form (the CLI extends or
appends them), so a value that starts with ``-`` is never mistaken for an option; positional task
ids follow ``--`` for the same reason.
"""

from __future__ import annotations

from collections.abc import Iterable


def _repeat(option: str, values: Iterable[str]) -> list[str]:
    return [f"{option}={value}" for value in values]


def scan(
    paths: list[str],
    include_patterns: list[str],
    exclude_patterns: list[str],
    progress: bool = False,
) -> list[str]:
    """``scan [--paths P]... [--include G]... [--exclude G]... [--progress]``."""
    args = [
        "scan",
        *_repeat("--paths", paths),
        # A bare ``--include`` is an explicit empty list; leaving it out would
        # mean the default ``**/*.py``.
        *(_repeat("--include", include_patterns) or ["--include"]),
        *_repeat("--exclude", exclude_patterns),
    ]
    if progress:
        args.append("--progress")
    return args


def context(mode: str, query: str | None, include_files: list[str], max_tokens: int) -> list[str]:
    """``context MODE [--query Q] [--include-file F]... --max-tokens N``."""
    args = ["context", mode]
    if query is not None:
        args.append(f"--query={query}")
    args.extend(_repeat("--include-file", include_files))
    args.append(f"--max-tokens={max_tokens}")
    return args


def list_tasks(
    status: str | None,
    priority: str | None,
    tag: str | None,
    q: str | None,
    limit: int,
    offset: int,
) -> list[str]:
    """``tasks list`` with only the filters that are set."""
    args = ["tasks", "list"]
    for option, value in (
        ("--status", status),
        ("--priority", priority),
        ("--tag", tag),
        ("--q", q),
    ):
        if value is not None:
            args.append(f"{option}={value}")
    args.extend([f"--limit={limit}", f"--offset={offset}"])
    return args
