"""Three ``cutover gateway`` replicas on loopback over one real PostgreSQL, for the issue #13 fault
tests.

Each replica is its own process (so a test can ``kill -9`` or ``SIGSTOP`` it) with its own public
and admin port, named by ``CUTOVER_REPLICA``; all share the backends and the database. Load runs
against every replica at once, one :class:`~tests.e2e.stack.Load` each, as a load balancer would
spread it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.cluster import Gateway
from gateway.shadow.sender import PoolSender
from migration.cli.processes import BackendProcesses, free_port
from migration.loadgen import LoadStats
from tests.e2e.stack import (
    ADMIN_TOKEN,
    ROUTE,
    BackendPorts,
    Load,
    gateway_sender,
    gateway_yaml,
    profile,
    seed_tasks,
    start_backends,
)
from tests.support.postgres import PostgresServer

__all__ = ["ROUTE", "Replica", "ReplicaSet", "replica_set"]


@dataclass
class Replica(Gateway):
    """One ``cutover gateway`` process of the set (:class:`bench.cluster.Gateway`), pausable."""

    paused: bool = False

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)
        if sig is signal.SIGSTOP:
            self.paused = True
        elif sig is signal.SIGCONT:
            self.paused = False

    def stop(self) -> None:
        if self.paused and self.alive:
            self.signal(signal.SIGCONT)
        super().stop()

    def log_events(self, event: str) -> list[dict[str, Any]]:
        """Every JSON log line of this replica whose ``event`` is ``event``."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if f'"{event}"' in line:
                with contextlib.suppress(ValueError):
                    item = json.loads(line)
                    if isinstance(item, dict) and item.get("event") == event:
                        found.append(item)
        return found


@dataclass
class ReplicaSet:
    """The replicas, their admin clients, and the loads running against them."""

    replicas: list[Replica]
    server: PostgresServer
    ports: BackendPorts
    backends: BackendProcesses
    task_ids: tuple[str, ...] = ()
    loads: dict[str, Load] = field(default_factory=dict)
    stats: dict[str, LoadStats] = field(default_factory=dict)

    def __getitem__(self, index: int) -> Replica:
        return self.replicas[index]

    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if r.alive and not r.paused]

    async def get(self, replica: Replica, path: str, wait_s: float = 5.0) -> Any:
        async with httpx.AsyncClient(timeout=wait_s) as client:
            response = await client.get(f"{replica.admin_url}{path}", headers=_auth())
            assert response.status_code == 200, (replica.name, path, response.text)
            return response.json()

    async def send(
        self, replica: Replica, method: str, path: str, body: Any = None, expect: int = 200
    ) -> Any:
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.request(
                method, f"{replica.admin_url}{path}", json=body, headers=_auth()
            )
        assert response.status_code == expect, (replica.name, path, response.text)
        return response.json()

    async def leader(self, within_s: float = 15.0) -> Replica:
        """The replica that says it leads (waits for one)."""
        deadline = time.monotonic() + within_s
        while True:
            for replica in self.alive():
                with contextlib.suppress(httpx.HTTPError, AssertionError):
                    if (await self.get(replica, "/cluster", 1.0))["leading"]:
                        return replica
            if time.monotonic() > deadline:
                raise AssertionError(f"no leader within {within_s}s:\n{self.tails()}")
            await asyncio.sleep(0.05)

    async def view(self, replica: Replica | None = None) -> dict[str, Any]:
        """The route's entry of ``GET /migration`` on ``replica`` (the first alive one)."""
        overview = await self.get(replica or self.alive()[0], "/migration")
        found: dict[str, Any] = next(v for v in overview["routes"] if v["route"] == ROUTE)
        return found

    async def weights(self) -> dict[str, int]:
        """Each alive replica's weight in force."""
        out = {}
        for replica in self.alive():
            status = await self.get(replica, "/status")
            out[replica.name] = int(status["routes"][0]["weight_bps"])
        return out

    async def wait(self, predicate: Callable[[], Any], what: str, within_s: float = 45.0) -> float:
        """Poll the coroutine function ``predicate`` until true; returns the seconds it took."""
        start = time.monotonic()
        while not await predicate():
            if time.monotonic() - start > within_s:
                raise AssertionError(f"timed out waiting for {what}:\n{self.tails()}")
            await asyncio.sleep(0.05)
        return time.monotonic() - start

    async def events(self, replica: Replica | None = None) -> list[dict[str, Any]]:
        data = await self.get(replica or self.alive()[0], f"/migration/events?route={ROUTE}")
        events: list[dict[str, Any]] = data["events"]
        return events

    def start_load(self, rps_each: float) -> None:
        """One load per replica (a load balancer's spread), 15 s client timeout."""
        for replica in self.replicas:
            sender = gateway_sender(replica.public_url)
            shape = replace(profile(self.task_ids, rps=rps_each), timeout_s=15.0)
            self.loads[replica.name] = Load(sender, shape)

    async def stop_load(self, replica: Replica) -> LoadStats:
        load = self.loads.pop(replica.name)
        stats = await load.stop()
        sender = load.generator.sender
        assert isinstance(sender, PoolSender)
        await sender.close()
        self.stats[replica.name] = stats
        return stats

    async def stop_loads(self) -> dict[str, LoadStats]:
        for replica in list(self.replicas):
            if replica.name in self.loads:
                await self.stop_load(replica)
        return self.stats

    def tails(self) -> str:
        return "\n".join(f"--- {r.name}\n{r.tail(1500)}" for r in self.replicas)


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@contextlib.asynccontextmanager
async def replica_set(
    tmp_path: Path, server: PostgresServer, count: int = 3, *, shadow_percent: float = 0
) -> AsyncIterator[ReplicaSet]:
    """``count`` replicas over ``server``, started in order; every process stopped at the end."""
    processes, ports = start_backends(tmp_path)
    replicas = []
    for i in range(count):
        public, admin = free_port(), free_port()
        data = yaml.safe_load(
            gateway_yaml(
                ports, public, admin, tmp_path / "unused.db", shadow_percent=shadow_percent
            )
        )
        data["migration"]["state_db"] = server.url()
        data["migration"]["snapshot_cache"] = str(tmp_path / f"r{i}-snapshot.json")
        data["migration"]["journal"] = str(tmp_path / f"r{i}-state-journal.jsonl")  # its own
        config = tmp_path / f"r{i}.yaml"
        config.write_text(yaml.safe_dump(data), "utf-8")
        log = tmp_path / f"r{i}.log"
        replicas.append(Replica(f"r{i}", config, public, admin, log, replica=f"r{i}"))
    running = ReplicaSet(replicas, server, ports, processes)
    try:
        for replica in replicas:
            replica.start()
        sender = gateway_sender(replicas[0].public_url)
        running.task_ids = await seed_tasks(sender, 5)
        await sender.close()
        yield running
    finally:
        for load in running.loads.values():
            with contextlib.suppress(Exception):
                await load.stop()
        for replica in replicas:
            replica.stop()
        processes.stop()
