"""``cutover fault`` shows before it changes, clears only on ``--clear``; both summarise."""

from __future__ import annotations

import argparse
import asyncio
import json

import pytest

from gateway.commands import describe_fault, describe_weight, register
from gateway.faults import FaultSpec
from tests.gateway.conftest import TOKEN, GatewayFactory

ABORT = FaultSpec(abort_percent=100.0).to_data()  # the API's JSON of a full abort


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (None, "no fault"),
        (ABORT, "abort 100% → 503, delay 0 ms"),
        (ABORT | {"abort_percent": 0.0, "delay_ms": 200.0}, "abort 0%, delay 200 ms"),
        (ABORT | {"abort_percent": 12.5, "abort_status": 502}, "abort 12.5% → 502, delay 0 ms"),
        (
            ABORT
            | {
                "abort_percent": 0.0,
                "delay_ms": 100.0,
                "delay_distribution": "uniform",
                "delay_max_ms": 300.0,
            },
            "abort 0%, delay 100–300 ms uniform",
        ),
        (
            ABORT
            | {
                "abort_percent": 0.0,
                "delay_ms": 200.0,
                "delay_distribution": "normal",
                "delay_stddev_ms": 20.0,
            },
            "abort 0%, delay 200 ± 20 ms normal",
        ),
        (
            ABORT
            | {
                "abort_percent": 0.0,
                "delay_ms": 50.0,
                "delay_distribution": "lognormal",
                "delay_sigma": 0.5,
            },
            "abort 0%, delay 50 ms median lognormal (σ 0.5)",
        ),
        (
            ABORT
            | {
                "abort_percent": 0.0,
                "delay_ms": 300.0,
                "methods": ["POST"],
                "path": "/api/v1/tasks",
            },
            "abort 0%, delay 300 ms, only POST /api/v1/tasks",
        ),
        (
            ABORT | {"methods": ["GET", "HEAD"], "path": None},
            "abort 100% → 503, delay 0 ms, only GET,HEAD",
        ),
        (
            ABORT | {"methods": [], "path": "/api/v1/tasks*"},
            "abort 100% → 503, delay 0 ms, only /api/v1/tasks*",
        ),
    ],
)
def test_describe_fault(fault: dict[str, object] | None, words: str) -> None:
    """A fault reads as its abort share and status, then its delay and distribution."""
    assert describe_fault(fault) == words


def test_describe_weight() -> None:
    """A weight change reads as the new share and the one it replaced."""
    answer = {"route": "default", "weight_bps": 3000, "weight_percent": 30.0, "previous_bps": 0}
    assert describe_weight(answer) == "default: candidate weight 30% (was 0%)"


