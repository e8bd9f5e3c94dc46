"""Project metadata (``pyproject.toml``) and a census of the files under the root.

The census reads every non-excluded file (default excludes only, no include filter) to count lines;
a file that looks binary (a NUL byte in its first 8 KiB) or cannot be read counts as a file with 0
lines. ``languages`` maps a language name to its number of files, most files first, then by name;
files of an unknown kind are counted in ``file_count`` only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.analysis import count_lines, language_for
from engine.paths import FileFilter, walk_files

_BINARY_SNIFF = 8192


def read_metadata(root: Path) -> dict[str, Any]:
    """``name``, ``version``, ``description`` from ``[project]``; else the directory and nulls.

    An unreadable or invalid ``pyproject.toml`` is treated like a missing one: project info is
    descriptive, and a broken file in the scanned project must not break the API.
    """
    import tomllib  # only `info` needs it; the CLI's other commands skip the import

    meta: dict[str, Any] = {"name": root.name, "version": None, "description": None}
    try:
        table = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return meta
    if not isinstance(table, dict):
        return meta
    for key in meta:
        value = table.get(key)
        if isinstance(value, str):
            meta[key] = value
    return meta


def census(root: Path, extra_excludes: Sequence[str] = ()) -> dict[str, Any]:
    """``file_count``, ``total_lines`` and ``languages`` over all non-excluded files."""
    files = walk_files(root, [], FileFilter.build(None, extra_excludes))
    languages: Counter[str] = Counter()
    total_lines = 0
    for rel in files:
        language = language_for(rel)
        if language is not None:
            languages[language] += 1
        try:
            content = (root / rel).read_bytes()
        except OSError:
            continue
        if b"\x00" not in content[:_BINARY_SNIFF]:
            total_lines += count_lines(content)
    ordered = sorted(languages.items(), key=lambda item: (-item[1], item[0]))
    return {"file_count": len(files), "total_lines": total_lines, "languages": dict(ordered)}
