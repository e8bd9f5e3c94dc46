"""The app over the real CLIBridge (the legacy default): success, 400, 404, 502, 504."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from contracts.validators import ContractValidator
from engine.settings import LlmstructSettings
from fastapi_backend.bridges import CLIBridge
from tests.fastapi_backend.conftest import AUTH, make_client


async def cli_client(
    settings: LlmstructSettings, contract: ContractValidator, command: list[str] | None = None
) -> httpx.AsyncClient:
    return await make_client(settings, CLIBridge(settings, command=command), contract)


async def test_scan_and_context_through_the_cli(
    settings_factory: Callable[..., LlmstructSettings], contract: ContractValidator
) -> None:
    """POST scan then GET context run the real CLI and answer the documented shapes."""
    settings = settings_factory(bridge_mode="subprocess")
    async with await cli_client(settings, contract) as client:
        scan = await client.post("/api/v1/project/scan", json={"paths": ["pkg"]}, headers=AUTH)
        context = await client.get("/api/v1/project/context/MINIMAL", headers=AUTH)
    assert scan.status_code == 200
    assert scan.json()["files_scanned"] == 2
    assert context.status_code == 200
    assert context.json()["context_data"]["scan"]["scan_id"] == scan.json()["scan_id"]


async def test_cli_errors_map_to_400_and_404(
    settings_factory: Callable[..., LlmstructSettings], contract: ContractValidator
) -> None:
    """Exit 2 (path outside root) is 400 and exit 3 (unknown task) is 404, with API.md's bodies."""
    settings = settings_factory(bridge_mode="subprocess")
    async with await cli_client(settings, contract) as client:
        outside = await client.post("/api/v1/project/scan", json={"paths": ["/etc"]}, headers=AUTH)
        missing = await client.delete("/api/v1/tasks/" + "a" * 32, headers=AUTH)
    assert (outside.status_code, outside.json()) == (
        400,
        {"detail": "Path is outside the project root: /etc"},
    )
    assert (missing.status_code, missing.json()) == (404, {"detail": "Task not found"})


async def test_cli_failure_is_502_with_its_message(
    settings_factory: Callable[..., LlmstructSettings], contract: ContractValidator
) -> None:
    """A CLI that fails internally gives 502 with the CLI's error message as detail."""
    settings = settings_factory(bridge_mode="subprocess", database="/proc/no-such-dir/x.db")
    async with await cli_client(settings, contract) as client:
        response = await client.get("/api/v1/system/status", headers=AUTH)
    assert response.status_code == 502
    assert response.json()["detail"].startswith("Cannot open the database /proc/no-such-dir/x.db")


async def test_cli_timeout_is_504(
    settings_factory: Callable[..., LlmstructSettings],
    contract: ContractValidator,
    tmp_path: Path,
) -> None:
    """A CLI that outlives cli_timeout gives 504 CLI call timed out after Ns."""
    slow = tmp_path / "slow.sh"
    slow.write_text("exec sleep 30\n")
    settings = settings_factory(bridge_mode="subprocess", cli_timeout=0.5)
    async with await cli_client(settings, contract, ["/bin/sh", str(slow)]) as client:
        response = await client.get("/api/v1/tasks", headers=AUTH)
    assert (response.status_code, response.json()) == (
        504,
        {"detail": "CLI call timed out after 0.5s"},
    )
