"""A real PostgreSQL server in a temporary directory: Debian's package, ``initdb``, ``postgres``.

Used by the tests (:mod:`tests.support.postgres` wraps it in fixtures that skip when PostgreSQL is
missing) and by ``python -m bench replicas``, which runs outside pytest: so this module does not
import pytest, and a missing installation is a plain :class:`PostgresMissing`.

:class:`PostgresServer` runs ``initdb`` (password authentication over TCP, so a wrong password is
refused as in production; trust on the unix socket, which lives in the same temporary directory)
and starts ``postgres`` on a free port of 127.0.0.1. ``initdb`` refuses to run as root, so as root
both run as the ``postgres`` system user the package creates (``runuser -u postgres --``), with the
directory chowned to it. The server's processes are found from its ``postmaster.pid`` (each backend
is a session leader of its own, so no process group holds them all), so a fault test can SIGSTOP or
SIGKILL all of it at once. ``fsync=off``: a commit reaches the page cache, not the disk, so it
survives a killed server (``synchronous_commit`` stays on for that), not an OS crash; these
servers die with the test or the bench.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg

from migration.cli.processes import free_port

__all__ = ["PASSWORD", "USER", "PostgresMissing", "PostgresServer", "running_server"]

USER = "cutover"
PASSWORD = "s3cret-pg-pass"
STARTUP_TIMEOUT_S = 20.0


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries are not installed (``/usr/lib/postgresql/*/bin``)."""


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text("utf-8")
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class PostgresServer:
    """One ``postgres`` in a temporary directory; :meth:`start` / :meth:`stop` / signals."""

    def __init__(self, base: Path | None = None) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise PostgresMissing(
                "PostgreSQL is not installed (Debian package postgresql; make deps)"
            )
        self.bin = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="cutover-pg-", dir=base))
        self.data = self.dir / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._as_root = os.geteuid() == 0
        (self.dir / "pwfile").write_text(PASSWORD + "\n", "utf-8")
        if self._as_root:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.dir / "pwfile", "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", USER,
            f"--pwfile={self.dir / 'pwfile'}", "--auth-host=scram-sha-256", "--auth-local=trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip

    def _argv(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self._as_root else list(argv)

    def _run(self, *argv: str) -> None:
        done = subprocess.run(self._argv(*argv), capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout}{done.stderr}")

    def url(self, *, password: str = PASSWORD, options: str = "") -> str:
        """A TCP URL to the ``postgres`` database (``options``: e.g. a search_path)."""
        query = f"?options={options}" if options else ""
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/postgres{query}"

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        log = open(self.dir / "postgres.log", "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            self._argv(
                str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
                "-k", str(self.dir), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                "-c", "full_page_writes=off",
            ),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start:\n{self.log_tail()}") from None
                time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        path = self.dir / "postgres.log"
        text = path.read_text("utf-8", "replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def postmaster_pid(self) -> int:
        """The postmaster's pid (under runuser, not ``proc.pid``)."""
        return int((self.data / "postmaster.pid").read_text("utf-8").split()[0])

    def pids(self) -> list[int]:
        """The postmaster and its children (each backend is a session leader of its own)."""
        postmaster = self.postmaster_pid()
        found = [postmaster]
        for stat in glob.glob("/proc/[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = Path(stat).read_text("utf-8").rsplit(")", 1)[1].split()
                if int(fields[1]) == postmaster:  # fields: state, ppid, ...
                    found.append(int(Path(stat).parent.name))
        return found

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` to every process of the server (postmaster, backends, runuser)."""
        assert self.proc is not None
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL every process of the server, as a crash would (:meth:`start` recovers)."""
        assert self.proc is not None
        pids = self.pids()
        self.signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        # A killed postmaster orphaned under a PID 1 that reaps nothing stays a zombie whose pid
        # still "exists"; the lock files naming it would stop the restart.
        (self.data / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.dir.glob(".s.PGSQL.*"):
            lock.unlink(missing_ok=True)
        self.proc = None

    def stop(self) -> None:
        """Stop the server (fast shutdown; SIGKILL if it does not go)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, FileNotFoundError):
            self.signal(signal.SIGCONT)
            os.kill(self.postmaster_pid(), signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None

    def close(self) -> None:
        """Stop and remove the directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def create_schema(self) -> str:
        """A new empty schema; its name."""
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return name

    def has_table(self, schema: str, table: str) -> bool:
        """Whether ``schema.table`` exists (a test proves its store really is this server)."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            row = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (f"{schema}.{table}",)
            ).fetchone()
            return row is not None and bool(row[0])


@contextlib.contextmanager
def running_server(kind: type[PostgresServer] = PostgresServer) -> Iterator[PostgresServer]:
    """A started server of the caller's own (it may stop, freeze or kill it); removed at the end."""
    server = kind()
    try:
        server.start()
        yield server
    finally:
        server.close()
