"""``cutover shadow`` against a running gateway's admin API."""

from __future__ import annotations

import argparse
import asyncio
import io

import pytest
from prometheus_client import CollectorRegistry
from rich.console import Console

from gateway.server import Gateway
from gateway.shadow import commands
from gateway.shadow.admin import admin_extension
from gateway.shadow.config import parse_shadow_settings
from gateway.shadow.wiring import build_shadow_service
from tests.gateway.shadow.conftest import Upstreams
from tests.gateway.shadow.test_gateway_wiring import TOKEN, gateway_config

pytestmark = pytest.mark.integration


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cutover")
    commands.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["shadow", *argv])


async def invoke(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    console = Console(file=out, width=220, color_system=None)
    code = await asyncio.to_thread(commands.run, parse(*argv), console)
    return code, out.getvalue()


async def test_cli_prints_tables_and_sets_the_rate(
    upstreams: Upstreams, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary and detail tables name the real fields; --rate needs and uses the token."""
    config = gateway_config(upstreams)
    registry = CollectorRegistry()
    settings = parse_shadow_settings(
        {"routes": {"items": {"percent": 100, "same_backend_percent": 0}}}
    )
    service = build_shadow_service(config, registry, settings)
    gateway = Gateway(config, registry, taps=[service], admin_extensions=[admin_extension(service)])
    await gateway.start()
    try:
        import httpx

        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{gateway.public_port}/items")
        await service.drain()
        monkeypatch.setenv("CUTOVER_ADMIN_URL", f"http://127.0.0.1:{gateway.admin_port}")

        code, text = await invoke()
        assert code == 0, text
        assert "items" in text
        assert "$.count" in text
        assert "100%" in text

        code, text = await invoke("items")
        assert code == 0
        assert "$.count" in text
        assert "type×1" in text
        assert "real" in text

        code, _ = await invoke("items", "--rate", "5")
        assert code == 1
        assert "admin token missing or wrong" in capsys.readouterr().err

        code, text = await invoke("items", "--rate", "5", "--token", TOKEN)
        assert code == 0
        assert "shadow rate 5%" in text
        assert service.route_config("items").percent == 5.0

        code, _ = await invoke("nope")
        assert code == 1
        assert "404: no route 'nope' (routes: default, items)" in capsys.readouterr().err
    finally:
        await gateway.stop()
        await service.close()


def test_cli_reports_an_unreachable_admin_api(capsys: pytest.CaptureFixture[str]) -> None:
    """No admin API listening: a one-line error and exit code 1, not a traceback."""
    from tests.support.servers import free_port

    code = commands.run(
        parse("--admin-url", f"http://127.0.0.1:{free_port()}"), Console(file=io.StringIO())
    )
    assert code == 1
    assert "cannot reach the gateway admin API" in capsys.readouterr().err
