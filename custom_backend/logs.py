"""The server's log lines: the JSON lines structlog wrote, from a logger that is one small module.

structlog costs the server process ~0.6 MiB resident (22 modules) for the three calls the app makes
(``custom_backend.lean``). A line is what ``configure_logging`` produced with structlog's
``add_log_level``, ``TimeStamper(fmt="iso", utc=True)`` and ``JSONRenderer``: the call's keywords
in call order, then ``event``, ``level`` and ``timestamp`` (ISO 8601 in UTC, ``Z`` for ``+00:00``);
a value JSON cannot encode is written as its ``repr()``. ``exception`` logs at ``error`` with
``exc_info: true``, as structlog did with no traceback formatter configured. A terminal gets a
plain ``key=value`` line instead.

``capture_logs`` is the test double (``structlog.testing.capture_logs``'s entries:
keywords, ``event``, ``log_level``); ``reset_defaults`` puts the module back as imported
(every level, stderr, by terminal).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TextIO

__all__ = ["Logger", "capture_logs", "configure", "json_line", "reset_defaults"]

LEVELS: Final = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}

Fields = dict[str, Any]
Write = Callable[[str, str, Fields], None]


def json_line(level: str, event: str, fields: Fields) -> str:
    """One JSON line: ``fields`` (updated in place), then ``event``, ``level``, UTC timestamp."""
    fields["event"] = event
    fields["level"] = level
    fields["timestamp"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(fields, default=repr)


def console_line(level: str, event: str, fields: Fields) -> str:
    """One readable line for a terminal: timestamp, level, event, then ``key=value`` pairs."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    pairs = "".join(f" {key}={value}" for key, value in fields.items())
    return f"{stamp} [{level:<8}] {event}{pairs}"


@dataclass(frozen=True, slots=True)
class _Output:
    threshold: int
    write: Write


def _stream_writer(render: Callable[[str, str, Fields], str] | None, file: TextIO | None) -> Write:
    """Write whole lines under a lock; ``None``: JSON unless stderr is a terminal (at write)."""
    lock = threading.Lock()

    def write(level: str, event: str, fields: Fields) -> None:
        stream = sys.stderr if file is None else file
        chosen = render or (console_line if stream.isatty() else json_line)
        line = chosen(level, event, fields) + "\n"
        with lock:
            stream.write(line)
            stream.flush()

    return write


_DEFAULT: Final = _Output(0, _stream_writer(None, None))
_output = _DEFAULT


def configure(level: str, *, json_lines: bool | None = None, file: TextIO | None = None) -> None:
    """Write lines at ``level`` (a ``LEVELS`` name) and above to ``file`` (stderr at write time)."""
    try:
        threshold = LEVELS[level.upper()]
    except KeyError:
        raise ValueError(f"log level: expected one of {', '.join(LEVELS)}, got {level!r}") from None
    render = None if json_lines is None else (json_line if json_lines else console_line)
    global _output
    _output = _Output(threshold, _stream_writer(render, file))


def reset_defaults() -> None:
    """Every level, to stderr, JSON unless stderr is a terminal: the configuration at import."""
    global _output
    _output = _DEFAULT


@contextmanager
def capture_logs() -> Iterator[list[Fields]]:
    """Collect each call as ``{**keywords, "event": ..., "log_level": ...}``; write nothing."""
    entries: list[Fields] = []

    def capture(level: str, event: str, fields: Fields) -> None:
        entries.append({**fields, "event": event, "log_level": level})

    global _output
    saved = _output
    _output = _Output(0, capture)
    try:
        yield entries
    finally:
        _output = saved


def _emit(level: str, threshold: int, event: str, fields: Fields) -> None:
    output = _output
    if threshold >= output.threshold:
        output.write(level, event, fields)


class Logger:
    """What the app logs through: one method per level; the keywords become the line's fields."""

    __slots__ = ()

    def debug(self, event: str, **fields: Any) -> None:
        _emit("debug", 10, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        _emit("info", 20, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        _emit("warning", 30, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        _emit("error", 40, event, fields)

    def exception(self, event: str, **fields: Any) -> None:
        """``error`` with ``exc_info`` set (structlog's ``exception``)."""
        fields.setdefault("exc_info", True)
        _emit("error", 40, event, fields)
