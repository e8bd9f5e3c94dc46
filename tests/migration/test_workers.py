"""``cutover gateway --workers N``: restart policy as plain values, then real processes on loopback.

The real tests run ``python -m migration.cli.main gateway --workers 2`` over two upstream processes
(:mod:`tests.faults.upstream_support`) and look at it from outside, as an operator would: the public
port, the admin ``/metrics``, the process table (``/proc``) and the JSON log lines.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from migration.workers import (
    RESTART_MAX_S,
    WorkerSpec,
    describe_exit,
    reserve_port,
    restart_delay,
)
from tests.faults.upstream_support import UpstreamProcess, upstream_process
from tests.support.servers import free_port

# --------------------------------------------------------------------------- plain values


@pytest.mark.parametrize(
    ("failures", "delay"), [(1, 0.5), (2, 1.0), (3, 2.0), (5, 8.0), (6, 10.0), (40, 10.0)]
)
def test_restart_delay_doubles_to_a_ceiling(failures: int, delay: float) -> None:
    """Restarts back off from 0.5 s, doubling per failure in a row, never beyond 10 s."""
    assert restart_delay(failures) == delay <= RESTART_MAX_S


@pytest.mark.parametrize(
    ("code", "text"), [(0, "exit 0"), (3, "exit 3"), (-9, "signal SIGKILL"), (None, "running")]
)
def test_exits_are_described_by_code_or_signal(code: int | None, text: str) -> None:
    """A worker's end is logged as its exit code or the signal that ended it."""
    assert describe_exit(code) == text


def test_a_reserved_port_takes_no_connections_but_holds_the_number() -> None:
    """Port 0 becomes one number, bound (not listening): connects are refused, workers can join."""
    reserved = reserve_port("127.0.0.1", 0)
    try:
        port = reserved.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        joined = socket.socket()
        joined.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        joined.bind(("127.0.0.1", port))  # what a worker's reuse_port listener does
        joined.close()
    finally:
        reserved.close()


def test_a_taken_port_fails_the_reservation() -> None:
    """A public port another program listens on stops start-up before any worker is spawned."""
    with (
        socket.create_server(("127.0.0.1", 0)) as taken,
        pytest.raises(OSError, match="in use"),
    ):
        reserve_port("127.0.0.1", taken.getsockname()[1]).close()


def test_worker_argv_names_its_slot_and_replica() -> None:
    """Worker i runs migration.worker_child on the reserved port as replica ``<replica>/w<i>``."""
    argv = WorkerSpec("gw.yaml", 8080, "host-a", "json").argv(1, 7)
    assert argv[:3] == [sys.executable, "-m", "migration.worker_child"]
    options = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert options == {
        "--index": "1",
        "--public-port": "8080",
        "--replica": "host-a/w1",
        "--report-fd": "7",
        "--parent": str(os.getpid()),
        "--log-format": "json",
        "--config": "gw.yaml",
    }


# --------------------------------------------------------------------------- real processes

STARTUP_S = 90.0
HEALTH = "/api/v1/system/health"


