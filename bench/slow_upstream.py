"""A tiny upstream with a latency of its own: :mod:`bench.json_upstream` with a lognormal delay.

``python -m bench.slow_upstream PORT [MEDIAN_MS]`` serves ``{"id": "bench", ...}`` on
127.0.0.1:PORT with keep-alive. With a median of 0 it answers at once (the throughput runs, where
the gateway must be the bottleneck); otherwise each answer waits a lognormal time of that median
and shape, drawn from a seeded generator, so the gateway sees a baseline p95 of some milliseconds
that a fault delay of the same size doubles. A fixed sleep would give a p95 equal to its median,
and an analysis compares distributions, not constants: a spread is what a real backend has.
"""

from __future__ import annotations

import math
import random
import sys
from functools import partial

from bench.json_upstream import serve_json

BODY = b'{"id":"bench","status":"ok","items":[1,2,3]}'


def serve(port: int, median_ms: float = 0.0, sigma: float = 0.3, seed: int = 7) -> None:
    """Serve until killed; ``median_ms`` 0 answers at once."""
    if median_ms <= 0:
        serve_json(port, BODY)
        return
    rng = random.Random(seed)
    serve_json(port, BODY, delay=partial(rng.lognormvariate, math.log(median_ms / 1000), sigma))


if __name__ == "__main__":
    args = sys.argv[1:]
    serve(int(args[0]), float(args[1]) if len(args) > 1 else 0.0)
