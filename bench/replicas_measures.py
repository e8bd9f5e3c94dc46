"""The four measurements of ``python -m bench replicas``, each over gateways already running.

* :func:`workers_throughput` — wrk against ``--workers 1`` and ``--workers 2``, alternating which
  goes first each round; the median of the per-round ratios, and CPU per request of each process
  tree (user + system from ``/proc`` over the run ÷ requests).
* :func:`propagation` — a weight PUT on a random replica's admin API, timed until every replica's
  ``GET /status`` shows it (polled every few ms, all replicas at once).
* :func:`failover` — SIGKILL of the leader, timed until another replica's ``GET /cluster`` says
  ``leading``; the killed one is started again before the next sample.
* :func:`rollback_trial` — a plan held at 50 % under open-loop load, a candidate delay injected on
  a random member, timed until the leader records ``rolled_back`` and until every member serves
  weight 0.

Pure statistics (:func:`quantile`, :func:`summary`) are apart from the I/O so they can be tested.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bench.cluster import ROUTE, Admin, Gateway, host_busy_seconds, leader_of, own_tree_seconds
from bench.harness import wrk
from gateway.config import UpstreamConfig
from gateway.shadow.sender import PoolSender
from migration.loadgen import LoadGenerator, LoadProfile, LoadStats

#: A sticky key for wrk, as real clients send one.
WRK_HEADERS = ("X-API-Key: bench-client",)
#: Held at 50 % for the rollback trials: no promotion can end a trial early.
HOLD_PLAN = {"steps": [50, 100], "hold": "10m", "min_requests": 1_000_000}
POLL_S = 0.005
#: A throughput round in which other processes took more of the host than this is run again.
NOISY_SHARE = 0.10


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile (with 40 samples p99 is the largest: said so in the table)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


def summary(values: Sequence[float], digits: int = 3) -> dict[str, Any]:
    """p50, p99, max and the values themselves, rounded."""
    return {
        "samples": len(values),
        "p50": round(statistics.median(values), digits),
        "p99": round(quantile(values, 0.99), digits),
        "max": round(max(values), digits),
        "values": [round(v, digits) for v in values],
    }


# --------------------------------------------------------------------------- 1. workers


def _wrk_run(gateway: Gateway, url: str, duration: float, connections: int) -> dict[str, float]:
    """One wrk run: its figures, the gateway tree's CPU per request,
    and others' share of the host."""
    before, host, mine = gateway.cpu_seconds(), host_busy_seconds(), own_tree_seconds()
    began = time.monotonic()
    result = wrk(url, connections, duration, WRK_HEADERS)
    used = gateway.cpu_seconds() - before
    if result["requests"] == 0 or result["non_2xx"]:
        raise RuntimeError(f"{gateway.name}: {result}")
    # What processes outside this bench took of the machine meanwhile: on a shared host, that is
    # the noise these figures carry.
    others = (host_busy_seconds() - host) - (own_tree_seconds() - mine)
    cores = len(os.sched_getaffinity(0)) * (time.monotonic() - began)
    return {
        **result,
        "cpu_us_per_request": used / result["requests"] * 1e6,
        "others_cpu_share": max(0.0, others) / cores,
    }