def _children(pid: int) -> list[int]:
    """Worker processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"migration.worker_child" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


@dataclass
class Workers:
    """A running ``cutover gateway --workers 2`` and its addresses."""

    proc: subprocess.Popen[bytes]
    public: str
    admin: str
    log: Path

    def samples(self, name: str) -> list[tuple[dict[str, str], float]]:
        text = httpx.get(f"{self.admin}/metrics", timeout=5).text
        return [
            (s.labels, s.value)
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == name
        ]

    def events(self, name: str) -> list[dict[str, object]]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"{name}"' in line:
                out.append(json.loads(line))
        return [e for e in out if e.get("event") == name]

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def upstreams() -> Iterator[tuple[UpstreamProcess, UpstreamProcess]]:
    with upstream_process("baseline") as base, upstream_process("candidate") as cand:
        yield base, cand


def _start(tmp: Path, ups: tuple[UpstreamProcess, UpstreamProcess]) -> Workers:
    public, admin = free_port(), free_port()
    config = {
        "upstreams": {"baseline": {"url": ups[0].url}, "candidate": {"url": ups[1].url}},
        "listeners": {
            "public": {"host": "127.0.0.1", "port": public},
            "admin": {"host": "127.0.0.1", "port": admin},
        },
        "routes": [{"name": "default", "paths": ["/*"], "shadow": {"percent": 10}}],
        "admin_token": "t",
        "migration": {"state_db": str(tmp / "migration.db"), "memory_scrape": False},
    }
    path = tmp / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    log = tmp / "gateway.log"
    argv = [sys.executable, "-m", "migration.cli.main", "gateway", "--config", str(path)]
    argv += ["--workers", "2", "--log-format", "json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUTOVER_")}
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    workers = Workers(proc, f"http://127.0.0.1:{public}", f"http://127.0.0.1:{admin}", log)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"supervisor exited {proc.returncode}:\n{workers.tail()}")
        try:
            return httpx.get(f"{workers.admin}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _until(ready, STARTUP_S, "workers not ready")
    except BaseException:
        _stop(workers)  # never leave a supervisor (and its workers) behind a failed start
        raise
    return workers


def _stop(workers: Workers) -> None:
    if workers.proc.poll() is None:
        workers.proc.terminate()
        try:
            workers.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            workers.proc.kill()
            workers.proc.wait()


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory,
    upstreams: tuple[UpstreamProcess, UpstreamProcess],
) -> Iterator[Workers]:
    workers = _start(tmp_path_factory.mktemp("workers"), upstreams)
    try:
        yield workers
    finally:
        _stop(workers)


def _fresh_connection_gets(url: str, count: int) -> list[int]:
    """``count`` GETs, each on a new connection (SO_REUSEPORT balances
    connections, not requests)."""
    statuses = []
    for _ in range(count):
        with httpx.Client(timeout=5) as client:
            statuses.append(client.get(f"{url}{HEALTH}").status_code)
    return statuses


def _requests_by_worker(workers: Workers) -> dict[str, float]:
    counts: dict[str, float] = {}
    for labels, value in workers.samples("cutover_requests_total"):
        counts[labels["worker"]] = counts.get(labels["worker"], 0) + value
    return counts


@pytest.mark.integration
def test_both_workers_serve_one_port(running: Workers) -> None:
    """New connections to the one public port spread over both workers; every answer is a 200."""
    assert _fresh_connection_gets(running.public, 120) == [200] * 120
    counts = _requests_by_worker(running)
    assert set(counts) == {"0", "1"}
    assert all(c > 0 for c in counts.values()), counts
    assert sum(counts.values()) >= 120


@pytest.mark.integration
def test_metrics_carry_worker_labels_and_parse(running: Workers) -> None:
    """The admin /metrics parses, has one HELP/TYPE per family, worker labels and worker gauges."""
    text = httpx.get(f"{running.admin}/metrics", timeout=5).text
    families = list(text_string_to_metric_families(text))
    names = [f.name for f in families]
    assert len(names) == len(set(names))
    types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
    assert len(types) == len(set(types))
    assert running.samples("cutover_workers") == [({}, 2.0)]
    assert sorted(running.samples("cutover_worker_up"), key=lambda s: s[0]["worker"]) == [
        ({"worker": "0"}, 1.0),
        ({"worker": "1"}, 1.0),
    ]
    labelled = {s.labels.get("worker") for f in families for s in f.samples}
    assert {"0", "1"} <= labelled
    promtool = (
        subprocess.run(
            ["promtool", "check", "metrics"], input=text.encode(), capture_output=True, check=False
        )
        if _has("promtool")
        else None
    )
    if promtool is not None:
        assert promtool.returncode == 0, promtool.stdout + promtool.stderr


def _has(program: str) -> bool:
    return any(Path(d, program).exists() for d in os.environ.get("PATH", "").split(os.pathsep))


@pytest.mark.integration
def test_a_killed_worker_is_restarted_and_clients_keep_being_served(running: Workers) -> None:
    """kill -9 of one worker: a new one replaces it, counted; clients only lose what it held."""
    before = _children(running.proc.pid)
    assert len(before) == 2
    statuses: list[int | str] = []
    stop = threading.Event()

    host, port = running.public.removeprefix("http://").split(":")

    def fresh_connections() -> None:
        while not stop.is_set():
            try:  # a new connection each time: the kernel picks a worker for each
                with httpx.Client(timeout=5) as client:
                    statuses.append(client.get(f"{running.public}{HEALTH}").status_code)
            except httpx.HTTPError as exc:
                statuses.append(type(exc).__name__)

    def keep_alive() -> None:
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        while not stop.is_set():
            try:
                conn.request("GET", HEALTH)
                response = conn.getresponse()
                response.read()
                statuses.append(response.status)
            except (OSError, http.client.HTTPException) as exc:
                statuses.append(type(exc).__name__)
                conn.close()  # it was held by the killed worker: open another
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.close()

    threads = [threading.Thread(target=f) for f in (fresh_connections, keep_alive) * 2]
    for thread in threads:
        thread.start()
    try:
        _until(lambda: len(statuses) > 50, 20, "no load")
        os.kill(before[0], signal.SIGKILL)
        _until(
            lambda: len(_children(running.proc.pid)) == 2 and _children(running.proc.pid) != before,
            30,
            "worker not restarted",
        )
        _until(lambda: len(running.events("worker_restarted")) == 1, 30, "no restart logged")
        after_restart = len(statuses)
        _until(lambda: len(statuses) > after_restart + 50, 20, "no load after the restart")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    errors = [s for s in statuses if s != 200]
    assert len(errors) <= len(threads), errors  # at most the connections the dead worker held
    assert all(s == 200 for s in statuses[after_restart:])
    exited = running.events("worker_exited")
    assert exited[-1]["exit"] == "signal SIGKILL"
    assert exited[-1]["pid"] == before[0]
    assert sum(v for _, v in running.samples("cutover_worker_restarts_total")) == 1
    assert [v for _, v in running.samples("cutover_worker_up")] == [1.0, 1.0]


@pytest.mark.integration
def test_sigterm_stops_every_process_cleanly(
    tmp_path: Path, upstreams: tuple[UpstreamProcess, UpstreamProcess]
) -> None:
    """SIGTERM to the supervisor: workers stop (exit 0), then the supervisor, within 10 s."""
    workers = _start(tmp_path, upstreams)
    try:
        children = _children(workers.proc.pid)
        assert len(children) == 2
        t0 = time.monotonic()
        workers.proc.send_signal(signal.SIGTERM)
        assert workers.proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 10
        assert not any(_alive(pid) for pid in children)
        assert workers.events("workers_stopped")[-1]["exits"] == ["exit 0", "exit 0"]
    finally:
        _stop(workers)


@pytest.mark.integration
def test_workers_exit_when_the_supervisor_is_killed(
    tmp_path: Path, upstreams: tuple[UpstreamProcess, UpstreamProcess]
) -> None:
    """kill -9 of the supervisor leaves no orphan worker serving weights nobody updates."""
    workers = _start(tmp_path, upstreams)
    try:
        children = _children(workers.proc.pid)
        assert len(children) == 2
        workers.proc.kill()
        workers.proc.wait(timeout=10)
        _until(lambda: not any(_alive(pid) for pid in children), 15, "orphaned workers")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{workers.public}{HEALTH}", timeout=2)
    finally:
        _stop(workers)
