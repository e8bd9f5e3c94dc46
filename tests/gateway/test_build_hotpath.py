"""The hot-path build: what it compiles, how staleness is found, how it steps aside."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gateway import build_hotpath


def test_stale_lists_compiled_modules_whose_source_hash_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edited source is stale whatever the clock says; a touched but unchanged one is not."""
    monkeypatch.setattr(build_hotpath, "PACKAGE", tmp_path)
    monkeypatch.setattr(build_hotpath, "HOT_MODULES", ("proxy", "http", "routing"))
    for name in ("proxy", "http", "routing"):
        (tmp_path / f"{name}.py").write_text(f"# {name}\n")
    for name in ("proxy", "http"):
        (tmp_path / f"{name}{build_hotpath.SUFFIX}").write_bytes(b"")
    recorded = build_hotpath.sources()
    (tmp_path / build_hotpath.MANIFEST).write_text(json.dumps(recorded))
    assert build_hotpath.stale() == []
    os.utime(tmp_path / "http.py", (2_000_000_000, 2_000_000_000))  # newer, same bytes
    (tmp_path / "proxy.py").write_text("# proxy, edited\n")
    os.utime(tmp_path / "proxy.py", (1_000_000, 1_000_000))  # older than its build, but edited
    assert build_hotpath.stale() == ["proxy"]
    build_hotpath.clean()
    assert build_hotpath.built() == []
    assert not (tmp_path / build_hotpath.MANIFEST).exists()


def test_a_compiled_module_without_a_manifest_is_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build nobody recorded (or an unreadable manifest) cannot be trusted: stale."""
    monkeypatch.setattr(build_hotpath, "PACKAGE", tmp_path)
    monkeypatch.setattr(build_hotpath, "HOT_MODULES", ("proxy",))
    (tmp_path / "proxy.py").write_text("")
    (tmp_path / f"proxy{build_hotpath.SUFFIX}").write_bytes(b"")
    assert build_hotpath.stale() == ["proxy"]
    (tmp_path / build_hotpath.MANIFEST).write_text("{not json")
    assert build_hotpath.stale() == ["proxy"]


def test_require_fails_without_a_toolchain(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--require`` (the image's build) exits 1 naming what is missing, not stepping aside."""
    monkeypatch.setattr(build_hotpath, "missing_toolchain", lambda: "no C compiler (cc/gcc)")
    monkeypatch.setattr(build_hotpath, "clean", lambda: pytest.fail("must not clean"))
    assert build_hotpath.main(["--require"]) == 1
    assert "cannot compile the gateway hot path: no C compiler" in capsys.readouterr().err


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


def test_the_gateway_request_paths_are_compiled() -> None:
    """The modules every proxied request runs through (both paths and their books) are compiled."""
    compiled = set(build_hotpath.HOT_MODULES)
    for name in ("proxy", "exchange", "fastpath", "forward", "framing", "upstream", "http"):
        assert name in compiled


def test_the_sidecar_per_exchange_modules_are_compiled() -> None:
    """The sidecar's per-exchange modules are in the compiled set, so covered by ``stale()``."""
    compiled = set(build_hotpath.HOT_MODULES)
    for name in ("service", "workers", "sender", "policy", "evidence", "contract_check"):
        assert f"shadow/{name}" in compiled
    assert "shadow/sidecar" not in compiled  # ``python -m gateway.shadow.sidecar`` needs its .py
