"""``cutover weight`` and ``cutover fault`` drive a running gateway's admin API."""

from __future__ import annotations

import argparse
import asyncio

import pytest

from gateway.commands import register
from tests.gateway.conftest import TOKEN, GatewayFactory

pytestmark = pytest.mark.integration


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


async def test_weight_command(
    make_gateway: GatewayFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cutover weight default 25`` sets 2500 bps through the admin API with the token."""
    gateway = await make_gateway()
    url = f"http://127.0.0.1:{gateway.admin_port}"
    code = await asyncio.to_thread(
        run_cli, ["weight", "default", "25", "--admin-url", url, "--token", TOKEN]
    )
    assert code == 0
    assert gateway.state.get_weight("default") == 2500
    assert "default: candidate weight 25% (was 0%)" in capsys.readouterr().out


async def test_weight_command_reports_errors(
    make_gateway: GatewayFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Address and token come from the environment; a refusal is exit code 1 with the reason."""
    gateway = await make_gateway()
    monkeypatch.setenv("CUTOVER_ADMIN_URL", f"http://127.0.0.1:{gateway.admin_port}")
    monkeypatch.setenv("CUTOVER_ADMIN_TOKEN", "wrong")
    assert await asyncio.to_thread(run_cli, ["weight", "default", "25"]) == 1
    assert "admin token missing or wrong" in capsys.readouterr().err
    monkeypatch.setenv("CUTOVER_ADMIN_TOKEN", TOKEN)
    assert await asyncio.to_thread(run_cli, ["weight", "default", "150"]) == 1
    assert "percent" in capsys.readouterr().err


async def test_an_unknown_route_is_one_plain_sentence(
    make_gateway: GatewayFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cutover weight nosuch 10`` names the route and the gateway's routes, not a JSON dict."""
    gateway = await make_gateway()
    url = f"http://127.0.0.1:{gateway.admin_port}"
    argv = ["weight", "nosuch", "10", "--admin-url", url, "--token", TOKEN]
    assert await asyncio.to_thread(run_cli, argv) == 1
    routes = ", ".join(gateway.state.route_names)
    assert capsys.readouterr().err == (
        f"cutover: PUT /routes/nosuch/weight failed with 404: "
        f"unknown route 'nosuch' (routes: {routes})\n"
    )


async def test_fault_command(make_gateway: GatewayFactory) -> None:
    """``cutover fault candidate --delay ... --abort ...`` sets a fault; ``--clear`` removes it."""
    gateway = await make_gateway()
    flags = ["--admin-url", f"http://127.0.0.1:{gateway.admin_port}", "--token", TOKEN]
    argv = ["fault", "candidate", "--delay", "20", "--distribution", "normal", "--stddev-ms", "5",
            "--abort", "10", "--status", "502", *flags]  # fmt: skip
    assert await asyncio.to_thread(run_cli, argv) == 0
    spec = gateway.state.get_fault("candidate")
    assert spec is not None
    assert (spec.delay_ms, spec.delay_distribution, spec.abort_status) == (
        20,
        "normal",
        502,
    )
    assert await asyncio.to_thread(run_cli, ["fault", "candidate", "--clear", *flags]) == 0
    assert gateway.state.get_fault("candidate") is None


def test_unreachable_admin_api(capsys: pytest.CaptureFixture[str]) -> None:
    """No admin API listening: exit code 1 and a message naming the address."""
    from tests.support.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    assert run_cli(["weight", "default", "1", "--admin-url", url]) == 1
    assert url in capsys.readouterr().err
