"""``free_port``: a loopback port no outgoing connection can take before its server binds it."""

from __future__ import annotations

import socket
from pathlib import Path

from migration.cli.processes import FIRST_PICKED, free_port, picking_range


def test_ports_are_picked_below_the_ephemeral_range(tmp_path: Path) -> None:
    """The picking range ends where the kernel's ephemeral range starts; unknown or tiny: None."""
    ephemeral = tmp_path / "ip_local_port_range"
    ephemeral.write_text("32768\t60999\n")
    assert picking_range(ephemeral) == range(FIRST_PICKED, 32768)
    ephemeral.write_text("20500 60999\n")
    assert picking_range(ephemeral) is None
    ephemeral.write_text("garbage\n")
    assert picking_range(ephemeral) is None
    assert picking_range(tmp_path / "missing") is None


def test_free_ports_are_bindable_distinct_and_not_ephemeral() -> None:
    """Two hundred picks: each bindable, none twice, none in the ephemeral range (when known)."""
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    picking = picking_range()
    if picking is not None:  # this machine's kernel says where outgoing connections get ports
        assert all(port in picking for port in ports)
    for port in ports[:20]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))
