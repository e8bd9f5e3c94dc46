"""``cutover status`` shows the cluster: leader, epoch, lease age, and every member's
heartbeat, version, serving mode."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from migration.cli.operator import render_cluster


def _render(cluster: dict[str, Any]) -> str:
    console = Console(record=True, width=160)
    console.print(render_cluster(cluster))
    return console.export_text()


def _member(name: str, **kw: Any) -> dict[str, Any]:
    base = {
        "replica": name,
        "role": "member",
        "heartbeat_age_s": 0.4,
        "config_version": 7,
        "fail_static": False,
        "leading": False,
        "admin": None,
    }
    return base | kw


def _cluster(**kw: Any) -> dict[str, Any]:
    base = {
        "replica": "r1",
        "role": "member",
        "leading": False,
        "config_version": 7,
        "fail_static": False,
        "store_up": True,
        "store_error": None,
        "leader": {"replica": "r0", "epoch": 3, "lease_age_s": 1.5, "lease_remaining_s": 4.5},
        "replicas": [_member("r0", leading=True), _member("r1"), _member("r2")],
    }
    return base | kw


def test_the_leader_its_epoch_and_every_member_are_shown() -> None:
    """The title names the leader, epoch and lease age; each member has a row."""
    text = _render(_cluster())
    assert "leader r0, epoch 3, lease renewed 1.5 s ago" in text
    for name in ("r0", "r1", "r2"):
        assert name in text
    assert "★" in text
    assert "fail-static" not in text


def test_a_fail_static_member_and_an_unreachable_store_stand_out() -> None:
    """A member serving its last snapshot says so; an unreachable store is the caption."""
    members = [_member("r0", leading=True), _member("r1", fail_static=True, config_version=6)]
    text = _render(_cluster(replicas=members, store_up=False, store_error="connection refused"))
    assert "fail-static" in text
    assert "SHARED STATE STORE UNREACHABLE: connection refused" in text


def test_no_leader_is_said_plainly() -> None:
    """Between two leaders (an election in progress) the title says none."""
    text = _render(_cluster(leader={"replica": None, "epoch": 3, "lease_age_s": 7.0}))
    assert "leader none" in text
