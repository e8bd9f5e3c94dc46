"""`cutover demo` end to end as an operator runs it: the exit code and the outcome line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(170)]


def run_demo(tmp_path: Path, *flags: str) -> tuple[int, str]:
    argv = [sys.executable, "-m", "migration.cli.main", "demo", "--no-live", *flags]
    argv += ["--state-dir", str(tmp_path / "demo")]
    done = subprocess.run(argv, capture_output=True, timeout=160, check=False)
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


def test_demo_regression_rolls_back(tmp_path: Path) -> None:
    """`cutover demo --regression` injects a candidate delay at 50% and ends rolled back, exit 0."""
    code, output = run_demo(tmp_path, "--regression", "--max-seconds", "120")
    assert code == 0, output[-3000:]
    assert "rolled back" in output
    assert "outcome: rolled_back" in output
    assert "failed 0" in output


def test_demo_ramp_completes(tmp_path: Path) -> None:
    """`cutover demo` ramps shadow → 10 → 50 → 100 and ends completed, no failed client, exit 0."""
    code, output = run_demo(tmp_path, "--max-seconds", "120")
    assert code == 0, output[-3000:]
    assert "outcome: completed" in output
    assert "failed 0" in output
    for weight in ("10%", "50%", "100%"):  # the ramp is visible on a pipe, not only at the end
        assert f"default\t{weight} · saw" in output, output[-3000:]
    assert (tmp_path / "demo" / "report.html").is_file()
