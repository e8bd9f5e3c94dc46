"""What a notification says: pure functions from an event and its migration to a JSON body.

Two shapes:

* ``json`` — the event as the store keeps it (:meth:`~migration.state.Event.to_dict`) plus a
  ``migration`` summary and a one-line ``text``, for a receiver that wants everything.
* ``slack`` — Slack's incoming-webhook shape, ``{"text": ..., "blocks": [...]}`` (Block Kit:
  ``header``, ``section`` with mrkdwn, ``context``). ``text`` is the fallback shown in
  notifications and by Slack-compatible receivers (Mattermost, Rocket.Chat) that ignore blocks.

Steps are counted from 1 here, as the CLI counts them; the raw ``step_index`` stays in the event.
Slack's mrkdwn reads ``<``, ``>`` and ``&`` as markup, and reasons are full of ``>``
(``latency_p95: 412 ms > 240 ms``), so mrkdwn text is escaped as Slack's formatting guide asks
(``&amp;``, ``&lt;``, ``&gt;``); the plain-text header needs no escaping.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from migration.state import Event, MigrationState

__all__ = ["TITLES", "json_payload", "slack_payload", "summary", "title"]

#: Headline per event kind; other kinds read as their name.
TITLES: Final = {
    "started": "migration started",
    "promoted": "promoted",
    "paused": "paused",
    "resumed": "resumed",
    "stalled": "stalled",
    "rolled_back": "ROLLED BACK",
    "completed": "completed",
    "aborted": "aborted",
    "awaiting_gate": "waiting at a gate",
    "awaiting_hook": "waiting for the pre-promotion hook",
    "overridden": "paused by a manual weight",
    "hook": "hook answered",
}
#: Slack emoji per kind: what needs a look stands out in a busy channel.
_MARK: Final = {
    "rolled_back": ":rotating_light:",
    "stalled": ":warning:",
    "completed": ":white_check_mark:",
}
#: Reasons shown in a Slack message (the JSON sink carries all of them).
_MAX_REASONS: Final = 8


def summary(state: MigrationState | None) -> dict[str, Any] | None:
    """The migration an event belongs to, as an operator reads it (step counted from 1)."""
    if state is None:
        return None
    return {
        "route": state.route,
        "phase": state.phase.value,
        "step": state.step_index + 1,
        "steps": len(state.plan.steps),
        "step_description": state.step.describe(),
        "weight_percent": state.weight_bps / 100,
        "plan": [s.describe() for s in state.plan.steps],
    }


def title(event: Event) -> str:
    """The headline, e.g. ``"route api: ROLLED BACK (weight 0%)"``."""
    what = TITLES.get(event.kind, event.kind.replace("_", " "))
    return f"route {event.route}: {what} (weight {event.weight_bps / 100:g}%)"


def _at(event: Event) -> str:
    return (
        datetime.fromtimestamp(event.at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def json_payload(event: Event, state: MigrationState | None) -> dict[str, Any]:
    """The generic body: the event, an ISO time, a headline and the migration summary."""
    return {
        **event.to_dict(),
        "at_iso": _at(event),
        "text": title(event),
        "migration": summary(state),
        "source": "cutover",
    }


def _mrkdwn(text: str) -> str:
    """Escape Slack's three control characters in mrkdwn text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _step(event: Event, state: MigrationState | None) -> str:
    if state is None:
        return f"step {event.step_index + 1}"
    return f"step {event.step_index + 1}/{len(state.plan.steps)}"


def slack_payload(event: Event, state: MigrationState | None) -> dict[str, Any]:
    """Slack's incoming-webhook body: a fallback ``text`` and ``blocks`` with the reasons."""
    mark = _MARK.get(event.kind, "")
    headline = f"{mark} Cutover {title(event)}".replace("  ", " ").strip()
    text = _mrkdwn(f"{headline}, {_step(event, state)}")
    reasons = list(event.reasons[:_MAX_REASONS])
    if len(event.reasons) > _MAX_REASONS:
        reasons.append(f"... and {len(event.reasons) - _MAX_REASONS} more")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Route*\n`{_mrkdwn(event.route)}`"},
                {"type": "mrkdwn", "text": f"*Phase*\n{event.phase.value}"},
                {"type": "mrkdwn", "text": f"*Step*\n{_step(event, state)}"},
                {"type": "mrkdwn", "text": f"*Candidate weight*\n{event.weight_bps / 100:g}%"},
            ],
        },
    ]
    if reasons:
        lines = "\n".join(f"• {_mrkdwn(r)}" for r in reasons)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": lines[:3000]}})
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"{event.kind} at {_at(event)}"}],
        }
    )
    return {"text": text, "blocks": blocks}
