"""Recorded traffic: a JSON-lines file of request/response pairs, redacted and size-bounded.

The gateway records a sample of live exchanges with :class:`Recorder`; ``cutover contracts replay``
reads them back with :func:`read_recording` and sends the requests to a candidate. One line per
exchange (format version 1)::

    {"v": 1, "ts": "2026-11-25T12:00:00.123Z", "method": "GET", "path": "/api/v1/tasks",
     "query": "limit=5", "backend": "baseline", "route": "tasks", "duration_ms": 3.1,
     "request":  {"headers": [["accept", "*/*"]], "body": null, "encoding": "none", "size": 0,
                  "truncated": false},
     "response": {"status": 200, "headers": [["content-type", "application/json"]],
                  "body": {"items": []}, "encoding": "json", "size": 13, "truncated": false}}

Bodies are stored decoded when they are complete JSON (``encoding: json``), else as UTF-8 text or
base64; a body over ``max_body_bytes`` keeps its first bytes and ``truncated: true`` (replay then
skips the request, or compares only status and headers for a response). Credentials never reach the
file: ``Authorization``, ``Proxy-Authorization``, ``X-API-Key``, ``Cookie`` and ``Set-Cookie``
headers and ``api_key``/``token``/``access_token`` query parameters are replaced by ``[REDACTED]``.
"""

from __future__ import annotations

import base64
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson

FORMAT_VERSION = 1
REDACTED = "[REDACTED]"
DEFAULT_REDACT_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"}
)
DEFAULT_REDACT_QUERY = frozenset({"api_key", "token", "access_token"})
Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Exchange:
    """One request/response pair as the gateway saw it (raw bytes; nothing redacted yet)."""

    method: str
    path: str
    query: str
    request_headers: Headers
    request_body: bytes
    status: int
    response_headers: Headers
    response_body: bytes
    backend: str | None = None
    route: str | None = None
    duration_ms: float | None = None


@dataclass(frozen=True)
class RecordedBody:
    """A stored body: bytes (possibly only the first ones) and whether it was cut."""

    raw: bytes
    truncated: bool
    size: int


@dataclass(frozen=True)
class RecordedExchange:
    """One line of a recording, read back."""

    line: int
    method: str
    path: str
    query: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: RecordedBody
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: RecordedBody
    backend: str | None
    route: str | None


class RecordingError(ValueError):
    """A recording line that cannot be read; the message names the line."""


def _redact_headers(headers: Headers, names: frozenset[str]) -> list[list[str]]:
    return [[k, REDACTED if k.lower() in names else v] for k, v in headers]


