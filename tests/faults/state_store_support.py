"""A real ``cutover gateway`` process over two simple upstream processes, and ways to break its
store.

The state store faults are made from outside the gateway, as they happen in production:

* a **locked file** — another connection holds SQLite's write lock (``BEGIN EXCLUSIVE``);
* a **full disk**, twice: for real — the state directory on a small tmpfs of its own,
  filled with a filler file until ``ENOSPC`` (needs ``mount``, so root; skipped elsewhere)
  — and as the process sees it — ``RLIMIT_FSIZE`` of the running gateway set to the size
  its files have now (``prlimit``), so the next append to the database or its WAL fails
  with ``EFBIG`` as a full disk fails with ``ENOSPC``; the gateway's output then goes to
  /dev/null, which the limit does not touch;
* a **corrupt** or **unreadable** file at start-up.

A read-only state directory cannot be made here: the tests run as root, which ignores file modes;
SQLite in WAL mode keeps writing the files it already has open whatever the directory's mode; and
the kernel refuses to remount a filesystem read-only while a process has a file open for writing
(``mount point is busy``), which the gateway always has.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from migration.cli.processes import free_port
from tests.e2e.stack import ADMIN_TOKEN, ROUTE, BackendPorts, GatewayProcess, gateway_yaml
from tests.faults.upstream_support import UpstreamProcess, upstream_process

__all__ = [
    "ADMIN_TOKEN",
    "ROUTE",
    "Stack",
    "TimedLoad",
    "exclusive_lock",
    "fill_disk",
    "full_filesystem",
    "own_filesystem",
    "stack",
    "steady_load",
]


class Stack:
    """The gateway process, its state file and an admin client."""

    def __init__(self, gateway: GatewayProcess, state_db: Path, upstreams: list[UpstreamProcess]):
        self.gateway = gateway
        self.state_db = state_db
        self.upstreams = upstreams
        self.admin = httpx.Client(
            base_url=gateway.admin_url,
            timeout=5.0,
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.admin.request(method, path, json=body)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()

    def overview(self) -> dict[str, Any]:
        data: dict[str, Any] = self.call("GET", "/migration")
        return data

    def view(self) -> dict[str, Any]:
        view: dict[str, Any] = next(v for v in self.overview()["routes"] if v["route"] == ROUTE)
        return view

    def live_bps(self) -> int:
        status = self.call("GET", "/status")
        return int(next(r for r in status["routes"] if r["name"] == ROUTE)["weight_bps"])

    def metric(self, name: str) -> float | None:
        text = self.admin.get("/metrics").text
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait(self, predicate: Any, what: str, within_s: float = 20.0) -> float:
        """Poll ``predicate()`` every 50 ms; returns the seconds it took."""
        started = time.monotonic()
        while not predicate():
            if time.monotonic() - started > within_s:
                raise AssertionError(f"timed out waiting for {what}:\n{self.gateway.tail()}")
            time.sleep(0.05)
        return time.monotonic() - started

    def stored_events(self) -> list[str]:
        """Event kinds in the state file itself (a separate connection, as an auditor would)."""
        with contextlib.closing(sqlite3.connect(self.state_db, timeout=5.0)) as db:
            return [kind for (kind,) in db.execute("SELECT kind FROM migration_event ORDER BY id")]


@contextlib.contextmanager
def stack(
    tmp_path: Path,
    *,
    quiet: bool = False,
    state_dir: Path | None = None,
    policy: Mapping[str, Any] | None = None,
) -> Iterator[Stack]:
    """Two ``ok`` upstreams and a started ``cutover gateway`` (``quiet``: output to /dev/null;
    ``policy``: fields over the e2e stack's test policy)."""
    with upstream_process("baseline") as base, upstream_process("candidate") as cand:
        public, admin = free_port(), free_port()
        state_db = (state_dir or tmp_path / "state") / "migration.db"
        config = tmp_path / "gateway.yaml"
        ports = BackendPorts(base.port, cand.port)
        config.write_text(
            gateway_yaml(ports, public, admin, state_db, shadow_percent=0, policy=policy), "utf-8"
        )
        log = Path("/dev/null") if quiet else tmp_path / "gateway.log"
        gateway = GatewayProcess(config, public, admin, log)
        gateway.start()
        running = Stack(gateway, state_db, [base, cand])
        try:
            yield running
        finally:
            running.admin.close()
            gateway.stop()


@dataclass
class TimedLoad:
    """Statuses (0: a transport error) and the longest request, overall and in a marked span."""

    statuses: Counter[int] = field(default_factory=Counter)
    longest_s: float = 0.0
    durations: list[float] = field(default_factory=list)


@contextlib.contextmanager
def steady_load(url: str, threads: int = 4) -> Iterator[TimedLoad]:
    """GETs in a loop from ``threads`` threads until the block ends, each one timed."""
    seen = TimedLoad()
    stop = threading.Event()
    lock = threading.Lock()

    def loop(n: int) -> None:
        with httpx.Client(base_url=url, timeout=30.0) as client:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status = client.get(f"/load/{n}").status_code
                except httpx.HTTPError:
                    status = 0
                took = time.monotonic() - started
                with lock:
                    seen.statuses[status] += 1
                    seen.durations.append(took)
                    seen.longest_s = max(seen.longest_s, took)

    workers = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield seen
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=35)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold SQLite's write lock on ``path`` from another connection until the block ends."""
    db = sqlite3.connect(path, isolation_level=None, timeout=5.0)
    db.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


@contextlib.contextmanager
def fill_disk(pid: int, state_db: Path) -> Iterator[None]:
    """The disk is full for ``pid``: no file may grow beyond its size now (``prlimit FSIZE``)."""
    files = [state_db, Path(f"{state_db}-wal"), Path(f"{state_db}-shm")]
    size = max(f.stat().st_size for f in files if f.exists())
    before = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    # The soft limit only: lowering the hard one could not be undone without CAP_SYS_RESOURCE.
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (size, before[1]))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, before)


@contextlib.contextmanager
def own_filesystem(directory: Path, size: str = "16m") -> Iterator[Path]:
    """A small tmpfs mounted at ``directory`` for the block (skips the
    test where mount is refused)."""
    directory.mkdir(parents=True, exist_ok=True)
    argv = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a filesystem here: {done.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, check=False)


@contextlib.contextmanager
def full_filesystem(directory: Path) -> Iterator[None]:
    """Fill the filesystem holding ``directory`` until a write fails with ENOSPC; free it after."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (1 << 16, 512):  # large blocks, then the last bytes
            with contextlib.suppress(OSError):
                while os.write(fd, b"\0" * block):
                    pass
        with pytest.raises(OSError, match="No space left") as caught:
            os.write(fd, b"\0")
        assert caught.value.errno == errno.ENOSPC, caught.value
    finally:
        os.close(fd)
    try:
        yield
    finally:
        filler.unlink()
