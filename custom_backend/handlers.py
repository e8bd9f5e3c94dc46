"""The llmstruct endpoints: validate like FastAPI, call the engine in-process, return its dict.

Every engine call runs in a worker thread (``asyncio.to_thread``): scans and contexts take
milliseconds, writes fsync (``synchronous=FULL``), and even a one-row read takes the engine's
database lock, which a worker thread may hold for a whole scan transaction — inline on the loop it
would stall every connection. Repeated reads are answered from the exact caches
(``custom_backend.cache``) on the loop itself: a dict lookup and one ``PRAGMA data_version``, no
engine call, no thread hop. Validation order is FastAPI's: path parameters, then query parameters in
declaration order, all collected into one 422, then the body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from custom_backend import schemas
from custom_backend.body import MISSING, decode_body, required_body_missing
from custom_backend.cache import ResponseCache, TreeSignature, file_stamp, open_data_version
from custom_backend.responses import Response, detail, json_response, no_content
from custom_backend.validation import Issue, ModelSpec, RequestInvalid, check_choice
from engine.errors import NotFound

if TYPE_CHECKING:
    from custom_backend.request import Request
    from engine import Engine

T = TypeVar("T")

# Measured in-process, 16 concurrent uncached reads: get 55-100 µs inline vs 235-245 µs via a
# thread, list 0.8-1.25 ms vs 1.35-1.55 ms. Inline is faster but would stall the loop behind any
# write holding the engine's lock (an fsync, a scan's store); with hot reads served by the
# cache, the thread hop is kept.
INLINE_READS = False


def _body_model(
    request: Request, spec: ModelSpec, *, exclude_unset: bool = False
) -> dict[str, Any]:
    """Decode and validate a required JSON body against ``spec``."""
    value = decode_body(request.body_bytes, request.content_type)
    if value is MISSING:
        raise required_body_missing()
    return spec.validate(value, exclude_unset=exclude_unset)


class Handlers:
    """One coroutine per operation, bound to the engine they call.

    With ``cache`` on, the read endpoints answer from ``custom_backend.cache`` while what they
    depend on is unchanged (the database's data version, the file tree, ``pyproject.toml``); see
    that module for why this is exact. Errors of the engine are not cached, except a task's 404 (it
    depends on the database only).
    """

    def __init__(self, engine: Engine, *, cache: bool = True) -> None:
        self.engine = engine
        self._health = json_response(200, engine.health())
        self.cache_enabled = cache
        self._version = open_data_version(engine.database_path) if cache else None
        self._tree = TreeSignature(engine.root)
        self._pyproject = engine.root / "pyproject.toml"
        self._tasks = ResponseCache()
        self._status = ResponseCache(max_entries=1)
        self._info = ResponseCache(max_entries=1)
        self._contexts = ResponseCache(max_entries=256)

    def close(self) -> None:
        """Release the cache's private database connection."""
        if self._version is not None:
            self._version.close()

    def _data_version(self) -> int | None:
        return None if self._version is None else self._version.current()

    async def _threaded(self, call: Callable[[], T]) -> T:
        return await asyncio.to_thread(call)

    async def _read(self, call: Callable[[], T]) -> T:
        if INLINE_READS:
            return call()
        return await asyncio.to_thread(call)

    # -- system -----------------------------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        """``GET /api/v1/system/health`` (no auth): a constant body, encoded once."""
        return self._health

    async def status(self, request: Request) -> Response:
        """``GET /api/v1/system/status``: database state only."""
        token = self._data_version()
        if token is not None and (hit := self._status.get(token, "status")) is not None:
            return hit
        response = json_response(200, await self._threaded(self.engine.status))
        if token is not None:
            self._status.put(token, "status", response)
        return response

    # -- project ----------------------------------------------------------------------------------
    async def project_info(self, request: Request) -> Response:
        """``GET /api/v1/project/info``: reads every file, so in a thread (cached by stat)."""
        version = self._data_version()
        if version is None:  # cache off, or the database busy
            return json_response(200, await self._threaded(self.engine.project_info))
        token = (version, await self._threaded(self._tree.current))
        if (hit := self._info.get(token, "info")) is not None:
            return hit
        response = json_response(200, await self._threaded(self.engine.project_info))
        self._info.put(token, "info", response)
        return response

    async def scan(self, request: Request) -> Response:
        """``POST /api/v1/project/scan``."""
        data = _body_model(request, schemas.SCAN_REQUEST)
        engine = self.engine
        result = await self._threaded(
            lambda: engine.scan(
                paths=data["paths"],
                include_patterns=data["include_patterns"],
                exclude_patterns=data["exclude_patterns"],
            )
        )
        return json_response(200, result)

    async def context(self, request: Request) -> Response:
        """``GET /api/v1/project/context/{mode}``."""
        issues: list[Issue] = []
        mode = check_choice(schemas.CONTEXT_MODE, request.param, "path", issues)
        query = request.query_value("query")
        include_files = request.query.get("include_files", [])
        max_tokens = schemas.MAX_TOKENS.check(request.query_value("max_tokens"), issues)
        if issues:
            raise RequestInvalid(issues)
        assert mode is not None
        # include_files are checked against the live file system (symlinks):
        # those answers are not cached.
        version = self._data_version()
        token = (version, file_stamp(self._pyproject))
        key = (mode, query, max_tokens)
        cacheable = version is not None and not include_files
        if cacheable and (hit := self._contexts.get(token, key)) is not None:
            return hit
        engine = self.engine
        result = await self._threaded(
            lambda: engine.context(
                mode, query=query, include_files=include_files, max_tokens=max_tokens
            )
        )
        response = json_response(200, result)
        if cacheable:
            self._contexts.put(token, key, response)
        return response

    # -- tasks ------------------------------------------------------------------------------------
    async def create_task(self, request: Request) -> Response:
        """``POST /api/v1/tasks`` → 201."""
        data = _body_model(request, schemas.TASK_CREATE)
        engine = self.engine
        return json_response(201, await self._threaded(lambda: engine.create_task(data)))

    async def list_tasks(self, request: Request) -> Response:
        """``GET /api/v1/tasks`` with filters and paging."""
        issues: list[Issue] = []
        status = check_choice(schemas.STATUS_FILTER, request.query_value("status"), "query", issues)
        priority = check_choice(
            schemas.PRIORITY_FILTER, request.query_value("priority"), "query", issues
        )
        tag = request.query_value("tag")
        q = request.query_value("q")
        limit = schemas.LIMIT.check(request.query_value("limit"), issues)
        offset = schemas.OFFSET.check(request.query_value("offset"), issues)
        if issues:
            raise RequestInvalid(issues)
        token = self._data_version()
        key = ("list", status, priority, tag, q, limit, offset)
        if token is not None and (hit := self._tasks.get(token, key)) is not None:
            return hit
        engine = self.engine
        result = await self._read(
            lambda: engine.list_tasks(
                status=status, priority=priority, tag=tag, q=q, limit=limit, offset=offset
            )
        )
        response = json_response(200, result)
        if token is not None:
            self._tasks.put(token, key, response)
        return response

    async def get_task(self, request: Request) -> Response:
        """``GET /api/v1/tasks/{task_id}``."""
        task_id = request.param
        assert task_id is not None
        token = self._data_version()
        key = ("get", task_id)
        if token is not None and (hit := self._tasks.get(token, key)) is not None:
            return hit
        try:
            response = json_response(200, await self._read(lambda: self.engine.get_task(task_id)))
        except NotFound:
            response = detail(404, "Task not found")
        if token is not None:
            self._tasks.put(token, key, response)
        return response

    async def update_task(self, request: Request) -> Response:
        """``PATCH /api/v1/tasks/{task_id}``: only the fields present in the body change."""
        task_id = request.param
        assert task_id is not None
        changes = _body_model(request, schemas.TASK_UPDATE, exclude_unset=True)
        engine = self.engine
        return json_response(
            200, await self._threaded(lambda: engine.update_task(task_id, changes))
        )

    async def delete_task(self, request: Request) -> Response:
        """``DELETE /api/v1/tasks/{task_id}`` → 204."""
        task_id = request.param
        assert task_id is not None
        engine = self.engine
        await self._threaded(lambda: engine.delete_task(task_id))
        return no_content()
