"""``cutover gateway --workers N``: N data-plane processes on one public port, one supervisor.

One gateway process serves what one core can. With ``workers: N`` (or ``auto``: the CPUs of the
process' affinity) the supervisor — the process the operator started — runs:

* N **workers** (:mod:`migration.worker_child`, ``CutoverRuntime(role=Role.WORKER)``, replica
  ``<replica>/w<i>``): each binds the public port with ``SO_REUSEPORT``, so the kernel spreads new
  connections over them, and a metrics-only admin listener on ``127.0.0.1:0``;
* itself, the **primary** (``CutoverRuntime(role=Role.PRIMARY)``): the configured admin API and the
  only controller of the host (it may lead); no public listener. Workers share the state store with
  it (evidence, lease, config snapshot): nothing else passes between the processes.

Decisions:

* **The port.** The supervisor binds the public address first with ``SO_REUSEPORT`` and keeps that
  socket bound but never listening until it exits: a configured port that is taken fails start-up at
  once, and a port 0 becomes one number, held, that every worker binds (a non-listening socket gets
  no connections). The primary's ``gateway.public_port`` is that number.
* **Ready report.** A worker gets the write end of a pipe (``--report-fd``, ``pass_fds``) and writes
  one JSON line ``{"admin_port": P, "pid": N}`` once its runtime has started; EOF before the line
  means it failed. The supervisor's ``/readyz`` answers 503 until every worker has reported.
* **Restarts.** A worker that exits while the supervisor is not stopping is started again after
  0.5 s, doubling per consecutive failure to 10 s (back to 0.5 s once a worker ran 30 s), logged as
  ``worker_exited`` with its exit code or signal and counted in ``cutover_worker_restarts_total``.
  Only the first start is fatal: N processes that cannot start are a configuration problem.
* **Stopping.** SIGTERM/SIGINT to the supervisor sends SIGTERM to every worker, waits up to 10 s,
  SIGKILLs the rest, then stops the primary. Workers ignore SIGINT (a terminal sends it to the whole
  group; the supervisor decides). A supervisor killed outright takes its workers with it:
  ``PR_SET_PDEATHSIG`` (Linux) delivers SIGTERM to each, and a once-a-second ``getppid()`` check
  covers the rest — no orphan keeps serving weights nobody updates.
* **Metrics.** The primary's ``GET /metrics`` merges every worker's
  (:mod:`migration.worker_metrics`).
* **Shadow sidecar: one per worker** (what each runtime does by itself; the primary has none).
  Measured on this 2-core host, shadowing 100 % of ``GET``s to two loopback upstreams, 16,000
  requests over 8 keep-alive clients on the same cores: the sidecars' CPU per request is the same
  with one worker (74 µs) as with two (71 µs, summed over both sidecars), the workers' own about 70
  to 80 µs; an idle sidecar costs ~0.002 CPU-s/s and ~57 MiB RSS. A sidecar per host would save only
  that memory, and would put every worker's shadow work on one core — the first thing to drop
  shadows on a many-core host — behind a second hop. So no per-host sidecar.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import structlog

from gateway.config import GatewayConfig, ListenerConfig

log = structlog.get_logger("cutover.workers")

#: First restart delay and its ceiling; a worker that ran this long starts from the first again.
RESTART_FIRST_S = 0.5
RESTART_MAX_S = 10.0
STABLE_S = 30.0
STOP_GRACE_S = 10.0
READY_TIMEOUT_S = 60.0


class WorkerFailed(Exception):
    """A worker exited (or timed out) before it reported ready."""


def restart_delay(failures: int) -> float:
    """Seconds before restart number ``failures`` (1, 2, ...) of a worker in a row."""
    growth: float = 2 ** max(failures - 1, 0)
    return min(RESTART_FIRST_S * growth, RESTART_MAX_S)


def describe_exit(returncode: int | None) -> str:
    """``exit 3`` or ``signal SIGKILL`` for a process' return code."""
    if returncode is None:
        return "running"
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-returncode).name}"
        return f"signal {-returncode}"
    return f"exit {returncode}"


