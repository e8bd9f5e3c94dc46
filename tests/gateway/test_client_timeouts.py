"""The slow-client timeout rules as tables of plain values (no sockets, no clock)."""

from __future__ import annotations

import pytest

from gateway.client_timeouts import BODY, HEAD, IDLE, expired, phase, tick_s, too_slow


@pytest.mark.parametrize(
    ("in_head", "stopped", "reading_body", "busy", "expected"),
    [
        (True, False, False, False, HEAD),
        (True, False, True, True, HEAD),
        (True, True, True, True, BODY),
        (True, True, False, False, None),
        (False, False, True, True, BODY),
        (False, False, False, False, IDLE),
        (False, False, False, True, None),
        (False, True, False, False, IDLE),
    ],
)
def test_phase_picks_one_timer(
    in_head: bool, stopped: bool, reading_body: bool, busy: bool, expected: str | None
) -> None:
    """Head beats body beats keep-alive idle; a busy connection or a stopped head is not timed."""
    assert phase(in_head, stopped, reading_body, busy) == expected


@pytest.mark.parametrize(
    ("now", "since", "timeout", "expected"),
    [
        (10.0, 0.0, 10.0, True),
        (9.99, 0.0, 10.0, False),
        (25.0, 10.0, 10.0, True),
        (5.0, 5.0, 0.0, True),
    ],
)
def test_expired_at_the_timeout_itself(
    now: float, since: float, timeout: float, expected: bool
) -> None:
    """A mark expires once the whole timeout has passed, the boundary included."""
    assert expired(now, since, timeout) is expected


@pytest.mark.parametrize(
    ("active", "received", "rate", "grace", "expected"),
    [
        (10.0, 0, 500.0, 10.0, False),
        (10.5, 0, 500.0, 10.0, True),
        (12.0, 1000, 500.0, 10.0, False),
        (12.5, 1000, 500.0, 10.0, True),
        (1e6, 0, 0.0, 10.0, False),
    ],
)
def test_too_slow_is_mod_reqtimeout_minrate(
    active: float, received: int, rate: float, grace: float, expected: bool
) -> None:
    """Closed once reading time exceeds grace + bytes / rate; a zero rate turns the check off."""
    assert too_slow(active, received, rate, grace) is expected


@pytest.mark.parametrize(
    ("head", "body", "expected"), [(10.0, 10.0, 1.0), (2.0, 10.0, 0.5), (10.0, 1.0, 0.25)]
)
def test_tick_is_a_quarter_of_the_shortest_timeout_at_most_a_second(
    head: float, body: float, expected: float
) -> None:
    """The sweep period bounds how late a timeout can fire."""
    assert tick_s(head, body) == expected
