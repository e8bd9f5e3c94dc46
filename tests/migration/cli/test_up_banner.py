"""``cutover up`` prints what an operator needs to drive the stack, the
backends' API key included."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.servers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_the_banner_names_the_backends_api_key(tmp_path: Path) -> None:
    """Real stack up; the banner gives LLMSTRUCT_API_KEY and why stickiness needs it; ^C stops."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUTOVER_")}
    env["LLMSTRUCT_API_KEY"] = "banner-key"
    argv = [sys.executable, "-m", "migration.cli.main", "up", "--state-dir", str(tmp_path)]
    for flag in ("--port", "--admin-port", "--baseline-port", "--candidate-port"):
        argv += [flag, str(free_port())]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode()
            if not line:
                break
            lines.append(line)
            if line.startswith("Ctrl-C stops everything."):
                break
        banner = "".join(lines)
        assert "cutover is up" in banner, banner
        (key_line,) = [line for line in lines if line.strip().startswith("API key")]
        assert "banner-key" in key_line
        assert "sticks on" in key_line
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
