"""Whether a completed request is shadowed, and to which backend — a pure decision.

No I/O and no hidden randomness: the caller passes ``draw`` (a callable returning a float in
[0, 1), e.g. ``random.Random(seed).random``), so tests pin every branch with plain values.

Rules (issue 4 §1):

- only methods the route lists are shadowed; the default list is the safe methods (RFC 9110 §9.2.1),
  so POST/PUT/PATCH/DELETE are shadowed only when a route names them explicitly;
- a request whose body cannot be replayed, or is larger than the route's cap, is not shadowed;
- the sample is ``percent`` of requests, drawn at random or, with ``sticky_header``, by a stable
  hash of that header's value (the same client is always in or always out);
- the target is the *other* backend of the one that served — so during a 0 % dark-launch step every
  sampled request also reaches the candidate — except for ``same_backend_percent`` of shadows, which
  go back to the backend that served: those measure noise (Diffy's method, see ``noise.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.shadow.config import RouteShadowConfig

Draw = Callable[[], float]
#: Sticky sampling resolution: 10 000 buckets = 0.01 % steps.
BUCKETS = 10_000


@dataclass(frozen=True, slots=True)
class BackendPair:
    """The two backend names the gateway uses; ``other`` maps one to the other."""

    baseline: str = "baseline"
    candidate: str = "candidate"

    def other(self, served: str) -> str:
        """The backend that did not serve (an unknown name shadows to the candidate)."""
        return self.baseline if served == self.candidate else self.candidate


@dataclass(frozen=True, slots=True)
class ShadowDecision:
    """Send a shadow of this request to ``target``; ``same_backend`` marks a noise probe."""

    target: str
    same_backend: bool


def sticky_bucket(route: str, key: str) -> int:
    """Stable bucket in [0, BUCKETS) for a client key, salted by route.

    The salt keeps shadow sampling independent of the gateway's own sticky backend choice: without
    it, a 10 % shadow could pick exactly the clients a 10 % weight sends to the candidate.
    """
    digest = hashlib.blake2b(f"shadow\0{route}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def body_replayable(config: RouteShadowConfig, body: bytes | None, has_body: bool) -> bool:
    """A request body can be replayed when it was kept (``body`` is not None) and is under the cap.

    ``has_body`` says whether the request had a body at all; a bodiless request always replays.
    """
    if not has_body:
        return True
    return body is not None and len(body) <= config.max_body_bytes


def sampled(config: RouteShadowConfig, route: str, sticky_key: str | None, draw: Draw) -> bool:
    """Whether this request falls in the route's sample.

    With ``sticky_header`` configured and its value given as ``sticky_key``, by hash; otherwise
    (no sticky header configured, or the request lacks it) by a random draw.
    """
    if config.percent <= 0.0:
        return False
    if config.percent >= 100.0:
        return True
    if config.sticky_header is not None and sticky_key:
        return sticky_bucket(route, sticky_key) < config.percent * (BUCKETS / 100.0)
    return draw() * 100.0 < config.percent


def wants_bodies(
    routes: Mapping[str, RouteShadowConfig], check_all: bool, route: str, method: str
) -> bool:
    """Whether the gateway should buffer this exchange's bodies: a contract check of every
    response (``check_all``) or a shadow may follow."""
    if check_all:
        return True
    config = routes.get(route)
    return config is not None and config.percent > 0 and method.upper() in config.methods


def decide(
    config: RouteShadowConfig,
    route: str,
    served: str,
    method: str,
    sticky_key: str | None,
    replayable: bool,
    draw: Draw,
    backends: BackendPair = BackendPair(),
) -> ShadowDecision | None:
    """Return where to shadow this request, or ``None`` when it is not shadowed.

    ``sticky_key`` is the value of the route's ``sticky_header`` (None when absent or not
    configured); ``replayable`` comes from :func:`body_replayable`.
    """
    if method.upper() not in config.methods or not replayable:
        return None
    if not sampled(config, route, sticky_key, draw):
        return None
    if config.same_backend_percent > 0.0 and draw() * 100.0 < config.same_backend_percent:
        return ShadowDecision(target=served, same_backend=True)
    return ShadowDecision(target=backends.other(served), same_backend=False)
