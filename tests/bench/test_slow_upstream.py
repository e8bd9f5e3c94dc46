"""bench.slow_upstream: the shared JSON upstream with a lognormal delay, on loopback."""

from __future__ import annotations

import time

import httpx

from bench.slow_upstream import BODY
from tests.support.servers import free_port, python_argv, run_process


def _timed_get(url: str) -> tuple[bytes, float]:
    start = time.perf_counter()
    body = httpx.get(url, timeout=5.0).content
    return body, time.perf_counter() - start


def test_a_median_delays_every_answer_and_zero_answers_at_once() -> None:
    """A 200 ms median holds each answer on a timer (seeded); median 0 answers at once."""
    slow, fast = free_port(), free_port()
    with (
        run_process(
            python_argv("-m", "bench.slow_upstream", str(slow), "200"), f"http://127.0.0.1:{slow}/"
        ),
        run_process(
            python_argv("-m", "bench.slow_upstream", str(fast)), f"http://127.0.0.1:{fast}/"
        ),
    ):
        slow_answers = [_timed_get(f"http://127.0.0.1:{slow}/x") for _ in range(5)]
        fast_answers = [_timed_get(f"http://127.0.0.1:{fast}/x") for _ in range(5)]
    assert {body for body, _ in slow_answers + fast_answers} == {BODY}
    assert min(t for _, t in slow_answers) > 0.1
    assert sorted(t for _, t in fast_answers)[2] < min(t for _, t in slow_answers)
