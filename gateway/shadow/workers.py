"""A bounded work queue served by a fixed number of worker tasks; full means *drop*, never wait.

Shadow traffic must never slow the client down (issue 4 §2), so the request path only ever calls
:meth:`WorkQueue.offer`, which is ``put_nowait`` — O(1), no await, no back-pressure. When the queue
is full the item is refused and the caller counts the drop. Workers are started and cancelled
through the gateway's :class:`~gateway.tasks.TaskSet`, so they are named and referenced; a failing
item is logged and the worker goes on with the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import structlog

from gateway.tasks import TaskSet

log = structlog.get_logger("gateway.shadow")
T = TypeVar("T")


class WorkQueue(Generic[T]):
    """``capacity`` slots, ``workers`` consumers, ``handler`` per item."""

    def __init__(
        self,
        name: str,
        capacity: int,
        workers: int,
        handler: Callable[[T], Awaitable[object]],
        *,
        weigh: Callable[[T], int] | None = None,
        max_weight: int | None = None,
    ) -> None:
        if capacity < 1 or workers < 1:
            raise ValueError("capacity and workers must be >= 1")
        self.name = name
        self.capacity = capacity
        self._weigh = weigh
        self._max_weight = max_weight
        self.weight = 0
        self._workers = workers
        self._handler = handler
        self._queue: asyncio.Queue[T] = asyncio.Queue(maxsize=capacity)
        self._tasks = TaskSet(name)
        self._started = False

    @property
    def depth(self) -> int:
        """Items waiting for a worker."""
        return self._queue.qsize()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`close`."""
        return self._started

    def offer(self, item: T) -> bool:
        """Enqueue without waiting; False (the caller drops and counts) when the queue is full.

        Full means ``capacity`` items or, with ``weigh``, ``max_weight`` (bytes) held in total.
        """
        weight = 0
        if self._weigh is not None and self._max_weight is not None:
            weight = self._weigh(item)
            if self.weight + weight > self._max_weight:
                return False
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        self.weight += weight
        return True

    def start(self) -> None:
        """Start the workers on the running loop (idempotent)."""
        if self._started:
            return
        self._started = True
        for i in range(self._workers):
            self._tasks.spawn(self._work(), name=f"worker-{i}")

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            if self._weigh is not None and self._max_weight is not None:
                self.weight -= self._weigh(item)
            try:
                await self._handler(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one bad item must not stop the worker
                log.error("shadow_work_failed", queue=self.name, error=repr(exc))
            finally:
                self._queue.task_done()

    async def join(self) -> None:
        """Wait until every item offered so far has been handled (tests, benchmarks, shutdown)."""
        await self._queue.join()

    async def close(self) -> None:
        """Cancel the workers; items still queued are discarded."""
        await self._tasks.close()
        self._started = False
