"""``InProcessBridge``: the ``Bridge`` interface over ``engine.Engine`` in worker threads.

Not the legacy path (that is ``CLIBridge`` (:mod:`fastapi_backend.bridges.cli`)): it exists so
benchmarks can compare the two HTTP layers without the cost of one CLI process per request
(``LLMSTRUCT_BRIDGE_MODE=inprocess``). The engine is synchronous and thread-safe (API.md), so
each call runs through ``asyncio.to_thread``; engine errors map to the same ``BridgeError``
statuses the CLI exit codes map to.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi_backend.bridges.protocol import (
    BridgeFailure,
    BridgeInvalidInput,
    BridgeNotFound,
    JsonDict,
)

if TYPE_CHECKING:
    from engine import Engine
    from engine.settings import LlmstructSettings

T = TypeVar("T")


class InProcessBridge:
    """Calls ``engine.Engine`` directly, created on first use: construction does no I/O."""

    def __init__(self, settings: LlmstructSettings, engine: Engine | None = None) -> None:
        self._settings = settings
        self._engine = engine
        self._lock = threading.Lock()

    def _get_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                from engine import Engine

                self._engine = Engine(self._settings)
            return self._engine

    async def _call(self, method: Callable[[Engine], T]) -> T:
        from engine import EngineError, InvalidInput, NotFound

        def run() -> T:
            return method(self._get_engine())

        try:
            return await asyncio.to_thread(run)
        except InvalidInput as exc:
            raise BridgeInvalidInput(exc.message) from exc
        except NotFound as exc:
            raise BridgeNotFound() from exc
        except EngineError as exc:
            raise BridgeFailure(exc.message) from exc

    async def status(self) -> JsonDict:
        return await self._call(lambda engine: engine.status())

    async def project_info(self) -> JsonDict:
        return await self._call(lambda engine: engine.project_info())

    async def scan(
        self, paths: list[str], include_patterns: list[str], exclude_patterns: list[str]
    ) -> JsonDict:
        return await self._call(
            lambda engine: engine.scan(
                paths=paths, include_patterns=include_patterns, exclude_patterns=exclude_patterns
            )
        )

    async def scan_events(
        self, paths: list[str], include_patterns: list[str], exclude_patterns: list[str]
    ) -> AsyncGenerator[JsonDict, None]:
        """Relay ``on_progress`` events from the scan thread, then ``scan_completed``.

        Events cross threads through ``call_soon_threadsafe``, which keeps their order; the task's
        own completion is queued after the last of them, so the final ``None`` marker always comes
        last.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[JsonDict | None] = asyncio.Queue()

        def on_progress(event: dict[str, Any]) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        scan = asyncio.create_task(
            self._call(
                lambda engine: engine.scan(
                    paths=paths,
                    include_patterns=include_patterns,
                    exclude_patterns=exclude_patterns,
                    on_progress=on_progress,
                )
            ),
            name="llmstruct-inprocess-scan",
        )
        scan.add_done_callback(lambda _: queue.put_nowait(None))
        try:
            while (event := await queue.get()) is not None:
                yield event
            yield {"type": "scan_completed", "data": await scan}
        finally:
            # A consumer that stops early cannot stop the scanning thread; collect its outcome so an
            # error is not reported as "never retrieved".
            if not scan.done():
                scan.add_done_callback(_discard_outcome)

    async def context(
        self, mode: str, query: str | None, include_files: list[str], max_tokens: int
    ) -> JsonDict:
        return await self._call(
            lambda engine: engine.context(
                mode, query=query, include_files=include_files, max_tokens=max_tokens
            )
        )

    async def create_task(self, data: JsonDict) -> JsonDict:
        return await self._call(lambda engine: engine.create_task(data))

    async def list_tasks(
        self,
        status: str | None,
        priority: str | None,
        tag: str | None,
        q: str | None,
        limit: int,
        offset: int,
    ) -> JsonDict:
        return await self._call(
            lambda engine: engine.list_tasks(
                status=status, priority=priority, tag=tag, q=q, limit=limit, offset=offset
            )
        )

    async def get_task(self, task_id: str) -> JsonDict:
        return await self._call(lambda engine: engine.get_task(task_id))

    async def update_task(self, task_id: str, changes: JsonDict) -> JsonDict:
        return await self._call(lambda engine: engine.update_task(task_id, changes))

    async def delete_task(self, task_id: str) -> None:
        await self._call(lambda engine: engine.delete_task(task_id))

    async def aclose(self) -> None:
        """Close the engine (its database connections) if it was ever created."""
        engine, self._engine = self._engine, None
        if engine is not None:
            await asyncio.to_thread(engine.close)


def _discard_outcome(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
