"""The recording format and the gateway-facing Recorder: redaction, sampling, bounds, round trip."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from contracts.recording import (
    REDACTED,
    Exchange,
    Recorder,
    RecordingError,
    encode_exchange,
    parse_line,
    read_recording,
)


def exchange(**overrides: object) -> Exchange:
    values: dict[str, object] = {
        "method": "post",
        "path": "/api/v1/tasks",
        "query": "api_key=secret&limit=5",
        "request_headers": [
            ("Authorization", "Bearer secret"),
            ("X-API-Key", "secret"),
            ("Cookie", "s=1"),
            ("content-type", "application/json"),
        ],
        "request_body": b'{"title": "t"}',
        "status": 201,
        "response_headers": [("content-type", "application/json"), ("set-cookie", "s=2")],
        "response_body": b'{"id": "abc"}',
        "backend": "baseline",
        "route": "tasks",
        "duration_ms": 1.5,
    }
    values.update(overrides)
    return Exchange(**values)  # type: ignore[arg-type]


def test_credentials_never_reach_the_file() -> None:
    """Authorization, X-API-Key, Cookie, Set-Cookie and api_key query values are redacted."""
    line = encode_exchange(exchange(), max_body_bytes=1024, now=0.0)
    assert b"secret" not in line
    assert b"s=1" not in line
    assert b"s=2" not in line
    doc = json.loads(line)
    assert doc["request"]["headers"][0] == ["Authorization", REDACTED]
    assert doc["query"] == f"api_key={REDACTED.replace('[', '%5B').replace(']', '%5D')}&limit=5"


def test_round_trip_keeps_method_path_status_and_bodies() -> None:
    """A written line reads back as the same request and response (JSON bodies decoded)."""
    line = encode_exchange(exchange(), max_body_bytes=1024, now=1_764_072_000.123)
    entry = parse_line(line, 1)
    doc = json.loads(line)
    assert doc["ts"] == "2025-11-25T12:00:00.123Z"
    assert doc["response"]["body"] == {"id": "abc"}
    assert (entry.method, entry.path, entry.status) == ("POST", "/api/v1/tasks", 201)
    assert json.loads(entry.request_body.raw) == {"title": "t"}
    assert json.loads(entry.response_body.raw) == {"id": "abc"}
    assert not entry.response_body.truncated


def test_large_bodies_are_truncated_and_flagged() -> None:
    """Bodies over the limit keep their first bytes, their size and ``truncated``."""
    big = b'{"x": "' + b"a" * 500 + b'"}'
    entry = parse_line(encode_exchange(exchange(response_body=big), max_body_bytes=100, now=0), 1)
    assert entry.response_body.truncated
    assert entry.response_body.size == len(big)
    assert entry.response_body.raw == big[:100]


def test_binary_bodies_survive_as_base64() -> None:
    """Non-UTF-8 bodies are stored as base64 and decode back to the same bytes."""
    raw = bytes(range(256))
    line = encode_exchange(
        exchange(
            response_body=raw, response_headers=[("content-type", "application/octet-stream")]
        ),
        max_body_bytes=1024,
        now=0,
    )
    assert json.loads(line)["response"]["encoding"] == "base64"
    assert parse_line(line, 1).response_body.raw == raw


def test_recorder_samples_with_injected_randomness(tmp_path: Path) -> None:
    """With sample_rate 0.5 and a seeded RNG, only the sampled exchanges are written."""
    rng = random.Random(7)
    reference = random.Random(7)
    expected = sum(reference.random() < 0.5 for _ in range(40))
    with Recorder(tmp_path / "r.jsonl", sample_rate=0.5, rng=rng) as recorder:
        written = sum(recorder.record(exchange()) for _ in range(40))
    assert written == expected == recorder.written
    assert recorder.sampled_out == 40 - expected
    assert len(list(read_recording(tmp_path / "r.jsonl"))) == expected


def test_recorder_stops_at_the_file_size_bound(tmp_path: Path) -> None:
    """Once the file would exceed max_file_bytes, exchanges are dropped and counted."""
    line_size = len(encode_exchange(exchange(), max_body_bytes=1024, now=0))
    path = tmp_path / "r.jsonl"
    with Recorder(path, max_file_bytes=line_size * 3 + 10, clock=lambda: 0.0) as recorder:
        results = [recorder.record(exchange()) for _ in range(5)]
    assert results == [True, True, True, False, False]
    assert recorder.dropped_full == 2
    assert path.stat().st_size <= line_size * 3 + 10


def test_recorder_appends_and_counts_existing_size(tmp_path: Path) -> None:
    """A second recorder on the same file appends and respects the bound including old lines."""
    path = tmp_path / "r.jsonl"
    line_size = len(encode_exchange(exchange(), max_body_bytes=1024, now=0))
    with Recorder(path, clock=lambda: 0.0) as first:
        first.record(exchange())
    with Recorder(path, max_file_bytes=line_size * 2, clock=lambda: 0.0) as second:
        assert second.record(exchange())
        assert not second.record(exchange())
    assert len(list(read_recording(path))) == 2


def test_recorder_rejects_bad_settings(tmp_path: Path) -> None:
    """A sample rate outside [0, 1] stops construction naming the field."""
    with pytest.raises(ValueError, match="sample_rate"):
        Recorder(tmp_path / "r.jsonl", sample_rate=1.5)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 4: not JSON"),
        ('{"v": 2}', "not a version 1"),
        ('{"v": 1, "method": "GET"}', "missing or malformed"),
        (
            '{"v": 1, "method": "GET", "path": "/", "request": {"headers": "x"},'
            ' "response": {"status": 200}}',
            "headers must be",
        ),
    ],
)
def test_malformed_lines_name_the_line(line: str, message: str) -> None:
    """Unreadable entries raise RecordingError naming the line number."""
    with pytest.raises(RecordingError, match=message):
        parse_line(line, 4)


def test_missing_file_is_a_recording_error(tmp_path: Path) -> None:
    """Reading a file that does not exist is a RecordingError, not an OSError."""
    with pytest.raises(RecordingError, match="cannot read"):
        list(read_recording(tmp_path / "none.jsonl"))
