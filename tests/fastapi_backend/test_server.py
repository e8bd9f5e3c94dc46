"""``python -m fastapi_backend`` as a real uvicorn server on loopback (default: CLI bridge)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.fastapi_backend.conftest import API_KEY, AUTH
from tests.support.servers import free_port, python_argv, run_process

pytestmark = pytest.mark.integration


def server_env(project: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "LLMSTRUCT_PROJECT_ROOT": str(project),
        "LLMSTRUCT_DATABASE": str(tmp_path / "server.db"),
        "LLMSTRUCT_API_KEY": API_KEY,
        "LLMSTRUCT_BRIDGE_MODE": "subprocess",
    }


def test_module_serves_the_api_over_the_cli(project: Path, tmp_path: Path) -> None:
    """The server answers health, status and task CRUD through CLI subprocesses, and /metrics."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    argv = python_argv("-m", "fastapi_backend", "--host", "127.0.0.1", "--port", str(port))
    with (
        run_process(argv, f"{base}/api/v1/system/health", env=server_env(project, tmp_path)),
        httpx.Client(base_url=base, headers=AUTH, timeout=10.0) as client,
    ):
        assert client.get("/api/v1/system/health").json() == {"status": "ok", "version": "0.1.0"}
        status = client.get("/api/v1/system/status").json()
        assert status["project_root"] == str(project.resolve())
        created = client.post("/api/v1/tasks", json={"title": "over http"})
        assert created.status_code == 201
        fetched = client.get(f"/api/v1/tasks/{created.json()['id']}")
        assert fetched.json() == created.json()
        assert client.get("/api/v1/tasks", headers={"X-API-Key": "nope"}).status_code == 401
        metrics = client.get("/metrics").text
        assert 'llmstruct_http_requests_total{method="POST",status_class="2xx"} 1.0' in metrics


def test_bad_setting_stops_start_up_naming_it(project: Path, tmp_path: Path) -> None:
    """An invalid LLMSTRUCT_MAX_CONCURRENT stops the server with a message naming the variable."""
    env = {**server_env(project, tmp_path), "LLMSTRUCT_MAX_CONCURRENT": "0"}
    result = subprocess.run(
        python_argv("-m", "fastapi_backend", "--port", str(free_port())),
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "LLMSTRUCT_MAX_CONCURRENT" in result.stderr
