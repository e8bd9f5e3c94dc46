"""Saving and finding a step's evidence: keys, payload, failures (migration.evidence_saver)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from migration.decision_metrics import DecisionMetrics
from migration.evidence_saver import EvidenceSaver, decode, encode, step_key
from migration.plan import Plan, Step
from migration.state import MigrationState, Phase, SavedEvidence
from migration.step_evidence import StepEvidence
from migration.testing import FakeClock, InMemoryStore

PLAN = Plan("api", (Step(1000), Step(5000)))
STATE = MigrationState("api", PLAN, Phase.RUNNING, 0, 1000, 100.25, migration_id="api-1")


@pytest.mark.parametrize(
    "other",
    [
        STATE.with_(step_index=1),
        STATE.with_(step_started_at=100.5),
        STATE.with_(migration_id="api-2"),
    ],
)
def test_the_step_key_names_one_step_instance(other: MigrationState) -> None:
    """Another step, another entry into it, or another migration: another key."""
    assert step_key(other) != step_key(STATE)
    assert step_key(STATE.with_(held_before_s=9.0, step_requests=7)) == step_key(STATE)


def test_a_payload_round_trips() -> None:
    """encode then decode gives back each key's evidence and the A/A firings."""
    evidence = {"api": StepEvidence(), "api/read": StepEvidence(30.0, 2)}
    restored, fired = decode(encode(evidence, ["seq_latency"]))
    assert {k: e.to_data() for k, e in restored.items()} == {
        k: e.to_data() for k, e in evidence.items()
    }
    assert fired == ("seq_latency",)


@pytest.mark.parametrize("payload", ["", "[]", '{"v": 2}', '{"v": 1, "evidence": {}}'])
def test_decode_refuses_anything_else(payload: str) -> None:
    """Not JSON, another version or a missing part: ValueError."""
    with pytest.raises(ValueError, match="saved step evidence"):
        decode(payload)


def test_load_keeps_only_the_routes_keys_of_the_same_step() -> None:
    """A row of this step restores the route and its operations; another step's is None."""
    store = InMemoryStore()
    saver = EvidenceSaver(store, FakeClock())
    mixed = {"api": StepEvidence(), "api/read": StepEvidence(), "web": StepEvidence()}
    store.save_evidence(SavedEvidence("api", step_key(STATE), encode(mixed, []), 5.0))
    restored = saver.load(STATE)
    assert restored is not None
    assert sorted(restored.evidence) == ["api", "api/read"]
    assert restored.saved_at == 5.0
    assert saver.load(STATE.with_(step_index=1)) is None


def test_saves_are_due_every_every_s() -> None:
    """Due at first, then every_s after each round."""
    clock = FakeClock()
    saver = EvidenceSaver(InMemoryStore(), clock, every_s=5.0)
    assert saver.due()
    saver.saved()
    clock.advance(4.9)
    assert not saver.due()
    clock.advance(0.1)
    assert saver.due()


def test_a_failing_store_is_counted_each_time_and_logged_once_per_outage() -> None:
    """Each failed save counts; the log says it once, and once more when saves work again."""
    store, registry = InMemoryStore(), CollectorRegistry()
    saver = EvidenceSaver(store, FakeClock(), metrics=DecisionMetrics(registry))
    evidence = {"api": StepEvidence()}
    store.fail = True
    with capture_logs() as logs:
        assert not saver.save(STATE, evidence, [])
        assert not saver.save(STATE, evidence, [])
        store.fail = False
        assert saver.save(STATE, evidence, [])
    assert [entry["event"] for entry in logs] == [
        "step_evidence_save_failed",
        "step_evidence_save_recovered",
    ]
    assert registry.get_sample_value("cutover_step_evidence_save_errors_total") == 2
    assert saver.errors == 2
