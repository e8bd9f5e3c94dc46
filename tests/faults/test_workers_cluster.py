"""``cutover gateway --workers 2`` on the embedded SQLite store runs one migration over both
workers.

The real llmstruct backends, one supervisor (admin API, controller) and two SO_REUSEPORT workers:
a weight set through the supervisor's admin API reaches both workers through the snapshot, a plan
completes on the evidence both workers publish, and ``/metrics`` shows each worker's requests.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx

from migration.cli.processes import free_port
from tests.e2e.stack import (
    ADMIN_TOKEN,
    API_KEY,
    ROUTE,
    STARTUP_TIMEOUT,
    Load,
    gateway_sender,
    gateway_yaml,
    profile,
    seed_tasks,
    start_backends,
)

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def _start(config: Path, log: Path, admin: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "migration.cli.main", "gateway", "--config", str(config)]
    with log.open("ab") as out:
        proc = subprocess.Popen([*argv, "--workers", "2"], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"http://127.0.0.1:{admin}/readyz", timeout=1.0).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.05)


async def _backends_seen(public: int, n: int) -> set[str]:
    seen = set()
    for i in range(n):  # a fresh connection each: the kernel spreads them over both workers
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(
                f"http://127.0.0.1:{public}/api/v1/system/health",
                headers={"X-API-Key": API_KEY, "X-Client": f"c{i}"},
            )
        seen.add(response.headers["x-cutover-backend"])
    return seen


async def test_two_workers_follow_one_weight_and_one_plan(tmp_path: Path) -> None:
    """A weight set on the supervisor reaches both workers; a plan completes on both's evidence."""
    processes, ports = start_backends(tmp_path)
    public, admin = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        gateway_yaml(ports, public, admin, tmp_path / "migration.db", shadow_percent=0), "utf-8"
    )
    proc = _start(config, tmp_path / "gateway.log", admin)
    base = f"http://127.0.0.1:{admin}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10.0, headers=AUTH) as client:
            r = await client.put(f"/routes/{ROUTE}/weight", json={"percent": 100})
            assert r.status_code == 200, r.text
            start = time.monotonic()
            while await _backends_seen(public, 20) != {"candidate"}:
                assert time.monotonic() - start < 3.0
            took = time.monotonic() - start
            r = await client.put(f"/routes/{ROUTE}/weight", json={"percent": 0})
            assert r.status_code == 200, r.text
            await asyncio.sleep(1.5)
            assert await _backends_seen(public, 20) == {"baseline"}
            sender = gateway_sender(f"http://127.0.0.1:{public}")
            tasks = await seed_tasks(sender, 5)
            plan = {"steps": [50, 100], "hold": "3s", "min_requests": 20}
            r = await client.post(f"/migration/{ROUTE}/start", json=plan)
            assert r.status_code == 200, r.text
            load = Load(sender, replace(profile(tasks, rps=60), timeout_s=15.0))
            deadline = time.monotonic() + 60
            while True:
                overview = (await client.get("/migration")).json()
                view = next(v for v in overview["routes"] if v["route"] == ROUTE)
                assert view["phase"] not in ("rolled_back", "aborted"), view
                if view["phase"] == "completed":
                    break
                assert time.monotonic() < deadline, (tmp_path / "gateway.log").read_text()[-3000:]
                await asyncio.sleep(0.25)
            stats = await load.stop()
            await sender.close()
            metrics = (await client.get("/metrics")).text
        print(f"--workers 2: weight reached both workers within {took * 1000:.0f} ms")
        assert stats.failed == 0, stats.statuses
        assert 'worker="0"' in metrics
        assert 'worker="1"' in metrics
        served = [
            line
            for line in metrics.splitlines()
            if line.startswith("cutover_requests_total{") and 'backend="candidate"' in line
        ]
        assert {w for w in ("0", "1") if any(f'worker="{w}"' in line for line in served)} == {
            "0",
            "1",
        }
        assert overview["cluster"]["leading"]
        assert overview["cluster"]["role"] == "primary"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        processes.stop()
