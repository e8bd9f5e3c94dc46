"""A dead baseline is a broken control: the controller holds instead of judging against it.

Issue #12, item 3, controller side, with a real ``cutover gateway`` process over two upstream
processes: ``kill -9`` on the baseline at 10 %; the status says ``baseline_degraded`` (one event per
episode) and the step is never promoted while it lasts, however long it has been held.
"""

from __future__ import annotations

from pathlib import Path

from tests.faults.state_store_support import ROUTE, stack, steady_load


def test_a_dead_baseline_holds_the_step_and_says_so(tmp_path: Path) -> None:
    """Held past its hold time with the baseline dead: still step 1, condition and one event."""
    with stack(tmp_path) as running:
        plan = {"steps": [10, 100], "hold": "4s", "min_requests": 10}
        running.call("POST", f"/migration/{ROUTE}/start", plan)
        with steady_load(running.gateway.public_url) as seen:
            running.wait(lambda: running.view()["backends"]["candidate"]["samples"] >= 5, "load")
            running.upstreams[0].kill()
            took = running.wait(
                lambda: "baseline_degraded" in running.view()["conditions"], "baseline_degraded"
            )
            print(f"baseline killed -> baseline_degraded in the status: {took:.2f} s")
            running.wait(lambda: running.view()["plan"]["held_s"] >= 7, "held past the hold time")
            view = running.view()
        assert (view["phase"], view["plan"]["step_index"]) == ("running", 0)
        assert view["last_decision"]["reasons"][0].startswith("baseline_degraded: ")
        assert running.stored_events().count("baseline_degraded") == 1
        print(f"client outcomes with the baseline dead at 10 %: {dict(seen.statuses)}")
        # GETs the baseline cannot answer go to the candidate: no 502s (before: ~90 % of them).
        assert not [status for status in seen.statuses if status >= 500], seen.statuses
