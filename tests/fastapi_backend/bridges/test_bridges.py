"""CLIBridge: exit-code mapping (pure), real ``python -m engine.cli`` runs, timeouts, caps."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.settings import LlmstructSettings
from fastapi_backend.bridges import (
    BridgeFailure,
    BridgeInvalidInput,
    BridgeNotFound,
    BridgeTimeout,
    CLIBridge,
    InProcessBridge,
    make_bridge,
)
from fastapi_backend.bridges.cli import interpret_exit, stdin_payload


def error_line(kind: str, message: str) -> bytes:
    return json.dumps({"error": {"type": kind, "message": message}}).encode() + b"\n"


def test_success_returns_the_document() -> None:
    """Exit 0 with a JSON object is that object."""
    assert interpret_exit(0, b'{"a": 1}\n', b"") == {"a": 1}


@pytest.mark.parametrize("stdout", [b"not json", b"[1, 2]", b""], ids=["text", "array", "empty"])
def test_unreadable_success_output_is_502(stdout: bytes) -> None:
    """Exit 0 without a JSON object on stdout is a 502 failure."""
    with pytest.raises(BridgeFailure):
        interpret_exit(0, stdout, b"")


@pytest.mark.parametrize("kind", ["invalid_input", "path_outside_root"])
def test_exit_2_bad_input_is_400_with_the_message(kind: str) -> None:
    """Exit 2 with a bad-input type is 400 carrying the CLI's message."""
    with pytest.raises(BridgeInvalidInput) as caught:
        interpret_exit(2, b"", error_line(kind, "Path is outside the project root: /x"))
    assert (caught.value.status_code, caught.value.detail) == (
        400,
        "Path is outside the project root: /x",
    )


def test_exit_3_is_404_task_not_found() -> None:
    """Exit 3 is 404 Task not found."""
    with pytest.raises(BridgeNotFound) as caught:
        interpret_exit(3, b"", error_line("not_found", "Task not found"))
    assert (caught.value.status_code, caught.value.detail) == (404, "Task not found")


def test_other_failures_are_502_with_the_cli_message() -> None:
    """Exit 1 (and exit 2 of another type) is 502 with the last JSON error line's message."""
    stderr = b"some warning\n" + error_line("internal", "database is locked")
    with pytest.raises(BridgeFailure) as caught:
        interpret_exit(1, b"", stderr)
    assert (caught.value.status_code, caught.value.detail) == (502, "database is locked")
    with pytest.raises(BridgeFailure):
        interpret_exit(2, b"", error_line("internal", "odd"))


def test_failure_without_json_uses_stderr_or_exit_code() -> None:
    """A crash without a JSON error reports its stderr text, or the exit code when silent."""
    with pytest.raises(BridgeFailure, match="Segmentation fault"):
        interpret_exit(139, b"", b"Segmentation fault\n")
    with pytest.raises(BridgeFailure, match="CLI exited with code 7"):
        interpret_exit(7, b"", b"")


def test_timeout_message_formats_seconds() -> None:
    """The 504 detail names the timeout without a trailing .0."""
    assert BridgeTimeout(30.0).detail == "CLI call timed out after 30s"
    assert BridgeTimeout(0.5).detail == "CLI call timed out after 0.5s"


def test_bridge_mode_selects_the_implementation(
    settings_factory: Callable[..., LlmstructSettings],
) -> None:
    """subprocess (the default) gives CLIBridge, inprocess gives InProcessBridge."""
    assert isinstance(make_bridge(settings_factory(bridge_mode="subprocess")), CLIBridge)
    assert isinstance(make_bridge(settings_factory(bridge_mode="inprocess")), InProcessBridge)


async def test_real_cli_round_trip(settings: LlmstructSettings) -> None:
    """The real CLI creates, gets, lists and deletes a task in the settings' database."""
    bridge = CLIBridge(settings)
    created = await bridge.create_task({"title": "via cli", "tags": ["x"]})
    assert (await bridge.get_task(created["id"]))["title"] == "via cli"
    listing = await bridge.list_tasks(None, None, "x", None, 50, 0)
    assert [item["id"] for item in listing["items"]] == [created["id"]]
    await bridge.delete_task(created["id"])
    with pytest.raises(BridgeNotFound):
        await bridge.get_task(created["id"])


async def test_real_cli_shares_the_store_with_the_engine(settings: LlmstructSettings) -> None:
    """A task written through the CLI is read through the in-process engine (one SQLite file)."""
    created = await CLIBridge(settings).create_task({"title": "shared"})
    in_process = InProcessBridge(settings)
    try:
        assert (await in_process.get_task(created["id"]))["title"] == "shared"
    finally:
        await in_process.aclose()