def reserve_port(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``, not listening (``OSError`` if
    taken)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


@dataclass(frozen=True)
class WorkerSpec:
    """What every worker is started with (its index added per process)."""

    config_path: str | None
    public_port: int
    replica: str
    log_format: str

    def argv(self, index: int, report_fd: int) -> list[str]:
        """``python -m migration.worker_child ...`` for worker ``index``."""
        argv = [sys.executable, "-m", "migration.worker_child", "--index", str(index)]
        argv += ["--public-port", str(self.public_port), "--replica", f"{self.replica}/w{index}"]
        argv += ["--report-fd", str(report_fd), "--parent", str(os.getpid())]
        argv += ["--log-format", self.log_format]
        if self.config_path is not None:
            argv += ["--config", self.config_path]
        return argv


class Worker:
    """One worker slot: its current process, started again by :class:`Supervisor` when it dies."""

    def __init__(self, index: int, spec: WorkerSpec) -> None:
        self.index = index
        self.spec = spec
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, timeout_s: float = READY_TIMEOUT_S) -> int:
        """Spawn the process and wait for its ready line; returns its metrics (admin) port."""
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.spec.argv(self.index, write_fd),
                pass_fds=(write_fd,),
                stdin=asyncio.subprocess.DEVNULL,
            )
        finally:
            os.close(write_fd)
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0)
        )
        try:
            line = await asyncio.wait_for(reader.readline(), timeout_s)
        except TimeoutError:
            line = b""
        finally:
            transport.close()
        if not line:
            await self.terminate(kill_after_s=1.0)
            raise WorkerFailed(f"worker {self.index} did not start ({self.exit})")
        return int(json.loads(line)["admin_port"])

    @property
    def exit(self) -> str:
        """How the current process ended (``running`` if it has not)."""
        return describe_exit(self.process.returncode if self.process else None)

    async def wait(self) -> int:
        assert self.process is not None
        return await self.process.wait()

    async def terminate(self, kill_after_s: float = STOP_GRACE_S) -> None:
        """SIGTERM, then SIGKILL if it has not exited after ``kill_after_s``."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), kill_after_s)
        except TimeoutError:
            log.warning("worker_killed", worker=self.index, pid=process.pid, after_s=kill_after_s)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


class Supervisor:
    """Starts N workers, restarts the ones that die, stops them all.

    ``on_port(index, port | None)`` hears every worker's metrics port as it reports ready, and
    ``None`` when it exits; ``on_restart(index)`` every restart.
    """

    def __init__(
        self,
        spec: WorkerSpec,
        count: int,
        *,
        on_port: Callable[[int, int | None], None],
        on_restart: Callable[[int], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workers = [Worker(i, spec) for i in range(count)]
        self._on_port = on_port
        self._on_restart = on_restart
        self._clock = clock
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def pids(self) -> list[int | None]:
        return [w.process.pid if w.process else None for w in self.workers]

    async def start(self) -> None:
        """Start every worker and wait until each is ready (:class:`WorkerFailed` if one is not)."""
        ports = await asyncio.gather(*(w.start() for w in self.workers), return_exceptions=True)
        failed = [p for p in ports if isinstance(p, BaseException)]
        if failed:
            raise failed[0]
        for worker, port in zip(self.workers, ports, strict=True):
            assert isinstance(port, int)
            self._on_port(worker.index, port)
            task = asyncio.create_task(self._keep(worker), name=f"worker-{worker.index}")
            self._tasks.append(task)

    async def _keep(self, worker: Worker) -> None:
        """Wait for the worker to exit; start it again (with backoff) unless stopping."""
        failures = 0
        started = self._clock()
        while True:
            await worker.wait()
            self._on_port(worker.index, None)
            if self._stopping.is_set():
                return
            failures = 1 if self._clock() - started >= STABLE_S else failures + 1
            delay = restart_delay(failures)
            pid = worker.process.pid if worker.process else None
            log.error(
                "worker_exited",
                worker=worker.index,
                pid=pid,
                exit=worker.exit,
                restart_in_s=delay,
            )
            self._on_restart(worker.index)
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                if self._stopping.is_set():
                    return
                started = self._clock()
                try:
                    port = await worker.start()
                except WorkerFailed as exc:
                    failures += 1
                    delay = restart_delay(failures)
                    log.error(
                        "worker_restart_failed",
                        worker=worker.index,
                        error=str(exc),
                        restart_in_s=delay,
                    )
                    self._on_restart(worker.index)
                    continue
                self._on_port(worker.index, port)
                log.info(
                    "worker_restarted",
                    worker=worker.index,
                    pid=worker.process.pid if worker.process else None,
                )
                break

    async def stop(self) -> None:
        """SIGTERM every worker, SIGKILL after the grace period, end the supervision tasks."""
        self._stopping.set()
        await asyncio.gather(*(w.terminate() for w in self.workers))
        if self._tasks:
            log.info("workers_stopped", exits=[w.exit for w in self.workers])
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()


def with_public_port(config: GatewayConfig, port: int) -> GatewayConfig:
    """``config`` listening publicly on ``port`` (the reserved one)."""
    listeners = replace(config.listeners, public=ListenerConfig(config.public.host, port))
    return replace(config, listeners=listeners)


def run_workers(
    config_path: str | None,
    config: GatewayConfig,
    count: int,
    *,
    replica: str | None = None,
    log_format: str = "auto",
    signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM),
) -> int:
    """Blocking entry point of ``cutover gateway --workers N`` (N > 1); returns the exit code."""
    import httpx
    import uvloop

    from gateway.commands import configure_logging
    from gateway.config import ConfigError
    from migration.cluster.seams import Role
    from migration.cluster.wiring import default_replica_name
    from migration.runtime import CutoverRuntime
    from migration.worker_metrics import WorkerMetrics

    try:
        reserved = reserve_port(config.public.host, config.public.port)
    except OSError as exc:
        print(f"cutover gateway: cannot listen: {exc}", file=sys.stderr)
        return 1
    port = reserved.getsockname()[1]
    config = with_public_port(config, port)
    replica = replica or default_replica_name()
    try:
        runtime = CutoverRuntime(config, role=Role.PRIMARY, replica=replica)
    except ConfigError as exc:
        reserved.close()
        print(f"cutover gateway: {exc}", file=sys.stderr)
        return 2
    configure_logging(log_format)
    spec = WorkerSpec(config_path, port, replica, log_format)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        http = httpx.AsyncClient()
        metrics = WorkerMetrics(runtime.registry, count, http)
        metrics.install(runtime.gateway.router)
        supervisor = Supervisor(
            spec,
            count,
            on_port=metrics.set_port,
            on_restart=lambda i: metrics.restarts.labels(str(i)).inc(),
        )
        await runtime.start()
        runtime.gateway.state.ready = False  # until every worker serves
        try:
            starting = asyncio.create_task(supervisor.start())
            stopped = asyncio.create_task(stop.wait())
            await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                return 0
            stopped.cancel()
            try:
                starting.result()
            except WorkerFailed as exc:
                print(f"cutover gateway: {exc}", file=sys.stderr)
                return 1
            runtime.gateway.state.ready = True
            log.info(
                "workers_started",
                workers=count,
                pids=supervisor.pids,
                replica=replica,
                public=f"{config.public.host}:{port}",
                admin_port=runtime.gateway.admin_port,
            )
            await stop.wait()
            return 0
        finally:
            await supervisor.stop()
            await runtime.stop()
            await http.aclose()

    try:
        return uvloop.run(main())
    except OSError as exc:
        print(f"cutover gateway: cannot listen: {exc}", file=sys.stderr)
        return 1
    finally:
        reserved.close()
