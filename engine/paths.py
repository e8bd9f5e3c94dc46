"""Confinement to the project root, glob matching and the file walk every scan and count shares.

Glob rules (documented because ``pathlib.match`` differs between Python versions):

- a pattern is matched against the POSIX path relative to the root;
- ``**`` matches any number of directories (including none), so ``**/*.py`` matches ``a.py`` and
  ``x/y/a.py``; ``*`` and ``?`` stay within one path segment; ``[...]`` is a character class;
- a pattern without ``/`` (``*.egg-info``, ``.git``, ``*.md``) matches the name of any path
  component, so excluding a directory name prunes the whole directory;
- a pattern with ``/`` matches the whole relative path, and an exclude that matches a
  directory prunes it; a leading ``/`` only anchors the pattern at the root (``/setup.py``
  is the top-level file, not any).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from engine.errors import InvalidInput, PathOutsideRoot

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "node_modules",
    ".llmstruct",
    "*.egg-info",
)


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    """Translate one glob into an anchored regular expression (rules in the module docstring)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif char == "*":
            out.append("[^/]*")
            i += 1
        elif char == "?":
            out.append("[^/]")
            i += 1
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end == -1:
                out.append(re.escape(char))
                i += 1
                continue
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            i = end + 1
        else:
            out.append(re.escape(char))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _clean(pattern: str) -> str:
    return pattern.strip().replace("\\", "/").strip("/")


def _is_name_pattern(pattern: str) -> bool:
    """No ``/`` inside and none leading: the pattern matches any single path component."""
    return "/" not in pattern.strip().replace("\\", "/")


class Matcher(NamedTuple):
    """A set of globs compiled into two alternations: one for names, one for whole paths."""

    names: re.Pattern[str] | None
    paths: re.Pattern[str] | None

    @classmethod
    def of(cls, patterns: Iterable[str]) -> Matcher:
        """Compile ``patterns`` (rules in the module docstring)."""
        names = [_compile(_clean(p)).pattern for p in patterns if _is_name_pattern(p)]
        paths = [_compile(_clean(p)).pattern for p in patterns if not _is_name_pattern(p)]
        return cls(
            re.compile("|".join(f"(?:{rx})" for rx in names)) if names else None,
            re.compile("|".join(f"(?:{rx})" for rx in paths)) if paths else None,
        )

    def matches(self, relpath: str) -> bool:
        """True when any pattern matches ``relpath``."""
        if self.paths is not None and self.paths.match(relpath):
            return True
        names = self.names
        return names is not None and any(names.match(part) for part in relpath.split("/"))


def glob_match(relpath: str, pattern: str) -> bool:
    """True when the relative POSIX path matches ``pattern`` (a name matches any component)."""
    return bool(_clean(pattern)) and Matcher.of([pattern]).matches(relpath)


class FileFilter(NamedTuple):
    """Include and exclude globs for one walk; excludes always contain the defaults.

    Immutable ``NamedTuple`` instead of a frozen dataclass to keep
    ``dataclasses``/``inspect`` out of the CLI.
    """

    include: tuple[str, ...]
    exclude: tuple[str, ...]
    include_matcher: Matcher
    exclude_matcher: Matcher

    @classmethod
    def build(cls, include: Iterable[str] | None, exclude: Iterable[str] | None) -> FileFilter:
        """Validate the patterns, add the default excludes and compile both sets once."""
        inc = tuple(_checked(p, "include_patterns") for p in (include or ()))
        exc = DEFAULT_EXCLUDES + tuple(_checked(p, "exclude_patterns") for p in (exclude or ()))
        return cls(inc, exc, Matcher.of(inc), Matcher.of(exc))

    def excluded(self, relpath: str) -> bool:
        """True when a file or directory is excluded (then nothing below it is visited)."""
        return self.exclude_matcher.matches(relpath)

    def included(self, relpath: str) -> bool:
        """True when a file matches an include pattern (no include patterns: every file)."""
        return not self.include or self.include_matcher.matches(relpath)


def _checked(pattern: object, field: str) -> str:
    if not isinstance(pattern, str) or not _clean(pattern):
        raise InvalidInput(f"{field}: every pattern must be a non-empty string")
    return pattern


def _fs_encodable(text: str) -> bool:
    """Whether ``text`` names a file at all: a lone surrogate outside surrogateescape's
    range cannot be encoded for the OS (``os.fsencode`` raises), so ``realpath`` would
    crash instead of refusing it."""
    try:
        os.fsencode(text)
    except UnicodeEncodeError:
        return False
    return True


def confine(root: Path, raw: str) -> Path:
    """Resolve a user-given relative path inside ``root`` or raise ``PathOutsideRoot``.

    Refused: absolute paths, ``..`` that climbs above the root, and anything whose real path (after
    following symlinks) is not inside the root's real path. Nothing is read here.
    """
    if not isinstance(raw, str):
        raise InvalidInput("paths must be strings")
    text = raw.replace("\\", "/")
    if "\x00" in text or not _fs_encodable(text):
        raise InvalidInput(f"Invalid path: {raw!r}")
    if text.startswith("/") or os.path.isabs(text) or re.match(r"^[A-Za-z]:", text):
        raise PathOutsideRoot(raw)
    normal = os.path.normpath(text) if text else "."
    if normal == ".." or normal.startswith("../"):
        raise PathOutsideRoot(raw)
    real = Path(os.path.realpath(root / normal))
    if not is_inside(root, real):
        raise PathOutsideRoot(raw)
    return real


def is_inside(root: Path, real: Path) -> bool:
    """True when ``real`` (already resolved) is ``root`` or below it."""
    return real == root or root in real.parents


def relative(root: Path, path: Path) -> str:
    """The POSIX path of ``path`` relative to ``root`` (``.`` for the root itself)."""
    return path.relative_to(root).as_posix() if path != root else "."


def walk_files(root: Path, starts: Sequence[Path], file_filter: FileFilter) -> list[str]:
    """Each included, non-excluded regular file under ``starts`` (the root), sorted, unique.

    Symlinked directories are not followed; a symlinked file is kept only when its target is inside
    the root (it is then read through its in-root name).
    """
    found: set[str] = set()
    for start in starts or [root]:
        rel_start = relative(root, start)
        if rel_start != "." and file_filter.excluded(rel_start):
            continue
        if start.is_file():
            if file_filter.included(rel_start) and _file_ok(root, start):
                found.add(rel_start)
            continue
        found.update(_walk_dir(root, start, file_filter))
    return sorted(found)


def _walk_dir(root: Path, start: Path, file_filter: FileFilter) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
        base = Path(dirpath)
        rel_dir = relative(root, base)
        prefix = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not file_filter.excluded(prefix + d))
        for name in filenames:
            rel = prefix + name
            if file_filter.excluded(rel) or not file_filter.included(rel):
                continue
            if _file_ok(root, base / name):
                yield rel


def _file_ok(root: Path, path: Path) -> bool:
    """A regular file whose real path is inside the root (symlinks out are skipped unread)."""
    if path.is_symlink() and not is_inside(root, Path(os.path.realpath(path))):
        return False
    return path.is_file()
