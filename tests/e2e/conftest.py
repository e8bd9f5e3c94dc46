"""Fixtures for the end-to-end tests: one pair of backends per session, a fresh gateway per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from migration.cli.processes import free_port
from tests.e2e.stack import BackendPorts, GatewayProcess, gateway_yaml, start_backends


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendPorts]:
    """fastapi_backend (baseline) and custom_backend (candidate) over one task store."""
    processes, ports = start_backends(tmp_path_factory.mktemp("backends"))
    try:
        yield ports
    finally:
        processes.stop()


GatewayFactory = Callable[..., GatewayProcess]


@pytest.fixture
def gateway_factory(backends: BackendPorts, tmp_path: Path) -> Iterator[GatewayFactory]:
    """Build (not start) a gateway process over a config in ``tmp_path``; all are stopped after."""
    made: list[GatewayProcess] = []

    def make(**options: Any) -> GatewayProcess:
        public, admin = free_port(), free_port()
        config = tmp_path / f"gateway-{len(made)}.yaml"
        text = gateway_yaml(backends, public, admin, tmp_path / "migration.db", **options)
        config.write_text(text, encoding="utf-8")
        gateway = GatewayProcess(config, public, admin, tmp_path / "gateway.log")
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.stop()