async def test_real_cli_path_outside_root_is_invalid_input(settings: LlmstructSettings) -> None:
    """A scan path escaping the root comes back as a 400 with the engine's message."""
    with pytest.raises(BridgeInvalidInput, match=re.escape("outside the project root: ../x")):
        await CLIBridge(settings).scan(["../x"], ["**/*.py"], [])


def test_stdin_payload_only_for_arguments_argv_cannot_carry() -> None:
    """Plain arguments stay in argv; a NUL anywhere sends the whole list as JSON on stdin."""
    assert stdin_payload(["scan", "--paths=a"]) is None
    assert json.loads(stdin_payload(["scan", "--paths=a\x00b"]) or b"") == [
        "scan",
        "--paths=a\x00b",
    ]


async def _nul_calls(bridge: CLIBridge) -> tuple[str, int, str]:
    """A scan of a NUL path (refused), a search for NUL (no match), a NUL task id (not found)."""
    with pytest.raises(BridgeInvalidInput) as refused:
        await bridge.scan(["\x00"], ["**/*.py"], [])
    listing = await bridge.list_tasks(None, None, "a\x00b", "\x00", 50, 0)
    with pytest.raises(BridgeNotFound) as missing:
        await bridge.get_task("id\x00")
    return refused.value.detail, listing["total"], missing.value.detail


async def test_real_cli_gets_nul_arguments_whole(settings: LlmstructSettings) -> None:
    """Values holding NUL reach the CLI intact (stdin): the engine's 400/200/404, never 500."""
    assert await _nul_calls(CLIBridge(settings)) == ("Invalid path: '\\x00'", 0, "Task not found")


async def test_real_cli_scan_stream_gets_nul_arguments_whole(settings: LlmstructSettings) -> None:
    """The WebSocket's streamed scan takes the same stdin path: a NUL path is the engine's 400."""
    with pytest.raises(BridgeInvalidInput, match=re.escape("Invalid path: 'a\\x00'")):
        async for _ in CLIBridge(settings).scan_events(["a\x00"], ["**/*.py"], []):
            pass


def test_real_cli_gets_nul_arguments_whole_under_uvloop(settings: LlmstructSettings) -> None:
    """Under uvloop (uvicorn's) a NUL argument was cut: ``--paths=`` scanned the root."""
    import uvloop

    result = uvloop.run(_nul_calls(CLIBridge(settings)))
    assert result == ("Invalid path: '\\x00'", 0, "Task not found")


async def test_real_cli_internal_failure_is_502(
    settings_factory: Callable[..., LlmstructSettings],
) -> None:
    """An unopenable database makes the CLI fail internally: 502 with its message."""
    bridge = CLIBridge(settings_factory(database="/proc/no-such-dir/llmstruct.db"))
    with pytest.raises(BridgeFailure, match="Cannot open the database"):
        await bridge.status()


def script(tmp_path: Path, name: str, body: str) -> list[str]:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    return ["/bin/sh", str(path)]


async def test_timeout_kills_the_process(
    settings_factory: Callable[..., LlmstructSettings], tmp_path: Path
) -> None:
    """A CLI slower than cli_timeout is killed and reaped, and the call raises a 504."""
    pid_file = tmp_path / "pid"
    command = script(tmp_path, "slow.sh", f'echo $$ > "{pid_file}"\nexec sleep 30\n')
    bridge = CLIBridge(settings_factory(cli_timeout=1.0), command=command)
    with pytest.raises(BridgeTimeout) as caught:
        await bridge.status()
    assert caught.value.detail == "CLI call timed out after 1s"
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text()), 0)


async def test_concurrency_is_capped(
    settings_factory: Callable[..., LlmstructSettings], tmp_path: Path
) -> None:
    """With max_concurrent=2, no more than two CLI processes run at once."""
    running = tmp_path / "running"
    running.mkdir()
    body = (
        f'touch "{running}/$$"\n'
        f'count=$(ls "{running}" | wc -l)\n'
        "sleep 0.2\n"
        f'rm "{running}/$$"\n'
        'echo "{\\"running\\": $count}"\n'
    )
    bridge = CLIBridge(
        settings_factory(max_concurrent=2), command=script(tmp_path, "count.sh", body)
    )
    results = await asyncio.gather(*(bridge.status() for _ in range(5)))
    assert max(result["running"] for result in results) <= 2
