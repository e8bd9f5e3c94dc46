"""Fixtures: a throw-away project and database under tmp_path, the app over the in-process bridge,
and a client that checks every response it receives against the checked-in contract."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from contracts.validators import NO_BODY, ContractValidator
from engine.settings import LlmstructSettings
from fastapi_backend.app import create_app
from fastapi_backend.bridges import Bridge, InProcessBridge

API_KEY = "test-key"
AUTH = {"X-API-Key": API_KEY}

PROJECT_FILES = {
    "pyproject.toml": (
        '[project]\nname = "demo"\nversion = "1.2.3"\ndescription = "A demo project"\n'
    ),
    "pkg/__init__.py": "",
    "pkg/shapes.py": (
        '"""Shapes."""\n\n\nclass Circle:\n    def area(self) -> float:\n        return 3.14\n\n\n'
        "def make() -> Circle:\n    return Circle()\n"
    ),
    "broken.py": "def broken(:\n",
    "README.md": "# Demo\n",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project: a package, a file with a syntax error, pyproject metadata and a README."""
    root = tmp_path / "project"
    for name, text in PROJECT_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def settings_factory(project: Path, tmp_path: Path) -> Callable[..., LlmstructSettings]:
    """Settings for the tmp project and database; keyword overrides win."""

    def make(**overrides: Any) -> LlmstructSettings:
        values: dict[str, Any] = {
            "api_key": API_KEY,
            "project_root": project,
            "database": tmp_path / "db" / "llmstruct.db",
            "bridge_mode": "inprocess",
            **overrides,
        }
        return LlmstructSettings(**values)

    return make


@pytest.fixture
def settings(settings_factory: Callable[..., LlmstructSettings]) -> LlmstructSettings:
    """The default test settings (in-process bridge)."""
    return settings_factory()


@pytest.fixture(scope="session")
def contract() -> ContractValidator:
    """Validators for the checked-in OpenAPI document."""
    return ContractValidator.from_path()


def contract_hook(contract: ContractValidator) -> Callable[[httpx.Response], Any]:
    """An httpx response hook failing the test when a response breaks the documented contract."""

    async def check(response: httpx.Response) -> None:
        operation = contract.operation_for(response.request.method, response.request.url.path)
        if operation is None:
            return
        await response.aread()
        body: Any = response.json() if response.content else NO_BODY
        violations = contract.validate(
            operation, response.status_code, body, response.headers.get("content-type")
        )
        assert violations == [], f"{response.request.method} {response.request.url}: {violations}"

    return check


async def make_client(
    settings: LlmstructSettings, bridge: Bridge, contract: ContractValidator
) -> httpx.AsyncClient:
    """An ASGI client of ``create_app(settings, bridge)`` checking the contract per response."""
    app = create_app(settings, bridge=bridge, registry=CollectorRegistry())
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        event_hooks={"response": [contract_hook(contract)]},
    )


@pytest.fixture
async def bridge(settings: LlmstructSettings) -> AsyncIterator[InProcessBridge]:
    """The in-process bridge over the tmp project; its engine is closed afterwards."""
    bridge = InProcessBridge(settings)
    yield bridge
    await bridge.aclose()


@pytest.fixture
async def client(
    settings: LlmstructSettings, bridge: InProcessBridge, contract: ContractValidator
) -> AsyncIterator[httpx.AsyncClient]:
    """A contract-checking client of the app over the in-process bridge."""
    async with await make_client(settings, bridge, contract) as client:
        yield client
