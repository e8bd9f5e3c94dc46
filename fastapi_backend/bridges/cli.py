"""``CLIBridge``: seed 000's "CLI Bridge", the legacy stack's way to the engine.

The FastAPI layer shells out to the llmstruct CLI: ``CLIBridge`` runs ``python -m engine.cli
...`` as an asyncio subprocess per call, with a timeout (the process is killed) and a concurrency
cap; it is the default bridge. Exit codes and stderr map to
:mod:`fastapi_backend.bridges.protocol`'s errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli import ARGS_FROM_STDIN
from fastapi_backend import cli_args
from fastapi_backend.bridges.protocol import (
    BridgeError,
    BridgeFailure,
    BridgeInvalidInput,
    BridgeNotFound,
    BridgeTimeout,
    JsonDict,
)

if TYPE_CHECKING:
    from engine.settings import LlmstructSettings

# The repository that holds the ``engine`` package: the CLI's working directory, so ``-m
# engine.cli`` always means this engine even when the served project root has a package of the same
# name.
_REPOSITORY = Path(__file__).resolve().parents[2]
_SNIPPET = 200
# asyncio's default 64 KiB line limit is too small for a scan_completed line
# of a large, broken project.
_LINE_LIMIT = 16 * 1024 * 1024


def interpret_exit(returncode: int, stdout: bytes, stderr: bytes) -> JsonDict:
    """One finished CLI call as its JSON document or the ``BridgeError`` API.md maps it to."""
    if returncode != 0:
        raise cli_error(returncode, stderr)
    return parse_document(stdout)


def parse_document(data: bytes) -> JsonDict:
    """Parse one JSON object printed by the CLI; anything else is a 502."""
    try:
        document = json.loads(data)
    except ValueError:
        raise BridgeFailure(f"CLI printed invalid JSON: {_snippet(data)}") from None
    if not isinstance(document, dict):
        raise BridgeFailure(f"CLI printed {type(document).__name__}, expected a JSON object")
    return document


def cli_error(returncode: int, stderr: bytes) -> BridgeError:
    """A non-zero exit: 2 with a bad-input type → 400, 3 → 404, else 502 (API.md, CLI)."""
    kind, message = _error_fields(stderr)
    if message is None:
        message = _snippet(stderr) or f"CLI exited with code {returncode}"
    if returncode == 2 and kind in {"invalid_input", "path_outside_root"}:
        return BridgeInvalidInput(message)
    if returncode == 3:
        return BridgeNotFound()
    return BridgeFailure(message)


def _error_fields(stderr: bytes) -> tuple[str | None, str | None]:
    """``(type, message)`` of the last ``{"error": {...}}`` line on stderr, if there is one."""
    for line in reversed(stderr.splitlines()):
        with contextlib.suppress(ValueError):
            document = json.loads(line)
            error = document.get("error") if isinstance(document, dict) else None
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                kind = error.get("type")
                return (kind if isinstance(kind, str) else None), error["message"]
    return None, None


def _snippet(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace").strip()
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def stdin_payload(args: Sequence[str]) -> bytes | None:
    """``None`` if argv can carry ``args``; else the JSON ``llmstruct --args-from-stdin`` reads.

    An argv entry is a NUL-terminated C string: ``exec`` refuses one holding ``"\x00"`` under
    asyncio (``ValueError: embedded null byte``, a plain 500) and uvloop, which uvicorn runs, cut it
    at the NUL (``--paths=\x00`` became ``--paths=``: a scan of the whole root). JSON strings and
    query values may hold NUL, and a JSON string a lone surrogate, which argv cannot encode either.
    """
    if all(_argv_safe(arg) for arg in args):
        return None
    return json.dumps(list(args)).encode()


def _argv_safe(arg: str) -> bool:
    """No NUL, and encodable for the OS (a lone surrogate past surrogateescape's is not)."""
    if "\x00" in arg:
        return False
    try:
        os.fsencode(arg)
    except UnicodeEncodeError:
        return False
    return True


async def _reap(process: asyncio.subprocess.Process) -> None:
    """Kill ``process`` if it still runs and wait for it, so no CLI outlives its request."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


class CLIBridge:
    """The legacy path: one ``llmstruct`` CLI subprocess per call (seed 000, "CLI Bridge").

    ``command`` replaces ``python -m engine.cli`` (tests point it at a script that misbehaves). The
    subprocess gets the settings' project root and database through the environment, so it serves
    the same project as the app even when the settings were built in code.
    """

    def __init__(self, settings: LlmstructSettings, command: Sequence[str] | None = None) -> None:
        self._command = tuple(command) if command else (sys.executable, "-m", "engine.cli")
        self._timeout = settings.cli_timeout
        self._semaphore = asyncio.Semaphore(settings.max_concurrent)
        self._env = {
            **os.environ,
            "LLMSTRUCT_PROJECT_ROOT": str(settings.project_root),
            "LLMSTRUCT_DATABASE": str(settings.database_path),
        }

    async def _spawn(self, args: Sequence[str]) -> asyncio.subprocess.Process:
        """Start the CLI; arguments argv cannot carry (NUL) go as JSON on stdin (``engine.cli``)."""
        stdin_args = stdin_payload(args)
        process = await asyncio.create_subprocess_exec(
            *self._command,
            *(args if stdin_args is None else [ARGS_FROM_STDIN]),
            stdin=asyncio.subprocess.DEVNULL if stdin_args is None else asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=_REPOSITORY,
            env=self._env,
            limit=_LINE_LIMIT,
        )
        if stdin_args is not None:
            assert process.stdin is not None
            process.stdin.write(stdin_args)
            process.stdin.close()
        return process

    async def run(self, args: Sequence[str]) -> JsonDict:
        """Run one CLI command and return its JSON document.

        The semaphore caps concurrent processes; the timeout starts once the call holds a slot, so
        it measures the CLI, not the queue in front of it.
        """
        async with self._semaphore:
            process = await self._spawn(args)
            try:
                stdout, stderr = await asyncio.wait_for(process.communicate(), self._timeout)
            except TimeoutError:
                raise BridgeTimeout(self._timeout) from None
            finally:
                await _reap(process)
        assert process.returncode is not None
        return interpret_exit(process.returncode, stdout, stderr)

    async def status(self) -> JsonDict:
        return await self.run(["status"])

    async def project_info(self) -> JsonDict:
        return await self.run(["info"])

    async def scan(
        self, paths: list[str], include_patterns: list[str], exclude_patterns: list[str]
    ) -> JsonDict:
        return await self.run(cli_args.scan(paths, include_patterns, exclude_patterns))

    async def scan_events(
        self, paths: list[str], include_patterns: list[str], exclude_patterns: list[str]
    ) -> AsyncGenerator[JsonDict, None]:
        """Stream ``scan --progress`` JSON lines as they come; the timeout covers the whole scan."""
        args = cli_args.scan(paths, include_patterns, exclude_patterns, progress=True)
        loop = asyncio.get_running_loop()
        async with self._semaphore:
            deadline = loop.time() + self._timeout
            process = await self._spawn(args)
            assert process.stdout is not None
            assert process.stderr is not None
            try:
                while True:
                    try:
                        line = await asyncio.wait_for(
                            process.stdout.readline(), max(deadline - loop.time(), 0)
                        )
                    except TimeoutError:
                        raise BridgeTimeout(self._timeout) from None
                    except ValueError:  # a line longer than _LINE_LIMIT
                        raise BridgeFailure(
                            "CLI printed a progress line too long to read"
                        ) from None
                    if not line:
                        break
                    if line.strip():
                        yield parse_document(line)
                try:
                    stderr = await asyncio.wait_for(
                        process.stderr.read(), max(deadline - loop.time(), 0)
                    )
                    returncode = await asyncio.wait_for(
                        process.wait(), max(deadline - loop.time(), 0)
                    )
                except TimeoutError:
                    raise BridgeTimeout(self._timeout) from None
            finally:
                await _reap(process)
        if returncode != 0:
            raise cli_error(returncode, stderr)

    async def context(
        self, mode: str, query: str | None, include_files: list[str], max_tokens: int
    ) -> JsonDict:
        return await self.run(cli_args.context(mode, query, include_files, max_tokens))

    async def create_task(self, data: JsonDict) -> JsonDict:
        return await self.run(["tasks", "create", "--json", json.dumps(data)])

    async def list_tasks(
        self,
        status: str | None,
        priority: str | None,
        tag: str | None,
        q: str | None,
        limit: int,
        offset: int,
    ) -> JsonDict:
        return await self.run(cli_args.list_tasks(status, priority, tag, q, limit, offset))

    async def get_task(self, task_id: str) -> JsonDict:
        return await self.run(["tasks", "get", "--", task_id])

    async def update_task(self, task_id: str, changes: JsonDict) -> JsonDict:
        return await self.run(["tasks", "update", "--json", json.dumps(changes), "--", task_id])

    async def delete_task(self, task_id: str) -> None:
        await self.run(["tasks", "delete", "--", task_id])

    async def aclose(self) -> None:
        """Nothing to release: every call reaps its own process."""
