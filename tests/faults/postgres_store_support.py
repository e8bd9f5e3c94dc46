"""A real ``cutover gateway`` whose state store is a real PostgreSQL, and a load that times every
GET.

The server is a :class:`~tests.support.postgres.PostgresServer` of the test's own (the faults stop
and kill it), the gateway and its two upstreams are the ones of
:mod:`tests.faults.state_store_support`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import psycopg
import yaml

from migration.cli.processes import free_port
from tests.e2e.stack import BackendPorts, GatewayProcess, gateway_yaml
from tests.faults.state_store_support import Stack, TimedLoad, steady_load
from tests.faults.upstream_support import UpstreamProcess, upstream_process
from tests.support.postgres import PostgresServer

__all__ = ["PgStack", "TimedLoad", "pg_stack", "steady_load", "write_config"]


class PgStack(Stack):
    """The gateway process over PostgreSQL; ``stored_events`` reads the database itself."""

    def __init__(
        self,
        gateway: GatewayProcess,
        server: PostgresServer,
        url: str,
        upstreams: list[UpstreamProcess],
    ) -> None:
        super().__init__(gateway, Path("/nonexistent"), upstreams)
        self.server = server
        self.url = url

    def stored_events(self) -> list[str]:
        """Event kinds in the database (a separate connection, as an auditor would)."""
        with psycopg.connect(self.url, connect_timeout=5) as conn:
            rows = conn.execute("SELECT kind FROM migration_event ORDER BY id").fetchall()
        return [str(kind) for (kind,) in rows]


def write_config(path: Path, ports: BackendPorts, public: int, admin: int, state_db: str) -> None:
    """The e2e gateway config with ``migration.state_db`` set to ``state_db`` (a URL)."""
    data = yaml.safe_load(gateway_yaml(ports, public, admin, Path("unused"), shadow_percent=0))
    data["migration"]["state_db"] = state_db
    data["migration"]["snapshot_cache"] = str(path.parent / "config-snapshot.json")
    path.write_text(yaml.safe_dump(data), "utf-8")


@contextlib.contextmanager
def pg_stack(tmp_path: Path, server: PostgresServer) -> Iterator[PgStack]:
    """Two ``ok`` upstreams and a started ``cutover gateway`` storing its state in ``server``."""
    with upstream_process("baseline") as base, upstream_process("candidate") as cand:
        public, admin = free_port(), free_port()
        config = tmp_path / "gateway.yaml"
        write_config(config, BackendPorts(base.port, cand.port), public, admin, server.url())
        gateway = GatewayProcess(config, public, admin, tmp_path / "gateway.log")
        gateway.start()
        running = PgStack(gateway, server, server.url(), [base, cand])
        try:
            yield running
        finally:
            running.admin.close()
            gateway.stop()
