"""The hot-path build: what it compiles, how staleness is found, how it steps aside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway import build_hotpath


def test_stale_lists_modules_whose_source_is_newer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A compiled module older than its ``.py`` is stale; a fresh one and a source-only one are not."""
    monkeypatch.setattr(build_hotpath, "PACKAGE", tmp_path)
    for name in ("proxy", "http", "routing"):
        (tmp_path / f"{name}.py").write_text("")
    for name in ("proxy", "http"):
        (tmp_path / f"{name}{build_hotpath.SUFFIX}").write_bytes(b"")
    os.utime(tmp_path / "proxy.py", (2_000_000_000, 2_000_000_000))
    os.utime(tmp_path / f"http{build_hotpath.SUFFIX}", (2_000_000_000, 2_000_000_000))
    assert build_hotpath.stale() == ["proxy"]
    build_hotpath.clean()
    assert build_hotpath.built() == []


def test_without_a_toolchain_the_build_steps_aside(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No compiler or headers: nothing is built, the reason is printed, the exit code is 0."""
    monkeypatch.setattr(build_hotpath, "missing_toolchain", lambda: "no C compiler (cc/gcc)")
    cleaned: list[bool] = []
    monkeypatch.setattr(build_hotpath, "clean", lambda: cleaned.append(True))
    assert build_hotpath.main([]) == 0
    assert cleaned == [True]
    assert "no C compiler" in capsys.readouterr().err


def test_hot_modules_are_the_request_path() -> None:
    """Every module named exists next to the build script (a rename must update the list)."""
    for name in build_hotpath.HOT_MODULES:
        assert (build_hotpath.PACKAGE / f"{name}.py").is_file()


def test_the_sidecar_per_exchange_modules_are_compiled() -> None:
    """The shadow sidecar's per-exchange modules are in the compiled set, and so covered by ``stale()``."""
    compiled = set(build_hotpath.HOT_MODULES)
    for name in ("service", "workers", "sender", "policy", "evidence", "contract_check"):
        assert f"shadow/{name}" in compiled
    assert "shadow/sidecar" not in compiled  # ``python -m gateway.shadow.sidecar`` needs its .py
