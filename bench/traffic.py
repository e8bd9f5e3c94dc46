"""Realistic simulated traffic for the rollback bench: pure, seeded, the same for every analysis.

A :class:`Tape` turns a seed into the requests one route receives, in time order, each with
everything that decides its fate drawn up front: arrival time, operation, the uniform that picks
its backend (candidate when below the weight, as the gateway's sticky buckets do), its latency and
the uniform that decides an error. The analyses compared read the *same* tape (common random
numbers), so a difference between them is the analysis, not the luck of the draw; only the
weight, which each controller sets, decides which backend serves a request.

What the model holds, and why:

* **Operations with skewed shares** (:data:`OPERATIONS`, 60/20/10/5/5 %), each with its own
  median: an operation regressing with 5 % of the traffic barely moves the route's p95 (issue #14,
  gap 2). Each request is observed with its contract ``operationId``.
* **Heavy-tailed latencies**: a lognormal body (sigma 0.5) plus a slow mode (2 % of requests
  4-8x slower, GC pauses and cache misses). The route's p95 is ~51 ms, p99 ~100 ms, p99.9 ~270 ms.
* **A rate that changes**: a diurnal sinusoid (+-30 %) compressed into 15 minutes at a random
  phase, and bursts of 3x the rate for 2-6 s (about every 2 min) that also slow both backends by
  25 % (load).
* **Bursty errors**: 0.2 % in the background; shared bursts (both backends, a common cause such as
  a database blip: 1-4 s at 2-10 % errors, about every 10 min); rarer one-sided bursts (1-2 s
  at 1-5 %, about every 30 min) on a backend chosen at random, so a healthy candidate and the
  baseline keep identical distributions. A candidate-*only* cause would be a real regression;
  that is what :class:`Regression` is for.

Regressions apply to the candidate's requests from an onset: every latency scaled (scaling every
latency scales every quantile by the same factor, so x1.2 is exactly "p95 +20 %"), extra error
points, or one operation slower or failing.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "OPERATIONS",
    "Burst",
    "Operation",
    "Regression",
    "Request",
    "Tape",
    "TrafficModel",
]


@dataclass(frozen=True)
class Operation:
    """One operation of the route: its contract ``operationId``, share and median latency."""

    id: str
    name: str
    share: float
    median_s: float


#: The llmstruct API's task routes, read-heavy as such an API is.
OPERATIONS: tuple[Operation, ...] = (
    Operation("list_tasks", "GET /api/v1/tasks", 0.60, 0.012),
    Operation("get_task", "GET /api/v1/tasks/{id}", 0.20, 0.008),
    Operation("get_context", "GET /api/v1/project/context/{mode}", 0.10, 0.040),
    Operation("create_task", "POST /api/v1/tasks", 0.05, 0.025),
    Operation("delete_task", "DELETE /api/v1/tasks/{id}", 0.05, 0.015),
)


@dataclass(frozen=True)
class TrafficModel:
    """The knobs of the traffic; the defaults are the model the module docstring describes."""

    route_rps: float = 100.0
    operations: tuple[Operation, ...] = OPERATIONS
    sigma: float = 0.5
    slow_share: float = 0.02
    slow_factor: tuple[float, float] = (4.0, 8.0)
    diurnal_amplitude: float = 0.3
    diurnal_period_s: float = 900.0
    rate_burst_every_s: float = 120.0
    rate_burst_s: tuple[float, float] = (2.0, 6.0)
    rate_burst_factor: float = 3.0
    rate_burst_slowdown: float = 1.25
    error_rate: float = 0.002
    shared_burst_every_s: float = 600.0
    shared_burst_s: tuple[float, float] = (1.0, 4.0)
    shared_burst_errors: tuple[float, float] = (0.02, 0.10)
    side_burst_every_s: float = 1800.0
    side_burst_s: tuple[float, float] = (1.0, 2.0)
    side_burst_errors: tuple[float, float] = (0.01, 0.05)


@dataclass(frozen=True)
class Regression:
    """What goes wrong with the candidate from ``onset_s`` (seconds on the tape's clock)."""

    name: str
    latency_factor: float = 1.0
    extra_error: float = 0.0
    operation: int | None = None  #: index into the operations; the fields below apply to it
    op_latency_factor: float = 1.0
    op_extra_error: float = 0.0
    unreachable: bool = False  #: every candidate attempt fails to connect (a hard breach)


class Request(NamedTuple):
    """One request as drawn: the healthy error probability of each backend at its time."""

    t: float
    op: int
    pick: float  #: uniform; the candidate serves it when ``pick < weight``
    latency_s: float
    draw: float  #: uniform; an error when ``draw < error probability``
    p_baseline: float
    p_candidate: float


@dataclass(frozen=True)
class Burst:
    """An interval of time with an effect (extra errors, or more traffic)."""

    start: float
    end: float
    size: float  #: extra error probability, or the rate factor
    side: str = "both"  #: "both", "baseline" or "candidate"


def _bursts(
    rng: random.Random,
    horizon_s: float,
    every_s: float,
    length: tuple[float, float],
    size: tuple[float, float],
    sided: bool = False,
) -> list[Burst]:
    out, t = [], rng.expovariate(1.0 / every_s)
    while t < horizon_s:
        side = rng.choice(("baseline", "candidate")) if sided else "both"
        out.append(Burst(t, t + rng.uniform(*length), rng.uniform(*size), side))
        t += rng.expovariate(1.0 / every_s)
    return out


class Tape:
    """The requests of one seeded run, drawn chunk by chunk as far as a reader needs them.

    Bursts are drawn first, for the whole ``horizon_s``, so the schedule of incidents does not
    depend on how far anyone reads; requests are drawn in ``CHUNK_S`` slices and kept, so a second
    reader gets the same requests without drawing them again.
    """

    CHUNK_S = 10.0

    def __init__(self, seed: int, model: TrafficModel | None = None, horizon_s: float = 7200.0):
        self.model = m = model or TrafficModel()
        self.horizon_s = horizon_s
        self._rng = rng = random.Random(seed)
        self.phase = rng.uniform(0.0, 2.0 * math.pi)
        self.rate_bursts = _bursts(
            rng, horizon_s, m.rate_burst_every_s, m.rate_burst_s, (m.rate_burst_factor,) * 2
        )
        self.error_bursts = _bursts(
            rng, horizon_s, m.shared_burst_every_s, m.shared_burst_s, m.shared_burst_errors
        ) + _bursts(
            rng, horizon_s, m.side_burst_every_s, m.side_burst_s, m.side_burst_errors, sided=True
        )
        total = sum(op.share for op in m.operations)
        self._cumulative = list(itertools.accumulate(op.share / total for op in m.operations))
        self._mu = [math.log(op.median_s) for op in m.operations]
        self._chunks: list[list[Request]] = []
        self._t = 0.0

    def rate(self, t: float, bursts: list[Burst] | None = None) -> float:
        """Requests per second on the route at ``t`` (the diurnal swing times any burst)."""
        m = self.model
        angle = 2.0 * math.pi * t / m.diurnal_period_s + self.phase
        rate = m.route_rps * (1.0 + m.diurnal_amplitude * math.sin(angle))
        for b in self.rate_bursts if bursts is None else bursts:
            if b.start <= t < b.end:
                return rate * b.size
        return rate

    def chunk(self, index: int) -> list[Request]:
        """The requests arriving in ``[index * CHUNK_S, (index + 1) * CHUNK_S)``."""
        while len(self._chunks) <= index:
            self._chunks.append(self._draw((len(self._chunks) + 1) * self.CHUNK_S))
        return self._chunks[index]

    def _draw(self, end: float) -> list[Request]:
        m, rng = self.model, self._rng
        start = end - self.CHUNK_S
        errors = [b for b in self.error_bursts if b.start < end and b.end > start]
        loads = [b for b in self.rate_bursts if b.start < end and b.end > start]
        cumulative, mu, sigma = self._cumulative, self._mu, m.sigma
        gauss, uniform, random_ = rng.gauss, rng.uniform, rng.random
        out: list[Request] = []
        t = self._t
        while True:
            t += rng.expovariate(self.rate(t, loads))
            if t >= end:
                break
            op = min(bisect.bisect(cumulative, random_()), len(mu) - 1)
            latency = math.exp(mu[op] + sigma * gauss(0.0, 1.0))
            if random_() < m.slow_share:
                latency *= uniform(*m.slow_factor)
            if any(b.start <= t < b.end for b in loads):
                latency *= m.rate_burst_slowdown
            p_base = p_cand = m.error_rate
            for b in errors:
                if b.start <= t < b.end:
                    p_base += b.size if b.side != "candidate" else 0.0
                    p_cand += b.size if b.side != "baseline" else 0.0
            out.append(Request(t, op, random_(), latency, random_(), p_base, p_cand))
        self._t = end  # the arrival past ``end`` is dropped; memoryless, so the next chunk redraws
        return out
