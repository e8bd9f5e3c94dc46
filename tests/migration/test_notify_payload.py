"""What notifications say: the generic JSON body and Slack's
incoming-webhook shape, as plain values."""

from __future__ import annotations

import json

from migration.notify_payload import json_payload, slack_payload, summary
from migration.plan import Plan, Step
from migration.state import Event, MigrationState, Phase

PLAN = Plan("api", (Step(0), Step(1000), Step(10_000)))
STATE = MigrationState("api", PLAN, Phase.ROLLED_BACK, 1, 0, 1_764_000_000.0)
EVENT = Event(
    "api",
    1_764_000_000.0,
    "rolled_back",
    Phase.ROLLED_BACK,
    1,
    0,
    ("latency_p95: 412 ms > 240 ms",),
    {"latency_p95": {"status": "fail"}},
)


def test_summary_counts_steps_from_one() -> None:
    """The summary reads as the CLI does: step 2 of 3, the weight in percent, the plan's steps."""
    data = summary(STATE)
    assert data is not None
    assert (data["step"], data["steps"], data["weight_percent"]) == (2, 3, 0.0)
    assert data["phase"] == "rolled_back"
    assert len(data["plan"]) == 3
    assert summary(None) is None


def test_json_payload_is_the_event_plus_the_migration() -> None:
    """The JSON body carries the stored event unchanged, an ISO time, a headline and the summary."""
    body = json_payload(EVENT, STATE)
    assert {k: body[k] for k in EVENT.to_dict()} == EVENT.to_dict()
    assert body["at_iso"] == "2025-11-24T16:00:00Z"
    assert body["text"] == "route api: ROLLED BACK (weight 0%)"
    assert body["migration"]["step"] == 2
    json.dumps(body)  # JSON-ready


def test_slack_payload_has_text_and_blocks() -> None:
    """Slack gets a fallback text and header/section/context blocks listing the reasons, escaped."""
    body = slack_payload(EVENT, STATE)
    assert set(body) == {"text", "blocks"}
    assert body["text"] == ":rotating_light: Cutover route api: ROLLED BACK (weight 0%), step 2/3"
    types = [b["type"] for b in body["blocks"]]
    assert types == ["header", "section", "section", "context"]
    assert "• latency_p95: 412 ms &gt; 240 ms" in body["blocks"][2]["text"]["text"]


def test_slack_payload_bounds_the_reasons() -> None:
    """A long list of reasons is cut to eight with a count of the rest; no reasons, no section."""
    many = Event("api", 0.0, "stalled", Phase.RUNNING, 0, 1000, tuple(f"r{i}" for i in range(12)))
    lines = slack_payload(many, None)["blocks"][2]["text"]["text"].splitlines()
    assert len(lines) == 9
    assert lines[-1] == "• ... and 4 more"
    bare = Event("api", 0.0, "started", Phase.RUNNING, 0, 1000)
    assert [b["type"] for b in slack_payload(bare, None)["blocks"]] == [
        "header",
        "section",
        "context",
    ]