def said(capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The lines printed so far (the in-process gateway's own log lines share stdout)."""
    return capsys.readouterr().out.splitlines()


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.mark.integration
async def test_weight_prints_a_summary_and_json_on_request(
    make_gateway: GatewayFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cutover weight`` prints one line by default and the API's JSON with ``--json``."""
    gateway = await make_gateway()
    flags = ["--admin-url", f"http://127.0.0.1:{gateway.admin_port}", "--token", TOKEN]
    assert await asyncio.to_thread(run_cli, ["weight", "default", "30", *flags]) == 0
    assert "default: candidate weight 30% (was 0%)" in said(capsys)
    assert await asyncio.to_thread(run_cli, ["weight", "default", "50", "--json", *flags]) == 0
    out = capsys.readouterr().out
    answer = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert (answer["weight_bps"], answer["previous_bps"]) == (5000, 3000)


@pytest.mark.integration
async def test_fault_without_options_shows_and_keeps_the_fault(
    make_gateway: GatewayFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bare ``cutover fault candidate`` prints the fault and leaves it in place."""
    gateway = await make_gateway()
    flags = ["--admin-url", f"http://127.0.0.1:{gateway.admin_port}", "--token", TOKEN]
    argv = ["fault", "candidate", "--abort", "100", *flags]
    assert await asyncio.to_thread(run_cli, argv) == 0
    assert "candidate: abort 100% → 503, delay 0 ms" in said(capsys)

    assert await asyncio.to_thread(run_cli, ["fault", "candidate", *flags]) == 0
    assert "candidate: abort 100% → 503, delay 0 ms" in said(capsys)
    spec = gateway.state.get_fault("candidate")
    assert spec is not None
    assert spec.abort_percent == 100

    assert await asyncio.to_thread(run_cli, ["fault", *flags]) == 0
    lines = said(capsys)
    assert "baseline: no fault" in lines
    assert "candidate: abort 100% → 503, delay 0 ms" in lines
    assert await asyncio.to_thread(run_cli, ["fault", "candidate", "--json", *flags]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out[out.index("{") : out.rindex("}") + 1])
    assert shown["backend"] == "candidate"
    assert shown["fault"]["abort_percent"] == 100


@pytest.mark.integration
async def test_only_clear_removes_a_fault(
    make_gateway: GatewayFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """Options that inject nothing are refused with exit 2; ``--clear`` removes the fault."""
    gateway = await make_gateway()
    flags = ["--admin-url", f"http://127.0.0.1:{gateway.admin_port}", "--token", TOKEN]
    assert await asyncio.to_thread(run_cli, ["fault", "candidate", "--delay", "200", *flags]) == 0
    capsys.readouterr()

    for inert in (["--status", "502"], ["--delay", "0"], ["--distribution", "normal"]):
        assert await asyncio.to_thread(run_cli, ["fault", "candidate", *inert, *flags]) == 2
        assert "--clear removes a fault" in capsys.readouterr().err
    assert await asyncio.to_thread(run_cli, ["fault", "--abort", "5", *flags]) == 2
    assert await asyncio.to_thread(run_cli, ["fault", "candidate", "--clear", "--abort", "5"]) == 2
    assert gateway.state.get_fault("candidate") is not None

    assert await asyncio.to_thread(run_cli, ["fault", "candidate", "--clear", *flags]) == 0
    assert "candidate: fault cleared" in said(capsys)
    assert gateway.state.get_fault("candidate") is None


@pytest.mark.integration
async def test_fault_on_one_operation(
    make_gateway: GatewayFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--method``/``--path`` narrow the fault; setting and showing it both name the filter."""
    gateway = await make_gateway()
    flags = ["--admin-url", f"http://127.0.0.1:{gateway.admin_port}", "--token", TOKEN]
    argv = [
        "fault",
        "candidate",
        "--delay-ms",
        "300",
        "--method",
        "POST",
        "--path",
        "/api/v1/tasks",
    ]
    assert await asyncio.to_thread(run_cli, [*argv, *flags]) == 0
    assert "candidate: abort 0%, delay 300 ms, only POST /api/v1/tasks" in said(capsys)
    spec = gateway.state.get_fault("candidate")
    assert spec is not None
    assert (spec.delay_ms, spec.methods, spec.path) == (300, ("POST",), "/api/v1/tasks")

    assert await asyncio.to_thread(run_cli, ["fault", *flags]) == 0
    assert "candidate: abort 0%, delay 300 ms, only POST /api/v1/tasks" in said(capsys)

    argv = ["fault", "baseline", "--abort", "5", "--method", "get,head", "--method", "PUT"]
    assert await asyncio.to_thread(run_cli, [*argv, *flags]) == 0
    assert "baseline: abort 5% → 503, delay 0 ms, only GET,HEAD,PUT" in said(capsys)


@pytest.mark.integration
async def test_a_filter_alone_injects_nothing(
    make_gateway: GatewayFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """A filter without a delay or an abort is refused (exit 2); a bad pattern is the API's 422."""
    gateway = await make_gateway()
    flags = ["--admin-url", f"http://127.0.0.1:{gateway.admin_port}", "--token", TOKEN]
    for filters in (["--method", "POST"], ["--path", "/api/v1/tasks"]):
        assert await asyncio.to_thread(run_cli, ["fault", "candidate", *filters, *flags]) == 2
        assert "--clear removes a fault" in capsys.readouterr().err
    argv = ["fault", "candidate", "--delay", "5", "--path", "api/v1/tasks", *flags]
    assert await asyncio.to_thread(run_cli, argv) != 0
    assert "path" in capsys.readouterr().err
    assert gateway.state.get_fault("candidate") is None
