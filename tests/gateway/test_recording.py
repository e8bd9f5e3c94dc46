"""The traffic recorder tap: sampled before any copy, written off the event loop, redacted."""

from __future__ import annotations

import json
import random
from pathlib import Path

from prometheus_client import CollectorRegistry

from gateway.config import RecordingConfig
from gateway.observer import Exchange
from gateway.recording import RecordingTap, to_recorded


def _exchange(body: bytes | None = b'{"ok": true}') -> Exchange:
    return Exchange(
        route="default",
        backend="candidate",
        method="GET",
        target="/api/v1/tasks?limit=5&api_key=secret",
        request_headers=((b"x-api-key", b"secret"), (b"accept", b"*/*")),
        request_body=None,
        status=200,
        response_headers=((b"content-type", b"application/json"),),
        response_body=body,
    )


def _config(tmp_path: Path, rate: float = 1.0) -> RecordingConfig:
    return RecordingConfig(str(tmp_path / "rec" / "traffic.jsonl"), rate, 1024, 1 << 20)


def test_conversion_splits_target_and_decodes_headers() -> None:
    """The gateway's bytes headers and path+query become the recorder's text form."""
    recorded = to_recorded(_exchange())
    assert (recorded.path, recorded.query) == ("/api/v1/tasks", "limit=5&api_key=secret")
    assert ("x-api-key", "secret") in recorded.request_headers
    assert recorded.backend == "candidate"


def test_sampling_happens_in_wants(tmp_path: Path) -> None:
    """At a 25 % rate about a quarter of requests are wanted; at 0 % none are."""
    tap = RecordingTap(_config(tmp_path, 0.25), rng=random.Random(3))
    wanted = sum(tap.wants("default", "GET") for _ in range(4000))
    tap.close()
    assert 850 < wanted < 1150
    none = RecordingTap(_config(tmp_path, 0.0))
    assert not any(none.wants("default", "GET") for _ in range(100))
    none.close()


def test_writes_redacted_lines_and_skips_streamed_bodies(tmp_path: Path) -> None:
    """Each kept exchange is one JSON line with secrets redacted; a streamed one is skipped."""
    config = _config(tmp_path)
    tap = RecordingTap(config)
    tap.on_response(_exchange())
    tap.on_response(_exchange(body=None))
    tap.close()
    lines = Path(config.path).read_text().splitlines()
    assert len(lines) == 1
    assert tap.skipped_streamed == 1
    line = json.loads(lines[0])
    assert "secret" not in lines[0]
    assert line["response"]["body"] == {"ok": True}


def test_counters_are_exported(tmp_path: Path) -> None:
    """What happened to sampled exchanges shows in /metrics as cutover_recorded_exchanges_total."""
    registry = CollectorRegistry()
    tap = RecordingTap(_config(tmp_path), registry=registry)
    tap.on_response(_exchange())
    tap.on_response(_exchange(body=None))
    tap.close()
    value = registry.get_sample_value
    assert value("cutover_recorded_exchanges_total", {"outcome": "written"}) == 1
    assert value("cutover_recorded_exchanges_total", {"outcome": "streamed"}) == 1
    assert value("cutover_recorded_exchanges_total", {"outcome": "queue_full"}) == 0


def test_recordings_mask_the_configured_lists(tmp_path: Path) -> None:
    """The config's ``redact:`` names reach the recorder, added to the built-in ones."""
    from gateway.config import build_config

    config = build_config(
        {
            "recording": {"path": str(tmp_path / "rec.jsonl"), "sample_rate": 1.0},
            "redact": {"query_params": ["limit", "api_key"], "headers": ["Accept"]},
        }
    ).recording
    assert config is not None
    tap = RecordingTap(config)
    tap.on_response(_exchange())
    tap.close()
    line = json.loads(Path(config.path).read_text())
    assert line["query"] == "limit=%5BREDACTED%5D&api_key=%5BREDACTED%5D"
    assert ["accept", "[REDACTED]"] in line["request"]["headers"]
    assert ["x-api-key", "[REDACTED]"] in line["request"]["headers"]  # the defaults stay
