"""Glob matching and confinement to the project root."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidInput, PathOutsideRoot
from engine.paths import FileFilter, confine, glob_match, walk_files


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("a.py", "**/*.py", True),
        ("x/y/a.py", "**/*.py", True),
        ("x/y/a.pyc", "**/*.py", False),
        ("x/a.py", "*.py", True),
        ("x/a.py", "x/*.py", True),
        ("x/y/a.py", "x/*.py", False),
        ("x/y/a.py", "x/**", True),
        ("dist/a.egg-info/PKG", "*.egg-info", True),
        ("src/.git/config", ".git", True),
        ("src/gitx/config", ".git", False),
        ("a1.py", "a?.py", True),
        ("ab.py", "a[!b].py", False),
        ("ac.py", "a[!b].py", True),
    ],
)
def test_glob_match(path: str, pattern: str, expected: bool) -> None:
    """`**` spans directories, `*` stays in a segment, a name pattern matches any component."""
    assert glob_match(path, pattern) is expected


def test_confine_accepts_paths_inside(tmp_path: Path) -> None:
    """A relative path, even one with a harmless `..`, resolves inside the root."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert confine(tmp_path, "a/../a/b") == tmp_path / "a" / "b"
    assert confine(tmp_path, "") == tmp_path


@pytest.mark.parametrize("raw", ["/etc/passwd", "..", "../x", "a/../../x", "C:/windows"])
def test_confine_refuses_absolute_and_dotdot(tmp_path: Path, raw: str) -> None:
    """Absolute paths and `..` escapes raise PathOutsideRoot with the contract's message."""
    with pytest.raises(PathOutsideRoot, match=r"^Path is outside the project root: "):
        confine(tmp_path, raw)


def test_confine_refuses_symlink_escape(tmp_path: Path) -> None:
    """A symlink inside the root that points outside it is refused."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathOutsideRoot):
        confine(root, "link")
    with pytest.raises(PathOutsideRoot):
        confine(root, "link/secret.py")


def test_confine_rejects_non_strings(tmp_path: Path) -> None:
    """A non-string path is invalid input, not a crash."""
    with pytest.raises(InvalidInput):
        confine(tmp_path, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["\x00", "a\x00b", "\ud800", "pkg/\udfff.py"])
def test_confine_refuses_what_names_no_file(tmp_path: Path, raw: str) -> None:
    """NUL and a lone surrogate the OS cannot encode are an invalid path (400), never a crash."""
    with pytest.raises(InvalidInput, match=r"^Invalid path: "):
        confine(tmp_path, raw)


def test_walk_skips_symlinked_file_pointing_outside(tmp_path: Path) -> None:
    """A symlinked file whose target is outside the root is never listed (so never read)."""
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.py").write_text("x = 1\n")
    (root / "inside.py").write_text("y = 1\n")
    (root / "leak.py").symlink_to(tmp_path / "secret.py")
    (root / "alias.py").symlink_to(root / "inside.py")
    files = walk_files(root, [], FileFilter.build(["**/*.py"], None))
    assert files == ["alias.py", "inside.py"]


def test_filter_rejects_empty_pattern() -> None:
    """An empty glob is refused with the field name."""
    with pytest.raises(InvalidInput, match="exclude_patterns"):
        FileFilter.build(None, [""])


def test_leading_slash_anchors_at_root() -> None:
    """`/x.py` matches only the top-level file, `x.py` matches it anywhere."""
    assert glob_match("x.py", "/x.py")
    assert not glob_match("sub/x.py", "/x.py")
    assert glob_match("sub/x.py", "x.py")
