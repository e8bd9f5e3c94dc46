"""The body copy the taps get: whole below the limit, nothing once over it."""

from __future__ import annotations

from gateway.observer import BodyCopy


def test_body_copy_keeps_chunks_up_to_the_limit() -> None:
    """Chunks that fit are joined; the exact limit still fits."""
    copy = BodyCopy(6)
    copy.add(b"abc")
    copy.add(b"def")
    assert copy.body() == b"abcdef"


def test_body_copy_gives_up_past_the_limit() -> None:
    """One byte over drops the copy for good (bounded memory); later chunks change nothing."""
    copy = BodyCopy(5)
    copy.add(b"abc")
    copy.add(b"def")
    copy.add(b"g")
    assert copy.body() is None
    assert copy.parts is None
