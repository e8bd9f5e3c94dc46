"""The ``Bridge`` seam between the legacy HTTP layer and the engine, and the errors it raises.

Routes only see :class:`Bridge` and :class:`BridgeError`; each error carries the HTTP status and the
``detail`` of API.md's error table. The implementations are :mod:`fastapi_backend.bridges.cli` (seed
000's CLI bridge, the default) and :mod:`fastapi_backend.bridges.inprocess`; which one a service
gets is :func:`fastapi_backend.bridges.factory.make_bridge`'s choice.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, Protocol

JsonDict = dict[str, Any]

TASK_NOT_FOUND = "Task not found"


class BridgeError(Exception):
    """An engine call failed; ``status_code`` and ``detail`` answer (API.md, "Errors")."""

    status_code = 502

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BridgeInvalidInput(BridgeError):
    """The engine refused the input (bad value, path outside the root): 400 with its message."""

    status_code = 400


class BridgeNotFound(BridgeError):
    """The task does not exist: 404 ``Task not found``."""

    status_code = 404

    def __init__(self, detail: str = TASK_NOT_FOUND) -> None:
        super().__init__(detail)


class BridgeFailure(BridgeError):
    """The engine (CLI) failed internally or printed something unreadable: 502 with its message."""

    status_code = 502


class BridgeTimeout(BridgeError):
    """The CLI did not answer within ``cli_timeout`` and was killed: 504."""

    status_code = 504

    def __init__(self, timeout: float) -> None:
        super().__init__(f"CLI call timed out after {timeout:g}s")
        self.timeout = timeout


class Bridge(Protocol):
    """API.md's engine facade, asynchronous; each method returns the JSON-ready dict."""

    async def status(self) -> JsonDict: ...

    async def project_info(self) -> JsonDict: ...

    async def scan(
        self, paths: list[str], include_patterns: list[str], exclude_patterns: list[str]
    ) -> JsonDict: ...

    def scan_events(
        self, paths: list[str], include_patterns: list[str], exclude_patterns: list[str]
    ) -> AsyncGenerator[JsonDict, None]:
        """Yield the WebSocket messages ``scan_started``, ``scan_progress``…, ``scan_completed``."""
        ...

    async def context(
        self, mode: str, query: str | None, include_files: list[str], max_tokens: int
    ) -> JsonDict: ...

    async def create_task(self, data: JsonDict) -> JsonDict: ...

    async def list_tasks(
        self,
        status: str | None,
        priority: str | None,
        tag: str | None,
        q: str | None,
        limit: int,
        offset: int,
    ) -> JsonDict: ...

    async def get_task(self, task_id: str) -> JsonDict: ...

    async def update_task(self, task_id: str, changes: JsonDict) -> JsonDict: ...

    async def delete_task(self, task_id: str) -> None: ...

    async def aclose(self) -> None: ...
