"""A step's sequential evidence survives ``kill -9``: a real ``cutover gateway`` on SQLite under
load, killed mid-step and restarted, resumes the evidence from its last save instead of from 0
(migration.evidence_saver)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.faults.state_store_support import ROUTE, stack, steady_load

#: A 50 % step that cannot promote within the test (hold 10 min).
PLAN = {"steps": [50, 100], "hold": "10m", "min_requests": 10}
#: Two healthy upstreams on a loaded machine can differ by half (one CI run: the shift test rolled
#: the step back at x1.52 two seconds in); this test is about the evidence, not the verdict, so
#: only a candidate twice as slow, or 5 s at p95, may roll it back.
LENIENT = {
    "latency_shift_margin": 0.99,
    "latency_margin": 0.99,
    "p95_tolerance": 1.0,
    "p95_slack_s": 1.0,
    "max_p95_s": 5.0,
}


def test_kill_9_resumes_the_steps_evidence(tmp_path: Path) -> None:
    """Before the kill N candidate requests of evidence; after the restart the step resumes
    from the last save (at most ~5 s of evidence behind N), not from 0, and counts on."""
    with stack(tmp_path, policy=LENIENT) as running:
        running.call("POST", f"/migration/{ROUTE}/start", PLAN)

        def evidence() -> dict[str, Any]:
            found: dict[str, Any] = running.view()["evidence"]
            return found

        def counted() -> int:
            return int(evidence()["candidate_requests"] or 0)

        def seconds() -> float:
            return float(evidence()["seconds"] or 0.0)

        with steady_load(running.gateway.public_url):
            running.wait(lambda: seconds() >= 15, "15 s of step evidence", within_s=40)
            saved = evidence()["saved_at"]
            running.wait(lambda: evidence()["saved_at"] != saved, "a save after that")
            time.sleep(2.5)  # the kill comes mid-way between two saves (every 5 s)
            before = counted()
            killed = time.monotonic()
            running.gateway.kill()
            running.gateway.start()
            restarted = time.monotonic() - killed
            running.wait(lambda: evidence()["restored_at"] is not None, "the restored evidence")
            view = evidence()
            restored = int(view["restored_candidate_requests"])
            age = float(view["restored_at"]) - float(view["restored_from"])
            running.wait(lambda: counted() > before, "the evidence past its count before")
            after = counted()
        print(
            f"step evidence: {before} candidate requests before kill -9; restart took "
            f"{restarted:.2f} s; restored {restored} (save {age:.1f} s old at restore); "
            f"{after} once past the count before the kill"
        )
        assert running.view()["phase"] == "running"
        assert before / 2 <= restored < before
        assert after > restored
