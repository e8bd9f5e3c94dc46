"""Gateway processes for ``python -m bench replicas``: configs, start/kill/stop, admin calls, CPU.

A :class:`Gateway` is one ``cutover gateway`` process (``python -m migration.cli.main gateway``) — a
single process, a supervisor with ``--workers N``, or one replica of a cluster (``CUTOVER_REPLICA``
names it, ``migration.state_db`` is the PostgreSQL URL). Its output goes to a log file, never to an
unread pipe. Its CPU is the sum over its process tree (supervisor, workers, shadow sidecars), read
from ``/proc``, because with workers the requests are served by children.

The configuration is the e2e tests' (``tests/e2e/stack.py`` ``gateway_yaml``): one catch-all route,
sticky on the load generator's client header, the controller every second with the tests' policy —
copied here rather than imported, as the tests import this package's PostgreSQL server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from migration.loadgen import CLIENT_HEADER

__all__ = [
    "ADMIN_TOKEN",
    "ROUTE",
    "Admin",
    "Gateway",
    "config_yaml",
    "leader_of",
    "tree_cpu_seconds",
]

ROUTE = "default"
ADMIN_TOKEN = "bench-admin-token"
#: tests/e2e/stack.py TEST_POLICY: the analysis scaled to seconds of traffic, not minutes.
POLICY = {"window_s": "4s", "min_samples": 30, "min_rate_samples": 30}
INTERVAL_S = 1.0
STARTUP_TIMEOUT_S = 60.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def config_yaml(
    upstream: int, public: int, admin: int, state_db: str, snapshot_cache: Path | None = None
) -> str:
    """Both backends on one upstream, shadowing and contract checks off,
    the e2e policy, 1 s interval."""
    migration: dict[str, Any] = {
        "state_db": state_db,
        "interval_s": INTERVAL_S,
        "policy": POLICY,
        "contract": "none",  # the bench upstream's one answer is no llmstruct response
    }
    if snapshot_cache is not None:
        migration["snapshot_cache"] = str(snapshot_cache)
    url = f"http://127.0.0.1:{upstream}"
    return yaml.safe_dump(
        {
            "upstreams": {
                "baseline": {"url": url, "pool_size": 128},
                "candidate": {"url": url, "pool_size": 128},
            },
            "routes": [
                {
                    "name": ROUTE,
                    "paths": ["/*"],
                    "weight_bps": 5000,
                    "sticky": {"headers": [CLIENT_HEADER, "X-API-Key"], "client_address": False},
                    "shadow": {"percent": 0},
                }
            ],
            "listeners": {
                "public": {"host": "127.0.0.1", "port": public},
                "admin": {"host": "127.0.0.1", "port": admin},
            },
            "admin_token": ADMIN_TOKEN,
            "access_log_sample_rate": 0.0,
            "migration": migration,
        }
    )


def _children() -> dict[int, list[int]]:
    """Every process' children, from ``/proc/*/stat``."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            out.setdefault(ppid, []).append(int(entry.name))
    return out


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every descendant alive now."""
    children, total, todo = _children(), 0.0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, ()))
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def host_busy_seconds() -> float:
    """CPU seconds every core of the host spent busy since boot (``/proc/stat``, all but idle and
    iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def own_tree_seconds() -> float:
    """CPU seconds of this process, its live descendants and the children it has reaped (wrk)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return tree_cpu_seconds(os.getpid()) + (int(fields[13]) + int(fields[14])) / CLK_TCK


@dataclass
class Gateway:
    """One ``cutover gateway`` process: ``start`` waits for ``/readyz``; ``kill`` is a crash."""

    name: str
    config: Path
    public: int
    admin: int
    log: Path
    workers: int = 1
    replica: str | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.public}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        argv = [sys.executable, "-m", "migration.cli.main", "gateway", "--config", str(self.config)]
        argv += ["--workers", str(self.workers), "--log-format", "json"]
        env = dict(os.environ)
        if self.replica is not None:
            env["CUTOVER_REPLICA"] = self.replica
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.admin_url}/readyz", timeout=1.0).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.name} not ready in {STARTUP_TIMEOUT_S:g}s:\n{self.tail()}"
                )
            time.sleep(0.05)

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        return tree_cpu_seconds(self.proc.pid)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


class Admin:
    """A gateway's admin API with the token, over one async client."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.client = httpx.AsyncClient(
            base_url=gateway.admin_url,
            timeout=5.0,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )

    async def get(self, path: str) -> Any:
        response = await self.client.get(path)
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.gateway.name} GET {path}: {response.status_code} {response.text}"
            )
        return response.json()

    async def send(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.client.request(method, path, json=body)
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.gateway.name} {method} {path}: {response.status_code} {response.text}"
            )
        return response.json()

    async def weight(self) -> int:
        """The route's weight in force on this gateway (``GET /status``)."""
        return int((await self.get("/status"))["routes"][0]["weight_bps"])

    async def leading(self) -> bool:
        """Whether this member says it leads (``GET /cluster``); False when it does not answer."""
        try:
            return bool((await self.get("/cluster"))["leading"])
        except (httpx.HTTPError, RuntimeError):
            return False

    async def view(self) -> dict[str, Any]:
        """The route's entry of ``GET /migration``."""
        routes = (await self.get("/migration"))["routes"]
        found: dict[str, Any] = next(r for r in routes if r["route"] == ROUTE)
        return found

    async def aclose(self) -> None:
        await self.client.aclose()


async def leader_of(admins: list[Admin], within_s: float = 20.0) -> Admin:
    """The member that says it leads, among those alive (waits for one)."""
    deadline = time.monotonic() + within_s
    while True:
        for admin in admins:
            if admin.gateway.alive and await admin.leading():
                return admin
        if time.monotonic() > deadline:
            raise RuntimeError(f"no leader within {within_s:g} s")
        await asyncio.sleep(0.02)
