"""In-flight reports: what each replica sends with its heartbeat, and the leader's sum of them."""

from __future__ import annotations

import orjson
import pytest

from migration.cluster.inflight import MergedInflight, inflight_report


class FakeProxy:
    """Answers ``inflight_ages`` from a table of ages per route and backend."""

    def __init__(self, ages: dict[tuple[str, str], list[float]]) -> None:
        self.ages = ages

    def inflight_ages(self, route: str, backend: str, limit: int) -> tuple[int, list[float]]:
        found = sorted(self.ages.get((route, backend), []), reverse=True)
        return len(found), found[:limit]


def test_report_is_bounded_json_without_empty_entries() -> None:
    """Count plus at most ``limit`` oldest ages (ms precision); idle routes and backends omitted."""
    proxy = FakeProxy({("api", "candidate"): [0.12345, 7.0, 3.5, 1.0], ("web", "baseline"): [2.0]})
    report = inflight_report(proxy, ["api", "web", "idle"], limit=2)
    assert report == {
        "api": {"candidate": {"n": 4, "ages": [7.0, 3.5]}},
        "web": {"baseline": {"n": 1, "ages": [2.0]}},
    }
    assert orjson.loads(orjson.dumps(report)) == report


def test_merged_inflight_sums_replicas() -> None:
    """Counts add up, the count past a threshold comes from the ages, the oldest is the maximum."""
    merged = MergedInflight()
    assert merged.inflight("api", "candidate", 1.0) == (0, 0, 0.0)
    merged.update(
        {
            "r1": {"api": {"candidate": {"n": 3, "ages": [9.5, 2.0, 0.5]}}},
            "r2": {"api": {"candidate": {"n": 70, "ages": [4.0, 1.5]}}},  # truncated report
            "r3": {},
        }
    )
    assert merged.inflight("api", "candidate", 1.0) == (73, 4, 9.5)
    assert merged.inflight("api", "candidate", 60.0) == (73, 0, 9.5)
    assert merged.inflight("api", "baseline", 0.0) == (0, 0, 0.0)
    assert merged.replicas() == ["r1", "r2", "r3"]


def test_update_replaces_reports_so_stale_replicas_drop_out() -> None:
    """A replica left out of the next update (stale heartbeat) no longer counts."""
    merged = MergedInflight()
    merged.update({"r1": {"api": {"baseline": {"n": 1, "ages": [5.0]}}}})
    merged.update({"r2": {}})
    assert merged.inflight("api", "baseline", 0.0) == (0, 0, 0.0)


@pytest.mark.parametrize(
    "report",
    [
        [],
        {"api": []},
        {"api": {"other": {"n": 1, "ages": []}}},
        {"api": {"candidate": {"n": 1, "ages": [1.0, 2.0]}}},  # more ages than in flight
        {"api": {"candidate": {"n": True, "ages": []}}},
        {"api": {"candidate": {"n": 1, "ages": [-1.0]}}},
        {"api": {"candidate": {"n": 1, "ages": ["1"]}}},
        {"api": {"candidate": {"ages": []}}},
    ],
)
def test_malformed_report_is_skipped_and_counted(report: object) -> None:
    """One broken replica's report is dropped and counted; the others still count."""
    merged = MergedInflight()
    merged.update({"bad": report, "good": {"api": {"candidate": {"n": 1, "ages": [3.0]}}}})
    assert merged.rejected == 1
    assert merged.last_rejection is not None
    assert merged.last_rejection.startswith("bad:")
    assert merged.inflight("api", "candidate", 0.0) == (1, 1, 3.0)
