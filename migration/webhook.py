"""One webhook call: POST a JSON body, with a deadline on the whole exchange, and say how it went.

Shared by the notification sinks (:mod:`migration.notify`) and the hooks (:mod:`migration.hooks`).
httpx's ``timeout`` bounds each phase (connect, each read); a receiver that trickles bytes could
hold a call far longer, so the whole exchange runs under :func:`asyncio.timeout` as well. The
response body is read and dropped (a hook's answer is its status code, as Flagger's webhooks).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

__all__ = ["WebhookResult", "post_json"]

Outcome = Literal["ok", "rejected", "timeout", "error"]


@dataclass(frozen=True)
class WebhookResult:
    """What one POST came to: a 2xx (``ok``), another status (``rejected``), a timeout or an
    error."""

    outcome: Outcome
    status: int | None = None
    error: str | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.outcome == "ok"

    def describe(self) -> str:
        """``"HTTP 503"``, ``"timeout after 2.0 s"``, ``"error: ConnectError"`` — for reasons and
        logs."""
        if self.status is not None:
            return f"HTTP {self.status}"
        if self.outcome == "timeout":
            return f"timeout after {self.elapsed_s:.1f} s"
        return f"error: {self.error}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (an event's numbers)."""
        return {
            "outcome": self.outcome,
            "status": self.status,
            "error": self.error,
            "elapsed_s": round(self.elapsed_s, 3),
        }


async def post_json(
    client: httpx.AsyncClient,
    url: str,
    body: Mapping[str, Any],
    timeout_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> WebhookResult:
    """POST ``body`` to ``url``; never raises (cancellation aside)."""
    started = clock()
    try:
        async with asyncio.timeout(timeout_s):
            response = await client.post(url, json=dict(body), timeout=timeout_s)
    except (TimeoutError, httpx.TimeoutException):
        return WebhookResult("timeout", elapsed_s=clock() - started)
    except httpx.HTTPError as exc:
        # The exception's text can carry the URL (a secret for Slack); its type is enough.
        return WebhookResult("error", error=type(exc).__name__, elapsed_s=clock() - started)
    outcome: Outcome = "ok" if 200 <= response.status_code < 300 else "rejected"
    return WebhookResult(outcome, response.status_code, elapsed_s=clock() - started)
