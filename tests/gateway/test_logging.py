"""The gateway's log lines: one whole JSON line per event, even with many writers on one stream."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import structlog

from gateway.commands import configure_logging
from gateway.state import GatewayState

LINES = 5000

# Each child logs LINES events with a ~1 KiB field, as the gateway and its sidecar do on one stderr.
CHILD = f"""
import structlog
from gateway.commands import configure_logging
configure_logging("json")
log = structlog.get_logger("child")
for i in range({LINES}):
    log.info("tick", i=i, pad="x" * 200)
"""


def test_two_processes_on_one_stream_write_only_whole_json_lines(tmp_path: Path) -> None:
    """Two processes logging at once to one inherited stderr produce only complete JSON lines."""
    out = tmp_path / "shared.log"
    with out.open("wb") as shared:  # one open file description, as an inherited stderr is
        children = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD], stdout=subprocess.DEVNULL, stderr=shared
            )
            for _ in range(2)
        ]
        for child in children:
            assert child.wait(timeout=60) == 0
    lines = out.read_text("utf-8").splitlines()
    assert len(lines) == 2 * LINES
    events = [json.loads(line) for line in lines]  # a glued `}{` line would not parse
    assert all(e["event"] == "tick" for e in events)


def test_a_fault_change_is_logged_as_json_values() -> None:
    """``fault_changed`` carries the fault as a JSON object (not a repr), and null when cleared."""
    from gateway.config import build_config
    from gateway.faults import FaultSpec

    configure_logging("json")
    state = GatewayState(build_config({}, "test"))
    with structlog.testing.capture_logs() as logs:
        state.set_fault("candidate", FaultSpec(delay_ms=200.0, methods=("post",)))
        state.set_fault("candidate", None)
    changed = [e for e in logs if e["event"] == "fault_changed"]
    assert changed[0]["fault"]["delay_ms"] == 200.0
    assert changed[0]["fault"]["methods"] == ["POST"]
    json.dumps(changed[0])  # a JSON value throughout
    assert changed[1]["fault"] is None
