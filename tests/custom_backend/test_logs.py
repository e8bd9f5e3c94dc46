"""The server's log lines: structlog's JSON lines as configured, level filtering, test double."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs as structlog_capture_logs

from custom_backend import logs
from custom_backend.server import configure_logging

# ``datetime.isoformat()`` in UTC with ``+00:00`` written ``Z``; no fraction
# when the microsecond is 0.
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")

FIELDS: dict[str, Any] = {
    "endpoint": "list_tasks",
    "error": 'caf\u00e9 "quoted"',
    "duration_ms": 1.5,
    "status": 200,
    "missing": None,
    "ok": True,
    "path": Path("/not/json"),
}


@pytest.fixture(autouse=True)
def _structlog_config() -> Iterator[None]:
    """These tests configure structlog to compare against it; leave it as it was."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def _structlog_line(method: str, **fields: Any) -> str:
    """What ``configure_logging`` wrote when it configured structlog (JSON lines)."""
    out = io.StringIO()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    try:
        getattr(structlog.get_logger("custom_backend"), method)("engine_error", **fields)
    finally:
        structlog.reset_defaults()
    return out.getvalue()


def _our_line(method: str, **fields: Any) -> str:
    out = io.StringIO()
    logs.configure("DEBUG", json_lines=True, file=out)
    getattr(logs.Logger(), method)("engine_error", **fields)
    return out.getvalue()


@pytest.mark.parametrize("method", ["debug", "info", "warning", "error", "exception"])
def test_json_line_is_the_structlog_line(method: str) -> None:
    """Same keys in the same order, same values as structlog's line; only the time differs."""
    theirs, ours = _structlog_line(method, **FIELDS), _our_line(method, **FIELDS)
    assert ours.endswith("\n")
    assert ours.count("\n") == 1
    their_fields, our_fields = json.loads(theirs), json.loads(ours)
    assert list(our_fields) == list(their_fields)
    assert ISO_UTC.fullmatch(our_fields.pop("timestamp"))
    assert ISO_UTC.fullmatch(their_fields.pop("timestamp"))
    assert our_fields == their_fields


def test_json_line_format_is_pinned() -> None:
    """Keywords first, then event, level and the UTC timestamp; unencodable values as ``repr()``."""
    line = logs.json_line("warning", "engine_error", {"endpoint": "e", "path": Path("/p")})
    fields = json.loads(line)
    assert list(fields) == ["endpoint", "path", "event", "level", "timestamp"]
    assert fields["path"] == "PosixPath('/p')"
    assert (fields["event"], fields["level"]) == ("engine_error", "warning")
    assert ISO_UTC.fullmatch(fields["timestamp"])
    assert "\n" not in line


def test_levels_below_the_configured_one_are_dropped() -> None:
    """At WARNING, debug and info write nothing; warning, error and exception write a line each."""
    out = io.StringIO()
    logs.configure("warning", json_lines=True, file=out)
    logger = logs.Logger()
    logger.debug("a")
    logger.info("b")
    logger.warning("c")
    logger.error("d")
    logger.exception("e")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("c", "warning"),
        ("d", "error"),
        ("e", "error"),
    ]


def test_an_unknown_level_is_refused() -> None:
    """A level name outside ``LEVELS`` is an error that names the value."""
    with pytest.raises(ValueError, match="'LOUD'"):
        logs.configure("LOUD")


def test_console_lines_are_plain_text() -> None:
    """Not JSON lines: timestamp, level, event and ``key=value`` pairs on one line."""
    out = io.StringIO()
    logs.configure("INFO", json_lines=False, file=out)
    logs.Logger().info("started", port=8002)
    line = out.getvalue()
    assert re.fullmatch(r"\S+Z \[info    \] started port=8002\n", line)


def test_configure_logging_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """The server's configuration: JSON lines on stderr (not a terminal here), filtered by level."""
    configure_logging("WARNING")
    logs.Logger().info("quiet")
    logs.Logger().warning("engine_error", endpoint="e")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err)["event"] == "engine_error"


def test_capture_logs_entries_match_structlogs() -> None:
    """The test double records what ``structlog.testing.capture_logs`` did, and writes nothing."""
    out = io.StringIO()
    logs.configure("ERROR", json_lines=True, file=out)
    with logs.capture_logs() as ours:
        logs.Logger().debug("request", status=200)
        logs.Logger().exception("unhandled_error", endpoint="e")
    structlog.reset_defaults()
    with structlog_capture_logs() as theirs:
        structlog.get_logger().debug("request", status=200)
        structlog.get_logger().exception("unhandled_error", endpoint="e")
    assert ours == theirs
    assert out.getvalue() == ""
    logs.Logger().error("after")
    assert json.loads(out.getvalue())["event"] == "after"
