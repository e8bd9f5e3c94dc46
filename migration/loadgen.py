"""A bounded synthetic load generator for `cutover demo` and the end-to-end tests.

Open-loop: requests start at a fixed rate whatever the latency (as real users arrive), with a cap on
requests in flight so a stalled gateway cannot pile up unbounded work. Each simulated client has its
own sticky key (``X-Client-ID``), so a weight of 10 % really sends about a tenth of the clients to
the candidate. The request mix is the llmstruct API's read path plus an occasional task write.

It sends through the gateway's own HTTP/1.1 client (:class:`gateway.shadow.sender.PoolSender`):
httpx would cost more CPU per request than the gateway itself on this 2-core machine.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from gateway.shadow.sender import ShadowSender

CLIENT_HEADER = "X-Client-ID"


@dataclass(frozen=True)
class LoadProfile:
    """How much traffic, from how many clients, with which credentials."""

    rps: float = 150.0
    clients: int = 200
    api_key: str = "dev-key"
    task_ids: tuple[str, ...] = ()
    write_share: float = 0.02
    timeout_s: float = 5.0
    max_in_flight: int = 256


@dataclass(frozen=True)
class PlannedRequest:
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None


@dataclass
class LoadStats:
    """What clients saw: counts, failures and a bounded latency sample."""

    sent: int = 0
    ok: int = 0
    failed: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    backends: Counter[str] = field(default_factory=Counter)
    latencies_s: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))

    def record(self, status: int, backend: str, latency_s: float) -> None:
        self.statuses[status] += 1
        self.backends[backend] += 1
        self.latencies_s.append(latency_s)
        if 200 <= status < 400:
            self.ok += 1
        else:
            self.failed += 1

    def quantile_ms(self, q: float) -> float | None:
        if not self.latencies_s:
            return None
        ordered = sorted(self.latencies_s)
        return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def plan_request(profile: LoadProfile, rng: random.Random) -> PlannedRequest:
    """One request of the mix (pure: the randomness is passed in)."""
    client = f"client-{rng.randrange(profile.clients)}"
    headers: list[tuple[str, str]] = [
        ("x-api-key", profile.api_key),
        (CLIENT_HEADER.lower(), client),
        ("accept", "application/json"),
    ]
    draw = rng.random()
    if draw < profile.write_share:
        body = orjson.dumps(
            {"title": f"demo task from {client}", "priority": "low", "tags": ["demo"]}
        )
        headers.append(("content-type", "application/json"))
        return PlannedRequest("POST", "/api/v1/tasks", tuple(headers), body)
    if draw < 0.55:
        return PlannedRequest("GET", "/api/v1/tasks?limit=10", tuple(headers), None)
    if draw < 0.85 and profile.task_ids:
        task_id = profile.task_ids[rng.randrange(len(profile.task_ids))]
        return PlannedRequest("GET", f"/api/v1/tasks/{task_id}", tuple(headers), None)
    if draw < 0.95:
        return PlannedRequest("GET", "/api/v1/tasks?status=open&limit=5", tuple(headers), None)
    return PlannedRequest("GET", "/api/v1/system/status", tuple(headers), None)


class LoadGenerator:
    """Sends the mix at ``profile.rps`` until stopped; ``stats`` is what the clients saw."""

    def __init__(
        self,
        sender: ShadowSender,
        profile: LoadProfile,
        *,
        target: str = "gateway",
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sender = sender
        self.profile = profile
        self.target = target
        self.rng = rng or random.Random(7)
        self.clock = clock
        self.stats = LoadStats()
        self._slots = asyncio.Semaphore(profile.max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()

    async def _one(self, request: PlannedRequest) -> None:
        started = self.clock()
        try:
            response = await self.sender.send(
                self.target,
                request.method,
                request.target,
                request.headers,
                request.body,
                self.profile.timeout_s,
            )
        except Exception:  # transport errors and timeouts are what a client would see as failures
            self.stats.record(599, "none", self.clock() - started)
            return
        finally:
            self._slots.release()
        backend = dict(response.headers).get("x-cutover-backend", "unknown")
        self.stats.record(response.status, backend, self.clock() - started)

    async def run(self, stop: asyncio.Event, duration_s: float | None = None) -> LoadStats:
        """Start requests on schedule until ``stop`` is set (or ``duration_s`` passes)."""
        interval = 1.0 / self.profile.rps
        begin = self.clock()
        next_at = begin
        while not stop.is_set():
            now = self.clock()
            if duration_s is not None and now - begin >= duration_s:
                break
            if now < next_at:
                await asyncio.sleep(next_at - now)
                continue
            next_at += interval
            if self._slots.locked():
                self.stats.record(598, "none", 0.0)  # shed: too many in flight
                continue
            await self._slots.acquire()
            self.stats.sent += 1
            task = asyncio.get_running_loop().create_task(
                self._one(plan_request(self.profile, self.rng)), name="loadgen-request"
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        return self.stats
