"""Hooks: a webhook that can hold a promotion, and one told of every rollback.

**Pre-promotion** (:class:`PrePromotionHook`, a :class:`~migration.seams.PromotionGate`; Flagger's
*confirm-promotion*). When the analysis would promote a step on its own, the controller asks
:meth:`PrePromotionHook.ask`, which never waits: the first ask for a step POSTs in the background
and answers *pending*; the step holds (``awaiting_hook``) while the call runs. Decisions:

* A **2xx** approves the promotion of that step (the approval stands for the step: if the analysis
  wavers before the controller promotes, the next promote verdict uses it without a new call).
* **Anything else denies** — another status, a timeout (``timeout_s``, on the whole exchange), a
  connection error. The step keeps holding; the hook is asked again at the first promote verdict
  ``retry_after_s`` (15 s) after the answer. Holding is the hook's only power: it never rolls back,
  and a rollback never asks it.
* Every finished call is recorded once, as a ``hook`` event with its outcome (``approved`` or
  ``denied``, the HTTP status or ``timeout``/``error``, the time it took).
* A new step, or the same step entered again (a resume after a rollback), starts afresh.

**Post-rollback** (:class:`PostRollbackHook`, an :class:`~migration.seams.EventSink`): after each
``rolled_back`` event it POSTs once, in the background, and records the outcome as a ``hook`` event
through the ``record`` callable (the controller's
:meth:`~migration.controller.MigrationController.note`). It is not retried: it is a signal to run
something (a page, a cleanup job), and a receiver that wants delivery guarantees should also
subscribe as a notification sink, which retries.

Both POST ``{"hook": ..., "event"?: ..., "migration": ..., "reasons": [...]}``
(:mod:`migration.notify_payload`'s summary), and count ``cutover_hook_calls_total{hook,outcome}``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from prometheus_client import CollectorRegistry, Counter

from migration.notify_config import HookSettings
from migration.notify_payload import summary
from migration.seams import Clock, GateAnswer
from migration.state import Event, MigrationState
from migration.webhook import WebhookResult, post_json

__all__ = ["HookMetrics", "PostRollbackHook", "PrePromotionHook"]

log = structlog.get_logger("cutover.hooks")

Spawn = Callable[[Coroutine[Any, Any, Any], str], object]
Record = Callable[[str, str, Sequence[str], dict[str, Any]], None]


class HookMetrics:
    """``cutover_hook_calls_total{hook,outcome}``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.calls = Counter(
            "cutover_hook_calls",
            "Hook calls by hook (pre_promotion, post_rollback) and outcome "
            "(ok, rejected, timeout, error).",
            ["hook", "outcome"],
            registry=registry,
        )


@dataclass
class _Call:
    """One pre-promotion call for one step of one route."""

    key: tuple[int, float]  # (step index, step started at): a re-entered step is a new key
    started_at: float
    result: WebhookResult | None = None
    answered_at: float = 0.0
    reported: bool = False


class PrePromotionHook:
    """The pre-promotion webhook as a promotion gate (see the module docstring)."""

    def __init__(
        self,
        settings: HookSettings,
        client: httpx.AsyncClient,
        spawn: Spawn,
        *,
        clock: Clock = time.time,
        metrics: HookMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.spawn = spawn
        self.clock = clock
        self.metrics = metrics
        self._calls: dict[str, _Call] = {}

    def ask(self, state: MigrationState, reasons: Sequence[str]) -> GateAnswer:
        """Approve, or hold while a call is pending or after a denial; never waits."""
        route, now = state.route, self.clock()
        if not self.settings.applies(route):
            return GateAnswer(True)
        key = (state.step_index, state.step_started_at)
        call = self._calls.get(route)
        retry_due = (
            call is not None
            and call.result is not None
            and not call.result.ok
            and now - call.answered_at >= self.settings.retry_after_s
        )
        if call is None or call.key != key or retry_due:
            call = self._calls[route] = _Call(key, now)
            body = {
                "hook": "pre_promotion",
                "migration": summary(state),
                "next_step": _next_step(state),
                "reasons": list(reasons),
            }
            self.spawn(self._post(route, call, body), f"hook:pre_promotion:{route}")
            return GateAnswer(False, ("pre-promotion hook: asked, waiting for its answer",))
        if call.result is None:
            waited = now - call.started_at
            return GateAnswer(
                False, (f"pre-promotion hook: waiting for its answer ({waited:.0f} s)",)
            )
        outcome = None
        if not call.reported:
            call.reported = True
            verdict = "approved" if call.result.ok else "denied"
            outcome = {"hook": "pre_promotion", "verdict": verdict, **call.result.to_dict()}
        if call.result.ok:
            return GateAnswer(
                True, (f"pre-promotion hook approved ({call.result.describe()})",), outcome
            )
        again = max(0.0, call.answered_at + self.settings.retry_after_s - now)
        why = f"pre-promotion hook denied ({call.result.describe()}); asking again in {again:.0f} s"
        return GateAnswer(False, (why,), outcome)

    async def _post(self, route: str, call: _Call, body: dict[str, Any]) -> None:
        result = await post_json(self.client, self.settings.url, body, self.settings.timeout_s)
        call.result, call.answered_at = result, self.clock()
        if self.metrics is not None:
            self.metrics.calls.labels("pre_promotion", result.outcome).inc()
        if not result.ok:
            log.warning("pre_promotion_hook_denied", route=route, result=result.describe())


def _next_step(state: MigrationState) -> dict[str, Any] | None:
    index = state.step_index + 1
    if index >= len(state.plan.steps):
        return None  # promoting the last step completes the migration
    step = state.plan.steps[index]
    return {
        "step": index + 1,
        "description": step.describe(),
        "weight_percent": step.weight_bps / 100,
    }


class PostRollbackHook:
    """POSTs once after each rollback and records the outcome (an event sink)."""

    def __init__(
        self,
        settings: HookSettings,
        client: httpx.AsyncClient,
        spawn: Spawn,
        record: Record,
        *,
        metrics: HookMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.spawn = spawn
        self.record = record
        self.metrics = metrics

    def emitted(self, event: Event, state: MigrationState | None) -> None:
        """Start the call for a ``rolled_back`` event on a guarded route (not a dry run's: it
        rolled nothing back)."""
        if event.kind != "rolled_back" or not self.settings.applies(event.route):
            return
        if event.numbers.get("dry_run"):
            return
        body = {
            "hook": "post_rollback",
            "event": event.to_dict(),
            "migration": summary(state),
            "reasons": list(event.reasons),
        }
        self.spawn(self._post(event.route, body), f"hook:post_rollback:{event.route}")

    async def _post(self, route: str, body: dict[str, Any]) -> None:
        result = await post_json(self.client, self.settings.url, body, self.settings.timeout_s)
        if self.metrics is not None:
            self.metrics.calls.labels("post_rollback", result.outcome).inc()
        verdict = "delivered" if result.ok else "failed"
        if not result.ok:
            log.warning("post_rollback_hook_failed", route=route, result=result.describe())
        why = (f"post-rollback hook {verdict} ({result.describe()})",)
        try:
            self.record(
                route,
                "hook",
                why,
                {"hook": {"hook": "post_rollback", "verdict": verdict, **result.to_dict()}},
            )
        except Exception:  # the store failing, or this member no longer leading
            log.exception("post_rollback_hook_unrecorded", route=route)
