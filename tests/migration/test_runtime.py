"""The composition root: one gateway process with shadowing, recording
and the controller wired in."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from gateway.config import ConfigError
from migration.runtime import CutoverRuntime, parse_migration_settings
from tests.gateway.conftest import TOKEN, config_for, upstreams  # noqa: F401 - fixture
from tests.gateway.upstreams import Upstream

ROUTES = ["default"]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"interval": 1}, "migration: unknown field"),
        ({"interval_s": "soon"}, "migration.interval_s"),
        ({"interval_s": 0}, "migration.interval_s"),
        ({"rollback_mode": "sideways"}, "migration.rollback_mode"),
        ({"policy": {"window_s": -1}}, "migration.policy.window_s"),
        ({"policy": {"typo": 1}}, "migration.policy: unknown"),
        ({"plan": {"route": "default", "steps": []}}, "migration.plan.steps"),
        ({"plan": {"route": "nope", "steps": [10]}}, "migration.plan.route"),
    ],
)
def test_bad_migration_section_names_the_field(data: dict[str, Any], field: str) -> None:
    """Every invalid `migration:` value stops start-up with a message naming the field."""
    with pytest.raises(ConfigError) as err:
        parse_migration_settings(data, ROUTES)
    assert field in str(err.value)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"interval_s": True}, "migration.interval_s"),
        ({"interval_s": float("nan")}, "migration.interval_s"),
        ({"interval_s": float("inf")}, "migration.interval_s"),
        ({"interval_s": 1e308}, "migration.interval_s"),
        ({"interval_s": 7200}, "migration.interval_s"),
        ({"memory_scrape": "no"}, "migration.memory_scrape"),
        ({"memory_scrape": 1}, "migration.memory_scrape"),
        ({"plan": {"route": "default", "steps": [10, 100], "hold": 1e308}}, "migration.plan.hold"),
    ],
)
def test_migration_values_are_strict_and_bounded(data: dict[str, Any], field: str) -> None:
    """No boolean or non-finite interval, no 'no' as a flag, no endless hold: named errors."""
    with pytest.raises(ConfigError) as err:
        parse_migration_settings(data, ROUTES)
    assert str(err.value).startswith(f"{field}: ")


def test_migration_values_from_the_environment_are_strings() -> None:
    """CUTOVER_MIGRATION__* overrides arrive as strings: seconds and true/false still parse."""
    settings = parse_migration_settings({"interval_s": "2", "memory_scrape": "false"}, ROUTES)
    assert settings.interval_s == 2.0
    assert settings.memory_scrape is False


def test_migration_defaults(tmp_path: Path) -> None:
    """Without a section: 5 s interval, roll back to zero, the packaged contract, no plan."""
    settings = parse_migration_settings({}, ROUTES, base_dir=tmp_path)
    assert settings.interval_s == 5.0
    assert settings.rollback_mode == "zero"
    assert settings.contract == "llmstruct"
    assert settings.plans == ()
    assert settings.state_db == tmp_path / ".cutover" / "migration.db"


@pytest.fixture
async def runtime(
    upstreams: tuple[Upstream, Upstream],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> AsyncIterator[CutoverRuntime]:
    """A runtime over the two scripted upstreams, shadowing every GET, recording everything."""
    baseline, candidate = upstreams
    config = config_for(
        baseline.url,
        candidate.url,
        routes=[
            {
                "name": "default",
                "paths": ["/*"],
                # No same-backend noise probes: their random 10 % share made the count below a
                # coin toss (6 of 20 probes, 1 % of runs, failed CI once).
                "shadow": {"percent": 100, "same_backend_percent": 0},
            }
        ],
        recording={"path": str(tmp_path / "rec.jsonl"), "sample_rate": 1.0},
        migration={
            "state_db": str(tmp_path / "migration.db"),
            "interval_s": 0.05,
            "contract": "none",
            "memory_scrape": False,
            "plan": {"route": "default", "steps": [10, 100], "hold": "1h", "min_requests": 5},
        },
    )
    rt = CutoverRuntime(config, CollectorRegistry())
    await rt.start()
    yield rt
    await rt.stop()


async def _until(predicate: Any, limit_s: float = 5.0) -> None:
    """Poll state that background workers change; none of them exposes an event to await."""
    async with asyncio.timeout(limit_s):
        while not predicate():  # noqa: ASYNC110 - see the docstring
            await asyncio.sleep(0.02)


async def test_runtime_wires_shadow_controller_and_recorder(
    runtime: CutoverRuntime, tmp_path: Path
) -> None:
    """Traffic is shadowed and recorded, the config's plan runs, admin shows all of it."""
    gw = runtime.gateway
    assert runtime.store.load("default") is not None  # the config's plan started
    await _until(lambda: gw.state.get_weights()["default"] == 1000)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.public_port}") as client:
        for _ in range(20):
            assert (await client.get("/json", headers={"X-API-Key": "k"})).status_code == 200
    # Every request is shadowed to the candidate. The sidecar runs niced: on a busy CI host its
    # first batches can take seconds (this tests wiring, not speed).
    await _until(lambda: runtime.metrics.total_shadow("default") >= 20, limit_s=20.0)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{gw.admin_port}", headers=headers
    ) as admin:
        shadow = (await admin.get("/shadow")).json()
        migration = (await admin.get("/migration")).json()
        metrics = (await admin.get("/metrics")).text
    assert json.dumps(shadow).count("default") >= 1
    assert migration["routes"][0]["phase"] == "running"
    for name in ("cutover_shadow_total", "cutover_migration_phase", "cutover_requests_total"):
        assert name in metrics
    await runtime.stop()  # flushes the recorder; the fixture's second stop is harmless
    lines = (tmp_path / "rec.jsonl").read_text().splitlines()
    assert len(lines) == 20
    assert json.loads(lines[0])["request"]["headers"]  # redaction is the recorder's own test


async def test_restart_resumes_the_stored_plan(runtime: CutoverRuntime) -> None:
    """A second runtime over the same state file resumes the migration instead of restarting it."""
    await _until(lambda: runtime.gateway.state.get_weights()["default"] == 1000)
    config = runtime.config
    await runtime.stop()
    again = CutoverRuntime(config, CollectorRegistry())
    await again.start()
    try:
        state = again.store.load("default")
        assert state is not None
        assert state.step_index == 0
        assert again.gateway.state.get_weights()["default"] == 1000  # re-applied at start-up
        assert len(again.store.events("default")) >= 1
    finally:
        await again.stop()
