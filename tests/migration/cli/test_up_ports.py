"""A second ``cutover up`` on taken ports fails with exit 1 naming the port (issue #15 item 5)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from gateway.config import GatewayConfig
from migration.cli.main import main
from migration.cli.processes import BackendProcesses, BackendSpec, port_in_use
from migration.cli.stack import busy_ports
from tests.migration.test_admin_api import _clean_env
from tests.support.servers import free_port

__all__ = ["_clean_env"]  # the autouse fixture that keeps CUTOVER_* out, re-used here


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port something listens on for the test's duration."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _config(baseline: int = 8001, public: int = 8080) -> GatewayConfig:
    """Only the ports ``busy_ports`` reads, in a :class:`GatewayConfig`'s shape."""
    port = SimpleNamespace
    return cast(
        GatewayConfig,
        SimpleNamespace(
            baseline=port(port=baseline),
            candidate=port(port=8002),
            public=port(host="127.0.0.1", port=public),
            admin=port(host="127.0.0.1", port=8081),
        ),
    )


def test_busy_ports_names_each_taken_port_and_its_flag() -> None:
    """Each taken port is one line naming the port, what wanted it and the flag that moves it."""
    taken = {8001, 8080}
    lines = busy_ports(_config(), flags=True, in_use=lambda _host, port: port in taken)
    assert lines == [
        "port 8001 (baseline backend, 127.0.0.1) is already in use: stop what holds it, "
        "or pick another with --baseline-port",
        "port 8080 (gateway, 127.0.0.1) is already in use: stop what holds it, "
        "or pick another with --port",
    ]
    assert busy_ports(_config(), flags=False, in_use=lambda _h, _p: False) == []


def test_without_flags_the_line_names_no_option() -> None:
    """With ``--config`` (which sets the ports) no command-line option is suggested."""
    lines = busy_ports(_config(), flags=False, in_use=lambda _host, port: port == 8081)
    assert lines == ["port 8081 (gateway admin, 127.0.0.1) is already in use"]


def test_port_in_use_sees_a_listener(taken_port: int) -> None:
    """A listening port is in use; a port nobody holds is not."""
    assert port_in_use("127.0.0.1", taken_port)
    assert not port_in_use("127.0.0.1", free_port())


def test_up_on_a_taken_backend_port_exits_1_naming_it(
    taken_port: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cutover up`` with the baseline port taken starts nothing and exits 1 naming the port."""
    argv = ["up", "--state-dir", str(tmp_path), "--baseline-port", str(taken_port)]
    argv += ["--candidate-port", str(free_port()), "--port", str(free_port())]
    argv += ["--admin-port", str(free_port())]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"cutover up: port {taken_port} (baseline backend, 127.0.0.1) is already in use" in err
    assert not (tmp_path / "logs").exists()  # no backend was started


@pytest.mark.integration
def test_a_backend_that_dies_is_reported_with_its_exit(taken_port: int, tmp_path: Path) -> None:
    """A backend that cannot bind exits, and ``exited()`` says which, with its code and its log."""
    procs = BackendProcesses([BackendSpec("custom", "127.0.0.1", taken_port)], log_dir=tmp_path)
    with procs:
        deadline = time.monotonic() + 60
        while not procs.exited() and time.monotonic() < deadline:
            time.sleep(0.1)
        (line,) = procs.exited()
    assert line.startswith(f"the custom backend (http://127.0.0.1:{taken_port}) exited with ")
    assert "address already in use" in line