def redact_query(query: str, names: frozenset[str] = DEFAULT_REDACT_QUERY) -> str:
    """``query`` with the values of credential parameters replaced."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, REDACTED if k.lower() in names else v) for k, v in pairs])


def _encode_body(body: bytes, headers: Headers, limit: int) -> dict[str, Any]:
    size = len(body)
    if not body:
        return {"body": None, "encoding": "none", "size": 0, "truncated": False}
    truncated = size > limit
    kept = body[:limit]
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if not truncated and "json" in content_type.lower():
        try:
            return {
                "body": orjson.loads(kept),
                "encoding": "json",
                "size": size,
                "truncated": False,
            }
        except orjson.JSONDecodeError:
            pass
    try:
        return {
            "body": kept.decode("utf-8"),
            "encoding": "utf-8",
            "size": size,
            "truncated": truncated,
        }
    except UnicodeDecodeError:
        text = base64.b64encode(kept).decode("ascii")
        return {"body": text, "encoding": "base64", "size": size, "truncated": truncated}


def encode_exchange(
    exchange: Exchange,
    *,
    max_body_bytes: int,
    redact_headers: frozenset[str] = DEFAULT_REDACT_HEADERS,
    redact_query_names: frozenset[str] = DEFAULT_REDACT_QUERY,
    now: float | None = None,
) -> bytes:
    """One redacted, bounded JSON line (with the trailing newline) for ``exchange``."""
    stamp = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    record = {
        "v": FORMAT_VERSION,
        "ts": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": exchange.method.upper(),
        "path": exchange.path,
        "query": redact_query(exchange.query, redact_query_names),
        "backend": exchange.backend,
        "route": exchange.route,
        "duration_ms": exchange.duration_ms,
        "request": {
            "headers": _redact_headers(exchange.request_headers, redact_headers),
            **_encode_body(exchange.request_body, exchange.request_headers, max_body_bytes),
        },
        "response": {
            "status": exchange.status,
            "headers": _redact_headers(exchange.response_headers, redact_headers),
            **_encode_body(exchange.response_body, exchange.response_headers, max_body_bytes),
        },
    }
    return orjson.dumps(record) + b"\n"


class Recorder:
    """Appends sampled exchanges to a JSON-lines file until it reaches ``max_file_bytes``.

    Thread-safe; ``record`` does a small blocking write, so async callers run it in a thread
    (``asyncio.to_thread``) or from their background-task helper. Counters say what was kept.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        sample_rate: float = 1.0,
        max_body_bytes: int = 64 * 1024,
        max_file_bytes: int = 64 * 1024 * 1024,
        redact_headers: frozenset[str] = DEFAULT_REDACT_HEADERS,
        redact_query_names: frozenset[str] = DEFAULT_REDACT_QUERY,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError(f"sample_rate must be within [0, 1], got {sample_rate}")
        if max_body_bytes < 0 or max_file_bytes <= 0:
            raise ValueError("max_body_bytes must be >= 0 and max_file_bytes > 0")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.max_body_bytes = max_body_bytes
        self.max_file_bytes = max_file_bytes
        self.redact_headers = frozenset(h.lower() for h in redact_headers)
        self.redact_query_names = frozenset(q.lower() for q in redact_query_names)
        self._rng = rng or random.Random()
        self._clock = clock
        self._lock = threading.Lock()
        self._handle = open(self.path, "ab")  # noqa: SIM115 - held for the recorder's lifetime
        self._size = os.fstat(self._handle.fileno()).st_size
        self.written = 0
        self.sampled_out = 0
        self.dropped_full = 0

    def record(self, exchange: Exchange) -> bool:
        """Write ``exchange`` if sampled and there is room; return whether it was written."""
        if self.sample_rate < 1.0 and self._rng.random() >= self.sample_rate:
            with self._lock:
                self.sampled_out += 1
            return False
        line = encode_exchange(
            exchange,
            max_body_bytes=self.max_body_bytes,
            redact_headers=self.redact_headers,
            redact_query_names=self.redact_query_names,
            now=self._clock(),
        )
        with self._lock:
            if self._handle.closed or self._size + len(line) > self.max_file_bytes:
                self.dropped_full += 1
                return False
            self._handle.write(line)
            self._handle.flush()
            self._size += len(line)
            self.written += 1
        return True

    def close(self) -> None:
        """Flush and close the file; later ``record`` calls are dropped."""
        with self._lock:
            self._handle.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _decode_body(section: dict[str, Any], where: str) -> RecordedBody:
    encoding, body = section.get("encoding", "none"), section.get("body")
    if encoding == "none" or (body is None and encoding != "json"):
        raw = b""
    elif encoding == "json":
        raw = orjson.dumps(body)
    elif encoding == "utf-8" and isinstance(body, str):
        raw = body.encode("utf-8")
    elif encoding == "base64" and isinstance(body, str):
        raw = base64.b64decode(body)
    else:
        raise RecordingError(f"{where}: unknown body encoding {encoding!r}")
    return RecordedBody(
        raw, bool(section.get("truncated", False)), int(section.get("size", len(raw)))
    )


def _headers(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
        raise RecordingError(f"{where}: headers must be a list of [name, value] pairs")
    return tuple((str(k), str(v)) for k, v in value)


def parse_line(text: str | bytes, line: int) -> RecordedExchange:
    """Decode one recording line; a :class:`RecordingError` names the line and the problem."""
    where = f"line {line}"
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecordingError(f"{where}: not JSON ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("v") != FORMAT_VERSION:
        raise RecordingError(f"{where}: not a version {FORMAT_VERSION} recording entry")
    try:
        request, response = doc["request"], doc["response"]
        return RecordedExchange(
            line=line,
            method=str(doc["method"]).upper(),
            path=str(doc["path"]),
            query=str(doc.get("query") or ""),
            request_headers=_headers(request.get("headers", []), where),
            request_body=_decode_body(request, f"{where} request"),
            status=int(response["status"]),
            response_headers=_headers(response.get("headers", []), where),
            response_body=_decode_body(response, f"{where} response"),
            backend=doc.get("backend"),
            route=doc.get("route"),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        if isinstance(exc, RecordingError):
            raise
        raise RecordingError(f"{where}: missing or malformed field ({exc})") from exc


def read_recording(path: str | Path) -> Iterator[RecordedExchange]:
    """Every entry of a recording file, in order (blank lines are skipped)."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc}") from exc
    with handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield parse_line(raw, number)
