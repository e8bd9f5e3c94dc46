"""The bounded work queue: never waits, drops when full by count or by bytes, survives failures."""

from __future__ import annotations

import asyncio

from gateway.shadow.workers import WorkQueue


async def test_full_queue_refuses_instead_of_waiting() -> None:
    """Past ``capacity`` items, ``offer`` returns False at once."""
    seen: list[int] = []

    async def handle(item: int) -> None:
        seen.append(item)

    queue: WorkQueue[int] = WorkQueue("t", capacity=2, workers=1, handler=handle)
    assert [queue.offer(i) for i in range(4)] == [True, True, False, False]
    queue.start()
    await queue.join()
    await queue.close()
    assert seen == [0, 1]


async def test_byte_budget_bounds_what_is_held() -> None:
    """With ``weigh``, an item that would exceed ``max_weight`` is refused; handling frees it."""
    gate = asyncio.Event()

    async def handle(item: bytes) -> None:
        await gate.wait()

    queue: WorkQueue[bytes] = WorkQueue(
        "t", capacity=100, workers=1, handler=handle, weigh=len, max_weight=10
    )
    assert queue.offer(b"x" * 6)
    assert not queue.offer(b"x" * 6)
    assert queue.offer(b"x" * 4)
    assert queue.weight == 10
    queue.start()
    gate.set()
    await queue.join()
    assert queue.weight == 0
    await queue.close()


async def test_a_failing_item_does_not_stop_the_worker() -> None:
    """An exception in the handler is logged; the next item is still handled."""
    seen: list[int] = []

    async def handle(item: int) -> None:
        if item == 0:
            raise RuntimeError("boom")
        seen.append(item)

    queue: WorkQueue[int] = WorkQueue("t", capacity=4, workers=1, handler=handle)
    queue.start()
    queue.offer(0)
    queue.offer(1)
    await queue.join()
    await queue.close()
    assert seen == [1]
