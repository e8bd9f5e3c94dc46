"""Slow-client timeout decisions (issue #12), as pure functions of times, counts and limits.

The connection (:meth:`gateway.http.HttpConnection.check_timeouts`) keeps the marks and times that
one listener sweep per ``tick`` updates; what they mean is decided here, without sockets or a
clock, so the rules are tested with tables of plain values:

* Which timer applies (:func:`phase`): the head timeout while a head is being read (from the accept
  for a connection's first request, from the first byte for later ones), the body's timers while a
  handler reads a body, the keep-alive idle timeout between requests — never two at once.
* The head, the body's idle gap and the keep-alive idle end once ``timeout`` has passed since their
  mark (:func:`expired`). Timeouts hold to within one tick (:func:`tick_s`).
* The body's minimum rate is Apache mod_reqtimeout's ``MinRate`` (:func:`too_slow`): closed once
  reading time exceeds ``grace + bytes / min_rate``. Reading time counts only the ticks in which the
  gateway itself did not pause reading, so back-pressure from a slow upstream is never blamed on
  the client.
"""

from __future__ import annotations

HEAD = "head"
BODY = "body"
IDLE = "idle"


def tick_s(header_timeout_s: float, body_idle_timeout_s: float) -> float:
    """Sweep period: a quarter of the shortest timeout, at most a second."""
    return min(1.0, header_timeout_s / 4, body_idle_timeout_s / 4)


def phase(in_head: bool, stopped: bool, reading_body: bool, busy: bool) -> str | None:
    """The timer that applies to a connection now (:data:`HEAD`,
    :data:`BODY`, :data:`IDLE`), if any.

    ``stopped``: the connection parses no more input (a close request or a refusal is being
    answered), so its next head is never awaited. ``busy``: a request is being handled — a slow
    upstream is not the client's idleness.
    """
    if in_head and not stopped:
        return HEAD
    if reading_body:
        return BODY
    if not busy and not in_head:
        return IDLE
    return None


def expired(now: float, since: float, timeout_s: float) -> bool:
    """True once ``timeout_s`` has passed since the mark ``since``."""
    return now - since >= timeout_s


def too_slow(active_s: float, received: int, min_rate_bytes_s: float, grace_s: float) -> bool:
    """mod_reqtimeout's ``MinRate``: more reading time than ``grace + received / rate`` (0: off)."""
    return min_rate_bytes_s > 0 and active_s > grace_s + received / min_rate_bytes_s