def workers_throughput(
    gateways: dict[int, Gateway], rounds: int, duration: float, connections: int
) -> dict[str, Any]:
    """req/s and CPU µs/request of each ``--workers`` count, rounds alternating their order.

    A round in which other processes took more than ``NOISY_SHARE`` of the host (other sessions'
    test runs, here) is set aside and run again, up to as many extra rounds as asked for; the set
    aside rounds are kept in the result, and used only if too few quiet ones were had.
    """
    url = {n: f"{g.public_url}/api/v1/items" for n, g in gateways.items()}
    for n in gateways:  # warm-up: connection pools, allocator, every worker's accept queue
        wrk(url[n], connections, 2.0, WRK_HEADERS)
    quiet: list[dict[int, dict[str, float]]] = []
    noisy: list[dict[int, dict[str, float]]] = []
    for index in range(2 * rounds):
        if len(quiet) == rounds:
            break
        order = sorted(gateways) if index % 2 == 0 else sorted(gateways, reverse=True)
        done = {n: _wrk_run(gateways[n], url[n], duration, connections) for n in order}
        busy = max(r["others_cpu_share"] for r in done.values()) > NOISY_SHARE
        (noisy if busy else quiet).append(done)
    used = quiet if len(quiet) >= max(1, rounds // 2) else quiet + noisy
    low, high = min(gateways), max(gateways)
    # Each round's two runs were back to back: their ratio cancels the machine's drift.
    ratios = [r[high]["rps"] / r[low]["rps"] for r in used]
    return {
        "rps": {str(n): statistics.median(r[n]["rps"] for r in used) for n in gateways},
        "cpu_us_per_request": {
            str(n): statistics.median(r[n]["cpu_us_per_request"] for r in used) for n in gateways
        },
        "ratio": statistics.median(ratios),
        "ratios": [round(r, 3) for r in ratios],
        "others_cpu_share": round(
            statistics.median(r[n]["others_cpu_share"] for r in used for n in gateways), 3
        ),
        "quiet_rounds": len(quiet),
        "busy_rounds": len(noisy),
        "busy_rounds_used": used is not quiet,
        "rounds": [{str(n): r[n] for n in gateways} for r in used],
        "set_aside": [{str(n): r[n] for n in gateways} for r in noisy] if used is quiet else [],
    }


# --------------------------------------------------------------------------- polling


async def _until(check: Callable[[], Awaitable[bool]], what: str, within_s: float) -> float:
    """Poll ``check`` until true; monotonic time when it was."""
    deadline = time.monotonic() + within_s
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {within_s:g} s waiting for {what}")
        await asyncio.sleep(POLL_S)
    return time.monotonic()


async def _weights(admins: Sequence[Admin]) -> list[int]:
    return list(await asyncio.gather(*(a.weight() for a in admins)))


async def all_at(admins: Sequence[Admin], bps: int, within_s: float = 10.0) -> float:
    """Wait until every member serves ``bps``; monotonic time when they did."""

    async def check() -> bool:
        return all(w == bps for w in await _weights(admins))

    return await _until(check, f"every member at {bps} bps", within_s)


# --------------------------------------------------------------------------- 2. propagation


async def propagation(admins: Sequence[Admin], samples: int, rng: random.Random) -> dict[str, Any]:
    """Milliseconds from a weight PUT on a random replica until every replica shows it."""
    took = []
    current = (await _weights(admins))[0]
    for _ in range(samples):
        percent = rng.choice([p for p in range(5, 100, 5) if p * 100 != current])
        target = rng.choice(admins)
        await asyncio.sleep(rng.uniform(0.05, 0.3))  # a random phase against the 1 s poll
        start = time.monotonic()
        await target.send("PUT", f"/routes/{ROUTE}/weight", {"percent": percent})
        took.append((await all_at(admins, percent * 100) - start) * 1000)
        current = percent * 100
    return summary(took, 1)


# --------------------------------------------------------------------------- 3. failover


async def failover(
    replicas: Sequence[Gateway], admins: Sequence[Admin], samples: int, rng: random.Random
) -> dict[str, Any]:
    """Seconds from SIGKILL of the leader until a survivor says it leads."""
    took = []
    for _ in range(samples):
        leader = await leader_of(list(admins))
        await asyncio.sleep(rng.uniform(0.0, 2.0))  # a random phase against the 2 s renewal
        leader.gateway.kill()
        killed = time.monotonic()
        survivors = [a for a in admins if a is not leader]

        async def someone_leads(survivors: Sequence[Admin] = survivors) -> bool:
            return any(await asyncio.gather(*(a.leading() for a in survivors)))

        took.append(await _until(someone_leads, "a new leader", 30.0) - killed)
        await asyncio.to_thread(leader.gateway.start)  # back as a follower for the next sample
        await all_at(admins, (await _weights(survivors))[0], 10.0)
    return summary(took, 2)


# --------------------------------------------------------------------------- 4. rollback


class Traffic:
    """Open-loop load spread evenly over gateways (a load balancer's share each)."""

    def __init__(self, gateways: Sequence[Gateway], total_rps: float, seed: int) -> None:
        self.senders = []
        self.generators = []
        for i, gw in enumerate(gateways):
            upstream = UpstreamConfig(gw.public_url, 2.0, 10.0, 30.0, 64)
            sender = PoolSender({"gateway": upstream})
            shape = LoadProfile(rps=total_rps / len(gateways), api_key="bench", write_share=0.0)
            self.senders.append(sender)
            self.generators.append(LoadGenerator(sender, shape, rng=random.Random(seed + i)))
        self._stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(g.run(self._stop), name=f"bench-load-{i}")
            for i, g in enumerate(self.generators)
        ]

    async def stop(self) -> list[LoadStats]:
        self._stop.set()
        stats = list(await asyncio.gather(*self._tasks))
        for sender in self.senders:
            await sender.close()
        return stats


async def rollback_trial(
    admins: Sequence[Admin],
    delay_ms: Callable[[dict[str, Any]], float],
    *,
    total_rps: float,
    warmup_s: float,
    rng: random.Random,
) -> dict[str, Any]:
    """Start the held plan, warm up, inject the candidate delay; time the rollback.

    ``delay_ms`` is called with the leader's route view at the end of the warm-up (the baseline's
    p95 in it) and returns the delay to inject.
    """
    leader = admins[0] if len(admins) == 1 else await leader_of(list(admins))
    traffic = Traffic([a.gateway for a in admins], total_rps, rng.randrange(1 << 16))
    try:
        await leader.send("POST", f"/migration/{ROUTE}/start", HOLD_PLAN)
        await all_at(admins, 5000)
        await asyncio.sleep(warmup_s)  # the window (4 s) fills with healthy traffic only
        view = await leader.view()
        if view["phase"] != "running":
            raise RuntimeError(f"rolled back before the fault: {view['last_decision']}")
        delay = delay_ms(view)
        target = rng.choice(list(admins))
        wall, start = time.time(), time.monotonic()
        await target.send("PUT", "/faults/candidate", {"delay_ms": delay})
        first = await _until(lambda: _any_zero(admins), "a member at 0", 60.0)  # the leader
        every = await all_at(admins, 0, 10.0)
        events = (await leader.get(f"/migration/events?route={ROUTE}&limit=20"))["events"]
    finally:
        stats = await traffic.stop()
        await leader.send("DELETE", "/faults/candidate")
    rolled = next(e for e in reversed(events) if e["kind"] == "rolled_back" and e["at"] >= wall)
    p95 = rolled["numbers"].get("latency_p95", {})
    return {
        "delay_ms": delay,
        "decision_s": round(rolled["at"] - wall, 3),
        "first_at_zero_s": round(first - start, 3),
        "all_at_zero_s": round(every - start, 3),
        "reasons": rolled["reasons"],
        "p95_ms": {
            k: round(p95[k] * 1000, 2) for k in ("baseline", "candidate", "threshold") if k in p95
        },
        "requests": sum(s.sent for s in stats),
        "client_failures": sum(s.failed for s in stats),
        "ended_at": time.monotonic(),
    }


async def _any_zero(admins: Sequence[Admin]) -> bool:
    return 0 in await _weights(admins)
