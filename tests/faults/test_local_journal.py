"""A cluster member's fail-static lowering survives a ``kill -9`` while PostgreSQL is down.

The README's Known limits listed it: a member whose store is unreachable applies an operator's
lower weight (or its guard's hard-breach rollback) locally and publishes it when the store returns,
but it kept that change in memory only, so a member killed during the outage came back serving its
snapshot cache's higher weight. (The leader's own change is also a buffered controller write, kept
by the state journal; a member that does not lead had nothing.) Here two real ``cutover gateway``
replicas over a real PostgreSQL serve 50 %; with the database dead the one that does not lead gets
10 % through its admin API, is killed with SIGKILL and started again with the database still dead:
it must serve 10 % from its first request (:mod:`migration.cluster.local_journal`), and once
PostgreSQL is back the ``local_change`` event must be in the database exactly once.
"""

from __future__ import annotations

import asyncio
import json
import time
from functools import partial
from pathlib import Path

import httpx
import psycopg

from tests.e2e.stack import ADMIN_TOKEN
from tests.faults.replicas_support import ROUTE, Replica, ReplicaSet, replica_set
from tests.support.postgres import running_server


async def test_a_members_lowering_during_an_outage_survives_a_kill_of_the_member(
    tmp_path: Path,
) -> None:
    """PostgreSQL dead, 50 % -> 10 % on a member, kill -9, restart: 10 % at once; one event."""
    with running_server() as server:
        async with replica_set(tmp_path, server, count=2) as rs:
            leader = await rs.leader()
            member = next(r for r in rs.replicas if r is not leader)
            local = tmp_path / f"{member.name}-state-journal-local.jsonl"
            await rs.send(member, "PUT", f"/routes/{ROUTE}/weight", {"percent": 50})
            await rs.wait(partial(_all_at, rs, 5000), "every replica at 50 %", 5.0)
            server.kill()
            await rs.send(member, "PUT", f"/routes/{ROUTE}/weight", {"percent": 10})
            assert await _weight(rs, member) == 1000
            assert local.exists()

            member.kill()  # no shutdown hook: the lowering is only in the local journal
            started = time.monotonic()
            member.start()  # PostgreSQL still dead: fail-static from the snapshot cache
            ready_s = time.monotonic() - started
            first_bps = await _weight(rs, member)
            replayed = member.log_events("journal_replayed")
            print(
                f"member restarted with PostgreSQL down: ready in {ready_s:.2f} s, "
                f"weight {first_bps} bps (its snapshot cache: 5000); replayed {replayed}"
            )
            assert first_bps == 1000, first_bps
            assert replayed
            assert replayed[0]["local_changes"] == 1
            assert await _pending(member) == 1

            down = time.monotonic()
            server.start()
            await rs.wait(partial(_all_at, rs, 1000), "every replica at 10 %", 30.0)
            await rs.wait(partial(_stored, server.url()), "the local_change event", 30.0)
            stored_s = time.monotonic() - down
            await rs.wait(partial(_removed, local), "the local journal removed", 10.0)
            await asyncio.sleep(2.0)  # a few more reads of the store: nothing published twice
            events = _local_changes(server.url())
            print(
                f"store back -> every replica at 10 % and local_change stored in "
                f"{stored_s:.2f} s; local_change events: {events}"
            )
            assert events == [(member.name, 1000)]
            assert set((await rs.weights()).values()) == {1000}


async def _stored(url: str) -> bool:
    return bool(_local_changes(url))


async def _removed(path: Path) -> bool:
    return not await asyncio.to_thread(path.exists)


async def _all_at(rs: ReplicaSet, bps: int) -> bool:
    return set((await rs.weights()).values()) == {bps}


async def _weight(rs: ReplicaSet, replica: Replica) -> int:
    status = await rs.get(replica, "/status")
    return int(status["routes"][0]["weight_bps"])


async def _pending(replica: Replica) -> float | None:
    """``cutover_state_journal_pending`` on ``replica``'s /metrics."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(timeout=5.0) as client:
        text = (await client.get(f"{replica.admin_url}/metrics", headers=headers)).text
    for line in text.splitlines():
        if line.startswith("cutover_state_journal_pending "):
            return float(line.rsplit(" ", 1)[1])
    return None


def _local_changes(url: str) -> list[tuple[str, int]]:
    """(replica, weight) of each ``local_change`` event in the database, oldest first."""
    with psycopg.connect(url, connect_timeout=5) as conn:
        rows = conn.execute(
            "SELECT event_json FROM migration_event WHERE kind = 'local_change' ORDER BY id"
        ).fetchall()
    out = []
    for (raw,) in rows:
        event = json.loads(raw)
        out.append((str(event["numbers"]["replica"]), int(event["weight_bps"])))
    return out
