"""The traffic recorder as a response tap: a sampled, redacted, size-bounded file for replay.

``cutover contracts replay FILE --candidate URL`` turns what this records into a regression suite.
The sampling draw happens in :meth:`RecordingTap.wants`, before the gateway copies any body, so
unsampled requests cost one random number. Writing is blocking file I/O, so sampled exchanges go
through a bounded queue to one writer thread; when the queue is full the exchange is dropped and
counted — recording never slows the data path. Redaction and the file-size bound are
:class:`contracts.recording.Recorder`'s job; the header and query-parameter lists it masks are the
config's ``redact:`` section (:mod:`gateway.redact`), the same ones the access log uses.
``cutover_recorded_exchanges_total{outcome}`` shows what happened to each sampled exchange (written,
file_full, queue_full, streamed).
"""

from __future__ import annotations

import queue
import random
import threading
from pathlib import Path

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from contracts.recording import Exchange as RecordedExchange
from contracts.recording import Recorder
from gateway.config import RecordingConfig
from gateway.observer import Exchange

log = structlog.get_logger("gateway.recording")

QUEUE_SIZE = 1024
_STOP = object()


def _text_headers(headers: tuple[tuple[bytes, bytes], ...]) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


def to_recorded(exchange: Exchange) -> RecordedExchange:
    """The gateway's exchange (bytes headers, target with query) in the recorder's form."""
    path, _, query = exchange.target.partition("?")
    return RecordedExchange(
        method=exchange.method,
        path=path,
        query=query,
        request_headers=_text_headers(exchange.request_headers),
        request_body=exchange.request_body or b"",
        status=exchange.status,
        response_headers=_text_headers(exchange.response_headers),
        response_body=exchange.response_body or b"",
        backend=exchange.backend,
        route=exchange.route,
    )


class RecordingTap:
    """Samples completed exchanges and appends them to the recording file off the event loop."""

    def __init__(
        self,
        config: RecordingConfig,
        rng: random.Random | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        Path(config.path).parent.mkdir(parents=True, exist_ok=True)
        self.recorder = Recorder(
            config.path,
            sample_rate=1.0,  # sampled here, before any body is copied
            max_body_bytes=config.max_body_bytes,
            max_file_bytes=config.max_file_bytes,
            redact_headers=config.redact_headers,
            redact_query_names=config.redact_query_params,
        )
        self.sample_rate = config.sample_rate
        self._rng = rng or random.Random()
        self._queue: queue.Queue[object] = queue.Queue(maxsize=QUEUE_SIZE)
        self.dropped = 0
        self.skipped_streamed = 0
        self._thread = threading.Thread(
            target=self._write_loop, name="cutover-recorder", daemon=True
        )
        self._thread.start()
        if registry is not None:
            registry.register(_RecordingCollector(self))

    def wants(self, route: str, method: str) -> bool:
        """Draw the sample: only sampled exchanges have their bodies copied."""
        return self.sample_rate > 0 and self._rng.random() < self.sample_rate

    def on_response(self, exchange: Exchange) -> None:
        """Queue a sampled exchange; never blocks, drops when the writer is behind."""
        if exchange.response_body is None:
            # Streamed past the tap's body limit: a replay could not compare it.
            self.skipped_streamed += 1
            return
        try:
            self._queue.put_nowait(exchange)
        except queue.Full:
            self.dropped += 1

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, Exchange)
            try:
                self.recorder.record(to_recorded(item))
            except Exception as exc:  # a full disk must not kill the writer silently
                log.error("recording_failed", error=repr(exc))

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then close the file."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self.recorder.close()
        log.info(
            "recording_closed",
            path=str(self.recorder.path),
            written=self.recorder.written,
            dropped=self.dropped,
            skipped_streamed=self.skipped_streamed,
        )


class _RecordingCollector(Collector):
    """Exports the tap's and the recorder's counters at scrape time (no work per request)."""

    def __init__(self, tap: RecordingTap) -> None:
        self.tap = tap

    def collect(self) -> list[Metric]:
        family = CounterMetricFamily(
            "cutover_recorded_exchanges",
            "Sampled exchanges by what the recorder did with them",
            labels=["outcome"],
        )
        recorder = self.tap.recorder
        family.add_metric(["written"], recorder.written)
        family.add_metric(["file_full"], recorder.dropped_full)
        family.add_metric(["queue_full"], self.tap.dropped)
        family.add_metric(["streamed"], self.tap.skipped_streamed)
        return [family]
