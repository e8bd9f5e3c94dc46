"""UTC timestamps in exactly the form pydantic v2 gives an aware UTC datetime.

Both backends must emit byte-identical datetimes, so the engine formats them once, here:
``2026-11-25T12:00:00.123456Z``, fraction omitted when the microseconds are 0.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock: the current aware UTC time."""
    return datetime.now(UTC)


def format_utc(moment: datetime) -> str:
    """Format an aware datetime as pydantic v2 would after converting it to UTC."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the engine only stores aware UTC times")
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch: the sortable form kept in SQLite."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    """The inverse of :func:`to_micros`."""
    seconds, micro = divmod(micros, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micro)
