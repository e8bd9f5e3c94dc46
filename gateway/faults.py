"""Fault injection per upstream: a pure decision (delay, abort) and the small pieces that apply it.

Faults are how a rollback is rehearsed (design page, "Fault injection"): an operator makes the
candidate slow or failing through the admin API and watches the controller react. They are off by
default, exist only in memory, and can only be set through the admin API. The random source is
injected (anything with ``random.Random``'s methods), so tests pin exact outcomes.

Delay distributions (``delay_distribution``):

* ``fixed`` — exactly ``delay_ms``;
* ``uniform`` — uniform on ``[delay_ms, delay_max_ms]``;
* ``normal`` — mean ``delay_ms``, standard deviation ``delay_stddev_ms``, clipped at 0;
* ``lognormal`` — median ``delay_ms``, shape ``delay_sigma`` (heavy right tail, like real latency).

An abort answers ``abort_status`` without contacting the upstream, for ``abort_percent`` % of the
requests; the response counts as that backend's (so a candidate abort can trigger fallback).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

Distribution = Literal["fixed", "uniform", "normal", "lognormal"]


class FaultRandom(Protocol):
    """The subset of :class:`random.Random` the decision needs."""

    def random(self) -> float: ...
    def uniform(self, a: float, b: float) -> float: ...
    def gauss(self, mu: float, sigma: float) -> float: ...
    def lognormvariate(self, mu: float, sigma: float) -> float: ...


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """The faults configured for one upstream."""

    delay_ms: float = 0.0
    delay_distribution: Distribution = "fixed"
    delay_stddev_ms: float = 0.0
    delay_max_ms: float | None = None
    delay_sigma: float = 0.0
    abort_percent: float = 0.0
    abort_status: int = 503

    @property
    def active(self) -> bool:
        """Whether this spec can change anything at all."""
        return self.delay_ms > 0 or self.abort_percent > 0 or (self.delay_max_ms or 0) > 0


@dataclass(frozen=True, slots=True)
class FaultAction:
    """What to do to one request: wait ``delay_s``, then abort with a status or go upstream."""

    delay_s: float
    abort_status: int | None


NO_FAULT = FaultAction(0.0, None)


def draw_delay_ms(spec: FaultSpec, rng: FaultRandom) -> float:
    """One delay in milliseconds from the spec's distribution (never negative)."""
    if spec.delay_distribution == "uniform":
        high = spec.delay_max_ms if spec.delay_max_ms is not None else spec.delay_ms
        value = rng.uniform(spec.delay_ms, high)
    elif spec.delay_distribution == "normal":
        value = rng.gauss(spec.delay_ms, spec.delay_stddev_ms)
    elif spec.delay_distribution == "lognormal":
        value = (
            rng.lognormvariate(math.log(spec.delay_ms), spec.delay_sigma)
            if spec.delay_ms > 0
            else 0.0
        )
    else:
        value = spec.delay_ms
    return max(0.0, value)


def decide(spec: FaultSpec | None, rng: FaultRandom) -> FaultAction:
    """The fault action for one request under ``spec`` (``None``: no faults)."""
    if spec is None or not spec.active:
        return NO_FAULT
    delay_s = draw_delay_ms(spec, rng) / 1000.0
    abort = spec.abort_percent > 0 and rng.random() * 100.0 < spec.abort_percent
    return FaultAction(delay_s, spec.abort_status if abort else None)


def abort_body(backend: str, status: int, request_id: str) -> bytes:
    """The small JSON body of an injected abort."""
    return (
        f'{{"error":"fault_injected","backend":"{backend}","status":{status},'
        f'"request_id":"{request_id}"}}'
    ).encode()


class FaultRequest(BaseModel):
    """Body of ``PUT /faults/{backend}``, validated; errors name the field."""

    model_config = ConfigDict(extra="forbid")

    delay_ms: float = Field(default=0.0, ge=0, le=600_000)
    delay_distribution: Distribution = "fixed"
    delay_stddev_ms: float = Field(default=0.0, ge=0, le=600_000)
    delay_max_ms: float | None = Field(default=None, ge=0, le=600_000)
    delay_sigma: float = Field(default=0.0, ge=0, le=10)
    abort_percent: float = Field(default=0.0, ge=0, le=100)
    abort_status: int = Field(default=503, ge=400, le=599)

    @model_validator(mode="after")
    def _uniform_range(self) -> FaultRequest:
        if self.delay_max_ms is not None and self.delay_max_ms < self.delay_ms:
            raise ValueError("delay_max_ms must be at least delay_ms")
        return self

    def to_spec(self) -> FaultSpec:
        """The frozen spec the data path reads."""
        return FaultSpec(**self.model_dump())
