"""The controller's half of the fault matrix: a gateway process mid-migration, load, one upstream to
break.

An upstream here starts healthy and turns faulty on ``SIGUSR1`` (``slow:MS``, ``5xx`` or ``cut``:
:mod:`tests.faults.upstream_support` started with a ``then`` mode), so the migration has finished
samples from both backends before the fault (the analysis needs a baseline to compare with) and the
fault's start is one known instant; ``killed`` (``kill -9``) and ``hung`` (``SIGSTOP``) need no
mode. The gateway, its config and the load are those of the end-to-end stack
(:mod:`tests.e2e.stack`): a ``cutover gateway`` process with the controller every second and the
analysis scaled to a test, and the demo's open-loop GET mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from migration.cli.processes import free_port
from migration.loadgen import LoadStats
from tests.e2e.stack import (
    ROUTE,
    Admin,
    BackendPorts,
    GatewayProcess,
    Load,
    gateway_sender,
    gateway_yaml,
    profile,
)
from tests.faults.upstream_support import UpstreamProcess, switch, upstream_process

#: The gateway's read timeout for both upstreams in these tests (the default is 30 s).
READ_TIMEOUT_S = 5.0

__all__ = [
    "READ_TIMEOUT_S",
    "ROUTE",
    "Migration",
    "break_upstream",
    "migration",
    "switchable_upstream",
]


def switchable_upstream(
    name: str, fault: str
) -> contextlib.AbstractContextManager[UpstreamProcess]:
    """An upstream serving 200s until ``SIGUSR1`` turns it to ``fault``; continued, then killed."""
    return upstream_process(name, "ok", then=fault)


def break_upstream(up: UpstreamProcess, fault: str) -> None:
    """Apply ``fault`` to the running process: kill -9, SIGSTOP, or SIGUSR1 to its fault mode."""
    if fault == "killed":
        up.kill()
    elif fault == "hung":
        up.stop()
    else:
        switch(up)


@dataclass
class Migration:
    """A running gateway with a plan at its first step, an admin client and the load."""

    gateway: GatewayProcess
    admin: Admin
    load: Load
    upstreams: dict[str, UpstreamProcess]
    stats: LoadStats | None = None

    async def stop_load(self) -> LoadStats:
        """End the load once; what the clients saw."""
        if self.stats is None:
            self.stats = await self.load.stop()
        return self.stats

    async def live_bps(self) -> int:
        status = await self.admin.get("/status")
        return int(next(r for r in status["routes"] if r["name"] == ROUTE)["weight_bps"])

    async def events(self) -> list[dict[str, Any]]:
        data = await self.admin.get(f"/migration/events?route={ROUTE}&limit=200")
        events: list[dict[str, Any]] = data["events"]
        return events

    async def just_after_tick(self) -> None:
        """Return right after the controller's next evaluation (its commit moves ``updated_at``).

        A fault applied then waits almost a whole ``interval_s`` for the next one: the times
        measured from it are the worst case of the tick's phase, not a lucky one.
        """
        last = (await self.admin.view())["plan"]["updated_at"]
        while True:
            await asyncio.sleep(0.02)
            if (await self.admin.view())["plan"]["updated_at"] != last:
                return

    async def until(
        self, predicate: Callable[[], Any], what: str, since: float, within_s: float
    ) -> float:
        """Await ``predicate()`` (a coroutine function's result, polled every 50 ms); seconds since
        ``since`` when it first held."""
        while not await predicate():
            if time.monotonic() - since > within_s:
                raise AssertionError(
                    f"no {what} within {within_s} s; last view {await self.admin.view()}\n"
                    f"{self.gateway.tail()}"
                )
            await asyncio.sleep(0.05)
        return time.monotonic() - since


@contextlib.asynccontextmanager
async def migration(
    tmp_path: Path, broken: str, fault: str, plan: dict[str, Any], rps: float
) -> AsyncIterator[Migration]:
    """Both upstreams (``broken`` one switchable), a gateway, ``plan`` started and load running.

    Teardown continues a stopped upstream before the load is stopped (its requests then finish
    instead of waiting out their timeouts), then stops the gateway and kills both upstreams.
    """
    mode = {
        b: fault if b == broken and fault not in ("killed", "hung") else "ok"
        for b in ("baseline", "candidate")
    }
    with (
        switchable_upstream("baseline", mode["baseline"]) as base,
        switchable_upstream("candidate", mode["candidate"]) as cand,
    ):
        public, admin_port = free_port(), free_port()
        config = tmp_path / "gateway.yaml"
        ports = BackendPorts(base.port, cand.port)
        data = yaml.safe_load(
            gateway_yaml(ports, public, admin_port, tmp_path / "migration.db", shadow_percent=0)
        )
        # These upstreams do not speak llmstruct: checking their bodies against its contract
        # would fail both backends for a reason that is not the fault under test.
        data["migration"]["contract"] = "none"
        # A hung baseline's attempts fall back to the candidate at the read timeout: 5 s rather
        # than 30, so the clients (whose own sender gives up at 10 s) see that fallback.
        for upstream in data["upstreams"].values():
            upstream["read_timeout_s"] = READ_TIMEOUT_S
        config.write_text(yaml.safe_dump(data), "utf-8")
        gateway = GatewayProcess(config, public, admin_port, tmp_path / "gateway.log")
        admin: Admin | None = None
        running: Migration | None = None
        sender = gateway_sender(gateway.public_url)
        try:
            gateway.start()
            admin = Admin(gateway.admin_url)
            await admin.send("POST", f"/migration/{ROUTE}/start", plan)
            # Clients wait up to 35 s: longer than the 30 s read timeout, so a failure is the
            # gateway's.
            load = Load(sender, replace(profile(("1", "2")), rps=rps, timeout_s=35.0))
            running = Migration(gateway, admin, load, {"baseline": base, "candidate": cand})
            yield running
        finally:
            for up in (base, cand):
                if up.proc.poll() is None:
                    os.kill(up.proc.pid, signal.SIGCONT)
            if running is not None:
                await running.stop_load()
            await sender.close()
            if admin is not None:
                await admin.aclose()
            gateway.stop()
