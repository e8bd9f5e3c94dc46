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

A fault can target part of the traffic (issue #14: rehearse a regression in one operation, not in
the whole backend): ``methods`` (e.g. ``["POST"]``) and ``path``, a pattern in the syntax of a
route's ``paths`` and compiled by the same :func:`gateway.routing.compile_patterns` (``*`` is any
run of characters, ``/`` included; ``/api/v1/tasks`` is that path exactly, ``/api/v1/tasks*`` the
prefix). Both set means both must match. The path is the request target's up to ``?``, as routes
see it. The filter is compiled once, when the spec is built, and only read for a request when a
spec is active: the data path without faults does not change.

:meth:`FaultSpec.to_data` and :meth:`FaultSpec.from_data` are the one JSON form of a spec: the
admin API answers with it and the cluster's config snapshot carries it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.config_fields import http_methods
from gateway.routing import compile_patterns

Distribution = Literal["fixed", "uniform", "normal", "lognormal"]


class FaultRandom(Protocol):
    """The subset of :class:`random.Random` the decision needs."""

    def random(self) -> float: ...
    def uniform(self, a: float, b: float) -> float: ...
    def gauss(self, mu: float, sigma: float) -> float: ...
    def lognormvariate(self, mu: float, sigma: float) -> float: ...


@dataclass(frozen=True, slots=True)
class FaultSpec:
    """The faults configured for one upstream, and which of its requests they hit."""

    delay_ms: float = 0.0
    delay_distribution: Distribution = "fixed"
    delay_stddev_ms: float = 0.0
    delay_max_ms: float | None = None
    delay_sigma: float = 0.0
    abort_percent: float = 0.0
    abort_status: int = 503
    methods: tuple[str, ...] = ()  #: only these methods (empty: every method)
    path: str | None = None  #: only paths matching this pattern (None: every path)
    _match: Callable[[str], re.Match[str] | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # A JSON list (a snapshot, a caller) becomes the tuple that keeps the spec hashable; the
        # proxy's method names are upper-case.
        object.__setattr__(self, "methods", tuple(m.upper() for m in self.methods))
        if self.path is not None:
            object.__setattr__(self, "_match", compile_patterns([self.path]).match)

    @property
    def active(self) -> bool:
        """Whether this spec can change anything at all."""
        return self.delay_ms > 0 or self.abort_percent > 0 or (self.delay_max_ms or 0) > 0

    @property
    def filtered(self) -> bool:
        """Whether the spec targets part of the traffic only."""
        return bool(self.methods) or self.path is not None

    def matches(self, method: str, target: bytes) -> bool:
        """Whether a request (its method and raw target, query included) is one this spec hits."""
        if self.methods and method not in self.methods:
            return False
        if self._match is None:
            return True
        cut = target.find(b"?")
        return self._match((target if cut < 0 else target[:cut]).decode("latin-1")) is not None

    def to_data(self) -> dict[str, Any]:
        """The spec as JSON (``methods`` a list), the inverse of :meth:`from_data`."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        data["methods"] = list(self.methods)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> FaultSpec:
        """A spec from :meth:`to_data`'s JSON (one written before filters existed loads too)."""
        return cls(**data)


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


def decide(spec: FaultSpec | None, rng: FaultRandom, method: str, target: bytes) -> FaultAction:
    """The fault action for one request (method, raw target) under
    ``spec`` (``None``: no faults)."""
    if spec is None or not spec.active or not spec.matches(method, target):
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
    methods: list[str] = Field(default_factory=list, max_length=16)
    path: str | None = Field(default=None, min_length=1, max_length=2048)

    @field_validator("methods")
    @classmethod
    def _methods(cls, value: list[str]) -> list[str]:
        # As a route's ``methods``, each once.
        return list(dict.fromkeys(http_methods(value)))

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        # As a route's ``paths``: a pattern starts with '/' (or is the catch-all '*').
        if value is not None and not (value.startswith("/") or value == "*"):
            raise ValueError(f"pattern {value!r} must start with '/' (or be '*')")
        return value

    @model_validator(mode="after")
    def _uniform_range(self) -> FaultRequest:
        if self.delay_max_ms is not None and self.delay_max_ms < self.delay_ms:
            raise ValueError("delay_max_ms must be at least delay_ms")
        return self

    def to_spec(self) -> FaultSpec:
        """The frozen spec the data path reads."""
        return FaultSpec.from_data(self.model_dump())
