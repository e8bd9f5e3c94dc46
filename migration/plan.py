"""Ramp plans: the candidate weights to walk through, and how long each must hold.

A plan is parsed once — from a config mapping (YAML) or from the operator CLI's strings — into
frozen :class:`Plan`/:class:`Step` values; a bad value raises :class:`PlanError` naming the field.

Weights are written in percent by people (``10``, ``0.5``, ``shadow``) and kept in basis points
(1/100 of a percent, the gateway's unit). ``0``/``shadow`` is a shadow-only step: no live traffic to
the candidate; its progress counts shadow comparisons instead of candidate requests.

CLI forms::

    --steps shadow,10,50,100     --hold 60s (also 500ms, 5m, 1h30m, or plain seconds)
    --min-requests 500           --gates 50,100   (steps an operator's promote enters)
    --deadline 30m               --on-stall hold|rollback

Config form (one plan per route, or ``route: "*"`` for every route the gateway knows)::

    route: tasks
    hold: 60s
    min_requests: 500
    deadline: 30m          # a step that cannot decide by then is ``stalled``
    on_stall: hold         # ... and then holds (and says so) or rolls back
    steps: [shadow, 10, {weight: 50, gate: true}, {weight: 100, hold: 5m, deadline: 1h}]

The progress deadline (issue #14) counts a step's running time, as the hold does (pauses and gates
do not count). Past it the controller records one ``stalled`` event with the analysis' reason and
the traffic it would need, raises ``cutover_migration_stalled``, and does what ``on_stall`` says:
``hold`` (default: keep waiting, an operator decides) or ``rollback``.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "ALL_ROUTES",
    "PLAN_KEYS",
    "STEP_KEYS",
    "Plan",
    "PlanError",
    "Step",
    "parse_count",
    "parse_duration",
    "parse_steps",
    "parse_weight",
    "plan_from_cli",
    "plans_from_config",
]

#: The route name a plan uses to mean "every route".
ALL_ROUTES = "*"
MAX_BPS = 10_000
DEFAULT_HOLD_S = 60.0
DEFAULT_MIN_REQUESTS = 500
DEFAULT_DEADLINE_S = 1800.0
#: What a step past its progress deadline does.
ON_STALL = ("hold", "rollback")
#: Upper bounds: a hold of ``1e308`` s or a count of ``10**30`` is a typo, not a plan, and would
#: only overflow the arithmetic and displays downstream.
MAX_DURATION_S = 30 * 86_400.0
MAX_COUNT = 1_000_000_000


class PlanError(ValueError):
    """A plan value could not be parsed; the message names the field and the bad value."""


@dataclass(frozen=True)
class Step:
    """One rung of the ramp: a candidate weight held for a time *and* a request count."""

    weight_bps: int
    hold_s: float = DEFAULT_HOLD_S
    min_requests: int = DEFAULT_MIN_REQUESTS
    gate: bool = False
    deadline_s: float = DEFAULT_DEADLINE_S

    @property
    def shadow_only(self) -> bool:
        """True for a 0 % step: the candidate sees shadow traffic only."""
        return self.weight_bps == 0

    def describe(self) -> str:
        """Human label, e.g. ``10%`` or ``shadow``."""
        return "shadow" if self.shadow_only else f"{self.weight_bps / 100:g}%"


@dataclass(frozen=True)
class Plan:
    """Steps for one route, in order; the last step is normally 100 %."""

    route: str
    steps: tuple[Step, ...]
    on_stall: str = "hold"

    def __post_init__(self) -> None:
        if not self.route:
            raise PlanError("route: must not be empty")
        if self.on_stall not in ON_STALL:
            raise PlanError(f"on_stall: must be hold or rollback, got {self.on_stall!r}")
        if not self.steps:
            raise PlanError("steps: a plan needs at least one step")

    def gated_after(self, index: int) -> bool:
        """Whether leaving step ``index`` waits for an operator: the next step has a gate."""
        return index + 1 < len(self.steps) and self.steps[index + 1].gate

    def for_route(self, route: str) -> Plan:
        """This plan bound to ``route`` (used to expand an all-routes plan)."""
        return replace(self, route=route)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (the store persists it; :func:`plans_from_config` reads it)."""
        return {
            "route": self.route,
            "steps": [
                {
                    "weight_bps": s.weight_bps,
                    "hold_s": s.hold_s,
                    "min_requests": s.min_requests,
                    "deadline_s": s.deadline_s,
                }
                | ({"gate": True} if s.gate else {})
                for s in self.steps
            ],
            "on_stall": self.on_stall,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Inverse of :meth:`to_dict`."""
        steps = tuple(
            Step(
                int(s["weight_bps"]),
                float(s["hold_s"]),
                int(s["min_requests"]),
                bool(s.get("gate")),
                float(s.get("deadline_s", DEFAULT_DEADLINE_S)),
            )
            for s in data["steps"]
        )
        return cls(str(data["route"]), steps, str(data.get("on_stall", "hold")))


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str | float, field: str = "hold") -> float:
    """``"90"``, ``"500ms"``, ``"60s"``, ``"5m"``, ``"1h30m"`` → seconds (0 .. 30 days).

    ``true`` is not a duration (``str(True)`` would not parse anyway; checked first for the
    message).
    """
    if isinstance(text, bool):
        raise PlanError(f"{field}: {text!r} is not a duration (use e.g. 90, 500ms, 60s, 5m, 1h30m)")
    raw = str(text).strip().lower()
    try:
        value = float(raw)
    except ValueError:
        pos, value = 0, 0.0
        for match in _DURATION_PART.finditer(raw):
            if match.start() != pos:
                break
            number, unit = float(match.group(1)), match.group(2)
            value += number * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
            pos = match.end()
        if pos != len(raw) or not raw:
            raise PlanError(
                f"{field}: {text!r} is not a duration (use e.g. 90, 500ms, 60s, 5m, 1h30m)"
            ) from None
    if not math.isfinite(value) or value < 0:
        raise PlanError(f"{field}: {text!r} must be a finite duration >= 0")
    if value > MAX_DURATION_S:
        raise PlanError(f"{field}: {text!r} is longer than {MAX_DURATION_S / 86_400:g} days")
    return value


def parse_count(text: str | int, field: str = "min_requests") -> int:
    """A whole number within 0..10**9 (``"500"``, ``"1_000"``); ``true`` and ``5.5`` are not."""
    if isinstance(text, bool):
        raise PlanError(f"{field}: {text!r} is not a whole number")
    try:
        value = int(str(text).strip())
    except ValueError:
        raise PlanError(f"{field}: {text!r} is not a whole number") from None
    if not 0 <= value <= MAX_COUNT:
        raise PlanError(f"{field}: {text!r} must be within 0..{MAX_COUNT}")
    return value


def parse_weight(text: str | float, field: str = "steps") -> int:
    """A candidate weight in percent (``"10"``, ``"0.5"``, ``"25%"``, ``"shadow"``) → basis
    points."""
    if isinstance(text, bool):
        raise PlanError(f"{field}: {text!r} is not a weight (a percent 0..100, or 'shadow')")
    raw = str(text).strip().lower().removesuffix("%")
    if raw == "shadow":
        return 0
    try:
        percent = float(raw)
    except ValueError:
        raise PlanError(
            f"{field}: {text!r} is not a weight (a percent 0..100, or 'shadow')"
        ) from None
    if not math.isfinite(percent) or not 0.0 <= percent <= 100.0:
        raise PlanError(f"{field}: {text!r} is outside 0..100 percent")
    bps = percent * 100
    if abs(bps - round(bps)) > 1e-6:
        raise PlanError(f"{field}: {text!r} is finer than 0.01 percent (one basis point)")
    return round(bps)


def parse_steps(text: str, field: str = "steps") -> tuple[int, ...]:
    """``"shadow,10,50,100"`` → basis points, strictly increasing."""
    parts = [p for p in (s.strip() for s in str(text).split(",")) if p]
    if not parts:
        raise PlanError(f"{field}: no steps given (e.g. 10,50,100)")
    weights = tuple(parse_weight(p, field) for p in parts)
    _check_increasing(weights, field)
    return weights


def _check_increasing(weights: Sequence[int], field: str) -> None:
    for before, after in itertools.pairwise(weights):
        if after <= before:
            raise PlanError(
                f"{field}: weights must increase step by step "
                f"({before / 100:g}% then {after / 100:g}%)"
            )


def plan_from_cli(
    route: str,
    steps: str,
    hold: str = "60s",
    min_requests: str = str(DEFAULT_MIN_REQUESTS),
    gates: str = "",
    deadline: str = "30m",
    on_stall: str = "hold",
) -> Plan:
    """Build a plan from the operator CLI's option strings (``gates``: weights that wait)."""
    weights = parse_steps(steps)
    hold_s = parse_duration(hold, "hold")
    deadline_s = _deadline(deadline, "deadline")
    count = parse_count(min_requests, "min_requests")
    gated = set(parse_steps(gates, "gates")) if gates.strip() else set()
    unknown = gated - set(weights)
    if unknown:
        listed = ", ".join(f"{w / 100:g}%" for w in sorted(unknown))
        raise PlanError(f"gates: {listed} is not one of the steps")
    steps_ = tuple(Step(w, hold_s, count, w in gated, deadline_s) for w in weights)
    return Plan(route, steps_, _on_stall(on_stall))


def _deadline(raw: str | float, field: str) -> float:
    value = parse_duration(raw, field)
    if value <= 0:
        raise PlanError(f"{field}: {raw!r} must be longer than 0 s")
    return value


def _on_stall(raw: object) -> str:
    if not isinstance(raw, str) or raw.strip().lower() not in ON_STALL:
        raise PlanError(f"on_stall: must be hold or rollback, got {raw!r}")
    return raw.strip().lower()


#: The keys of a ``migration.plan`` mapping, and of one of its ``steps`` written as a mapping
#: (deploy/gateway.example.yaml documents each; tests/deploy reads these to check it does).
PLAN_KEYS = frozenset({"route", "steps", "hold", "min_requests", "deadline", "on_stall"})
STEP_KEYS = frozenset({"weight", "hold", "min_requests", "gate", "deadline"})


def _step_from_config(item: Any, index: int, hold_s: float, count: int, deadline_s: float) -> Step:
    where = f"steps[{index}]"
    if isinstance(item, Mapping):
        unknown = set(item) - STEP_KEYS
        if unknown:
            raise PlanError(f"{where}: unknown field(s) {sorted(unknown)}")
        if "weight" not in item:
            raise PlanError(f"{where}.weight: required")
        gate = item.get("gate", False)
        if not isinstance(gate, bool):
            raise PlanError(f"{where}.gate: must be true or false, got {gate!r}")
        return Step(
            parse_weight(item["weight"], f"{where}.weight"),
            parse_duration(item["hold"], f"{where}.hold") if "hold" in item else hold_s,
            parse_count(item["min_requests"], f"{where}.min_requests")
            if "min_requests" in item
            else count,
            gate,
            _deadline(item["deadline"], f"{where}.deadline") if "deadline" in item else deadline_s,
        )
    if isinstance(item, bool):
        raise PlanError(f"{where}: {item!r} is not a weight")
    return Step(parse_weight(item, where), hold_s, count, deadline_s=deadline_s)


def plans_from_config(config: Mapping[str, Any], routes: Sequence[str] = ()) -> list[Plan]:
    """Parse one plan mapping; ``route: "*"`` expands to one plan per name in ``routes``."""
    if not isinstance(config, Mapping):
        raise PlanError(f"plan: expected a mapping, got {type(config).__name__}")
    unknown = set(config) - PLAN_KEYS
    if unknown:
        raise PlanError(f"plan: unknown field(s) {sorted(unknown)}")
    route = str(config.get("route", ALL_ROUTES))
    hold_s = parse_duration(config.get("hold", DEFAULT_HOLD_S), "hold")
    count = parse_count(config.get("min_requests", DEFAULT_MIN_REQUESTS), "min_requests")
    raw = config.get("steps")
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, Sequence) or not raw:
        raise PlanError("steps: a non-empty list of weights is required")
    deadline_s = _deadline(config.get("deadline", DEFAULT_DEADLINE_S), "deadline")
    steps = tuple(
        _step_from_config(item, i, hold_s, count, deadline_s) for i, item in enumerate(raw)
    )
    _check_increasing([s.weight_bps for s in steps], "steps")
    plan = Plan(route, steps, _on_stall(config.get("on_stall", "hold")))
    if route != ALL_ROUTES:
        return [plan]
    if not routes:
        raise PlanError("route: '*' needs the gateway's route names to expand")
    return [plan.for_route(name) for name in routes]
