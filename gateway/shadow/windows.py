"""Time-bucketed counters: "how many X in the last W seconds" with fixed memory.

The rollout analysis asks for the mismatch and contract-violation rates of one route over a recent
window (issue 4 §7). Each route keeps a ring of ``horizon / bucket`` slots; a slot holds the counts
of one bucket-wide time span and is reset when the ring wraps onto it. Reads sum the slots whose
span lies inside the window, so a window is accurate to one bucket width. The clock is injected.
"""

from __future__ import annotations

import math
from collections.abc import Callable

Clock = Callable[[], float]


class CounterRing:
    """Named counters bucketed by time in a fixed-size ring."""

    __slots__ = ("_bucket_s", "_clock", "_epochs", "_size", "_slots")

    def __init__(self, bucket_s: float, horizon_s: float, clock: Clock) -> None:
        self._bucket_s = bucket_s
        self._size = max(1, math.ceil(horizon_s / bucket_s))
        self._clock = clock
        self._epochs: list[int] = [-1] * self._size
        self._slots: list[dict[str, int]] = [{} for _ in range(self._size)]

    @property
    def horizon_s(self) -> float:
        """The longest window this ring can answer."""
        return self._size * self._bucket_s

    def add(self, name: str, amount: int = 1) -> None:
        """Count ``amount`` of ``name`` now."""
        epoch = int(self._clock() // self._bucket_s)
        index = epoch % self._size
        if self._epochs[index] != epoch:
            self._epochs[index] = epoch
            self._slots[index] = {}
        slot = self._slots[index]
        slot[name] = slot.get(name, 0) + amount

    def total(self, name: str, window_s: float) -> int:
        """Sum of ``name`` over the last ``window_s`` seconds (clamped to the horizon)."""
        return self.totals((name,), window_s)[name]

    def totals(self, names: tuple[str, ...], window_s: float) -> dict[str, int]:
        """Sums of several counters over the same window, in one pass."""
        now_epoch = int(self._clock() // self._bucket_s)
        count = min(self._size, max(1, math.ceil(window_s / self._bucket_s)))
        oldest = now_epoch - count + 1
        sums = dict.fromkeys(names, 0)
        for epoch, slot in zip(self._epochs, self._slots, strict=True):
            if oldest <= epoch <= now_epoch:
                for name in names:
                    sums[name] += slot.get(name, 0)
        return sums
