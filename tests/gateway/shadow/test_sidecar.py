"""The sidecar process's own parts: outcome tally, priority, calls before and after start-up."""

from __future__ import annotations

import os
import socket

import pytest

from gateway.shadow.config import ShadowConfigError
from gateway.shadow.sidecar import (
    OutcomeTally,
    SidecarEnd,
    lower_priority,
    main,
    pin_cpus,
    serve,
)


def test_tally_counts_and_resets() -> None:
    """``take`` returns the counts since the last call and starts from zero again."""
    tally = OutcomeTally()
    tally.observe_shadow("items", True)
    tally.observe_shadow("items", True)
    tally.observe_contract("items", "candidate", False)
    assert tally.take() == ({("items", True): 2}, {("items", "candidate", False): 1})
    assert tally.take() == ({}, {})


def test_normal_priority_changes_nothing() -> None:
    """``normal`` leaves the scheduling policy and niceness alone."""
    before = (os.sched_getscheduler(0), os.nice(0))
    assert lower_priority("normal") == "normal"
    assert (os.sched_getscheduler(0), os.nice(0)) == before


async def test_calls_before_the_service_exists_answer_503() -> None:
    """An admin call that arrives during start-up gets 503, an unknown call 400 once running."""
    end = SidecarEnd()
    reply = await end._call("summary", ())
    assert reply.status == 503
    end.service = object()  # type: ignore[assignment]
    end.admin = object()  # type: ignore[assignment]
    assert (await end._call("nonsense", ())).status == 400


def test_usage_error_exits_2() -> None:
    """Started without ``FD PRIORITY LOG_FORMAT`` the sidecar prints its usage and exits 2."""
    assert main([]) == 2


async def test_a_gateway_gone_before_the_spec_ends_the_sidecar_quietly() -> None:
    """EOF before any frame: ``serve`` returns 0 instead of raising."""
    ours, theirs = socket.socketpair()
    ours.close()
    assert await serve(theirs) == 0


def test_pin_cpus_none_keeps_the_inherited_cpus() -> None:
    """Without ``process_cpus`` the sidecar runs wherever the gateway may run."""
    assert pin_cpus(None) == sorted(os.sched_getaffinity(0))


def test_pin_cpus_that_cannot_be_used_name_the_field() -> None:
    """A CPU the kernel refuses (absent, or outside the cgroup's cpuset) fails sidecar start-up."""
    before = os.sched_getaffinity(0)
    with pytest.raises(
        ShadowConfigError, match=r"^shadow\.process_cpus: cannot run on CPUs \[4095\]"
    ):
        pin_cpus((4095,))
    assert os.sched_getaffinity(0) == before
