"""Notifications: the controller's events, delivered to webhooks without ever waiting for them.

The controller calls :meth:`Notifier.emitted` after it commits an event (the
:class:`~migration.seams.EventSink` seam). That call only filters, formats and appends to each
interested sink's queue; one delivery task per sink, on the gateway's event loop (where the
controller's loop runs too, see :meth:`~migration.controller.MigrationController.run`), POSTs in
the background. So a receiver that is down or hung slows nothing but its own queue, and one slow
sink never delays another.

Decisions:

* **Bounded queue, oldest dropped.** A sink keeps ``queue_size`` undelivered notifications; when a
  new one arrives at a full queue the *oldest* is dropped and counted: the newest state of a
  migration is what an operator acts on.
* **Retries.** A failed attempt (connect error, timeout, non-2xx) is retried ``retries`` times after
  a full-jitter exponential backoff (``random() * min(cap, base * 2**n)``, AWS's "full jitter"),
  the random source injected. After the last attempt the notification is given up (``failed``),
  with one structured log line per failed attempt naming the sink, never its URL.
* **Order.** A sink delivers one notification at a time, in order; retries hold the ones behind.
* **Shutdown.** What is still queued when the gateway stops is logged (count per sink) and lost:
  the events themselves are in the state store.

``/metrics``: ``cutover_notifications_total{sink,outcome}`` (``sent``, ``failed``, ``dropped``),
``cutover_notification_attempts_total{sink,outcome}`` (each POST: ``ok``, ``rejected``, ``timeout``,
``error``) and ``cutover_notification_queue{sink}``.
"""

from __future__ import annotations

import asyncio
import random as _random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge

from migration.notify_config import SinkSettings
from migration.notify_payload import json_payload, slack_payload
from migration.state import Event, MigrationState
from migration.webhook import post_json

__all__ = ["Notifier", "NotifyMetrics", "backoff_s"]

log = structlog.get_logger("cutover.notify")

Spawn = Callable[[Coroutine[Any, Any, Any], str], object]


def backoff_s(attempt: int, random: Callable[[], float], base_s: float, cap_s: float) -> float:
    """Full-jitter backoff before retry ``attempt`` (1-based): uniform in
    [0, min(cap, base·2^(n-1))]."""
    growth: float = 2 ** (attempt - 1)
    return random() * min(cap_s, base_s * growth)


class NotifyMetrics:
    """The notification counters, on the registry given (a fresh one per test)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.notifications = Counter(
            "cutover_notifications",
            "Notifications per sink by final outcome: sent, failed (retries exhausted), "
            "dropped (queue full).",
            ["sink", "outcome"],
            registry=registry,
        )
        self.attempts = Counter(
            "cutover_notification_attempts",
            "Notification POSTs per sink by outcome: ok (2xx), rejected (other status), "
            "timeout, error.",
            ["sink", "outcome"],
            registry=registry,
        )
        self.queue = Gauge(
            "cutover_notification_queue",
            "Notifications waiting in a sink's queue.",
            ["sink"],
            registry=registry,
        )


@dataclass
class _Sink:
    settings: SinkSettings
    queue: deque[tuple[str, dict[str, Any]]]
    wake: asyncio.Event


class Notifier:
    """Queues per sink and their delivery tasks; an :class:`~migration.seams.EventSink`."""

    def __init__(
        self,
        sinks: Sequence[SinkSettings],
        client: httpx.AsyncClient,
        registry: CollectorRegistry,
        *,
        random: Callable[[], float] = _random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
    ) -> None:
        self.client = client
        self.metrics = NotifyMetrics(registry)
        self.random = random
        self.sleep = sleep
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._sinks = [_Sink(s, deque(), asyncio.Event()) for s in sinks]
        for sink in self._sinks:  # every series present from the start, at 0
            for outcome in ("sent", "failed", "dropped"):
                self.metrics.notifications.labels(sink.settings.name, outcome)
            self.metrics.queue.labels(sink.settings.name).set(0)

    def emitted(self, event: Event, state: MigrationState | None) -> None:
        """Queue ``event`` for every sink that wants it; O(sinks), never waits."""
        for sink in self._sinks:
            s = sink.settings
            if not s.wants(event.kind, event.route):
                continue
            body = (
                slack_payload(event, state) if s.format == "slack" else json_payload(event, state)
            )
            if len(sink.queue) >= s.queue_size:
                sink.queue.popleft()
                self.metrics.notifications.labels(s.name, "dropped").inc()
                log.warning("notification_dropped", sink=s.name, queue_size=s.queue_size)
            sink.queue.append((event.kind, body))
            self.metrics.queue.labels(s.name).set(len(sink.queue))
            sink.wake.set()

    def pending(self) -> dict[str, int]:
        """Undelivered notifications per sink name."""
        return {sink.settings.name: len(sink.queue) for sink in self._sinks}

    def start(self, spawn: Spawn) -> None:
        """Start one delivery task per sink through the owner's named-task helper."""
        for sink in self._sinks:
            spawn(self._deliver_forever(sink), f"notify:{sink.settings.name}")

    def close(self) -> None:
        """Log what is left undelivered (the tasks are cancelled by their owner)."""
        for name, left in self.pending().items():
            if left:
                log.warning("notifications_unsent", sink=name, pending=left)

    async def _deliver_forever(self, sink: _Sink) -> None:
        name = sink.settings.name
        while True:
            await sink.wake.wait()
            sink.wake.clear()
            while sink.queue:  # the one in flight has left the queue: a drop never takes it
                kind, body = sink.queue.popleft()
                self.metrics.queue.labels(name).set(len(sink.queue))
                sent = await self._deliver(sink.settings, kind, body)
                self.metrics.notifications.labels(name, "sent" if sent else "failed").inc()

    async def _deliver(self, s: SinkSettings, kind: str, body: dict[str, Any]) -> bool:
        """One notification with its retries; True once a receiver answered 2xx."""
        for attempt in range(s.retries + 1):
            if attempt:
                await self.sleep(
                    backoff_s(attempt, self.random, self.backoff_base_s, self.backoff_cap_s)
                )
            result = await post_json(self.client, s.url, body, s.timeout_s)
            self.metrics.attempts.labels(s.name, result.outcome).inc()
            if result.ok:
                return True
            log.warning(
                "notification_failed",
                sink=s.name,
                kind=kind,
                attempt=attempt + 1,
                attempts=s.retries + 1,
                result=result.describe(),
                giving_up=attempt == s.retries,
            )
        return False
