"""What ``python -m bench replicas`` computes and configures, without its
processes (the run is the bench)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.cluster import ROUTE, config_yaml, tree_cpu_seconds
from bench.replicas_measures import quantile, summary
from gateway.config import load_config


@pytest.mark.parametrize(
    ("q", "expected"), [(0.5, 20.0), (0.99, 40.0), (0.0, 1.0), (1.0, 40.0), (0.25, 10.0)]
)
def test_quantiles_are_nearest_rank(q: float, expected: float) -> None:
    """Nearest rank: with 40 samples p99 is the largest, p50 the 20th."""
    assert quantile([float(v) for v in range(40, 0, -1)], q) == expected


def test_summary_rounds_and_keeps_the_values() -> None:
    """A summary says how many samples, p50 (a median), p99, max, and every value in run order."""
    assert summary([0.5, 0.1234, 0.3], 2) == {
        "samples": 3,
        "p50": 0.3,
        "p99": 0.5,
        "max": 0.5,
        "values": [0.5, 0.12, 0.3],
    }


def test_the_bench_config_loads_as_a_gateway_config(tmp_path: Path) -> None:
    """One sticky route at 50 %, shadowing off, the given store and snapshot cache."""
    path = tmp_path / "g.yaml"
    cache = tmp_path / "snap.json"
    path.write_text(config_yaml(9001, 9002, 9003, "postgresql://u:p@127.0.0.1:5/x", cache))
    config = load_config(path)
    (route,) = config.routes
    assert (route.name, route.weight_bps) == (ROUTE, 5000)
    assert (config.public.port, config.admin.port) == (9002, 9003)
    assert config.migration["state_db"].startswith("postgresql://")
    assert config.migration["snapshot_cache"] == str(cache)
    assert config.migration["contract"] == "none"


def test_tree_cpu_of_a_childless_process_is_its_own_user_and_system_time() -> None:
    """``/proc/<pid>/stat`` fields 14 and 15 (utime, stime) in seconds, as ``os.times`` reports."""
    sum(range(2_000_000))  # some CPU time to read
    own = os.times()
    assert tree_cpu_seconds(os.getpid()) == pytest.approx(own.user + own.system, abs=0.05)
