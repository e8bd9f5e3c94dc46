"""The three fuzz targets as real processes on 127.0.0.1: the baseline, the candidate and the
gateway.

The baseline is the legacy stack as it ships (``python -m fastapi_backend`` under uvicorn with the
default CLI bridge: one ``llmstruct`` process per engine call, where the overflow and NUL findings
surfaced); the candidate is ``python -m custom_backend``; the gateway (``cutover gateway --config``)
splits every request 50/50 between those two same processes by a random draw (no sticky key), so a
run through it exercises the proxy in front of both. All three share one project and one task store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.e2e.stack import GatewayProcess
from tests.parity.conftest import make_project
from tests.support.servers import free_port, python_argv, run_process

API_KEY = "fuzz-key"
HEALTH = "/api/v1/system/health"
#: Loopback only: the fuzzer never talks to anything else.
HOST = "127.0.0.1"


def gateway_config(baseline: int, candidate: int, public: int, admin: int, state_db: Path) -> str:
    """One catch-all route at 50 %; no sticky key, so each request is a fresh draw.

    The state store is the test's own file: the default ``.cutover/migration.db`` in the working
    directory would be shared with anything else run there, and a stored weight would override the
    50 %.
    """
    return yaml.safe_dump(
        {
            "upstreams": {
                "baseline": {"url": f"http://{HOST}:{baseline}"},
                "candidate": {"url": f"http://{HOST}:{candidate}"},
            },
            "routes": [
                {
                    "name": "fuzz",
                    "paths": ["/*"],
                    "weight_bps": 5000,
                    "sticky": {"headers": [], "client_address": False},
                }
            ],
            "listeners": {
                "public": {"host": HOST, "port": public},
                "admin": {"host": HOST, "port": admin},
            },
            "migration": {"state_db": str(state_db)},
        }
    )


@dataclass(frozen=True)
class Backends:
    """Base URLs and ports of both backends (the gateway is started only when a test asks for
    it)."""

    baseline: str
    candidate: str
    baseline_port: int
    candidate_port: int


@pytest.fixture(scope="package")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    """Start both backends once for the whole fuzz package, over one project and one task store."""
    base = tmp_path_factory.mktemp("fuzz")
    root = make_project(base / "project")
    env = {
        "LLMSTRUCT_API_KEY": API_KEY,
        "LLMSTRUCT_PROJECT_ROOT": str(root),
        "LLMSTRUCT_DATABASE": str(base / "shared.db"),
        "LLMSTRUCT_LOG_LEVEL": "WARNING",
    }
    ports = {name: free_port() for name in ("baseline", "candidate")}
    urls = {name: f"http://{HOST}:{port}" for name, port in ports.items()}
    with (
        run_process(
            python_argv("-m", "fastapi_backend", "--host", HOST, "--port", str(ports["baseline"])),
            urls["baseline"] + HEALTH,
            env={**env, "LLMSTRUCT_BRIDGE_MODE": "subprocess"},
        ),
        run_process(
            python_argv("-m", "custom_backend", "--host", HOST, "--port", str(ports["candidate"])),
            urls["candidate"] + HEALTH,
            env=env,
        ),
    ):
        yield Backends(urls["baseline"], urls["candidate"], ports["baseline"], ports["candidate"])


@pytest.fixture(scope="package")
def gateway(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``cutover gateway`` in front of both backends; yields its public base URL."""
    base = tmp_path_factory.mktemp("fuzz-gateway")
    public, admin = free_port(), free_port()
    config = base / "gateway.yaml"
    config.write_text(
        gateway_config(
            backends.baseline_port, backends.candidate_port, public, admin, base / "migration.db"
        )
    )
    process = GatewayProcess(config, public, admin, base / "gateway.log")
    process.start()
    try:
        yield process.public_url
    finally:
        process.stop()
