"""PostgresStore's own parts: the URL (parsing, redaction, timeouts), and calls bounded by a
deadline.

What every store promises is in ``test_store_contract.py``; a real gateway over a frozen or killed
PostgreSQL is in ``tests/faults/test_postgres_store.py``.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from gateway.config import ConfigError
from migration.plan import Plan, Step
from migration.runtime import parse_migration_settings
from migration.state import Event, MigrationState, Phase
from migration.store_postgres import PostgresStore, connection_params, redact_url
from migration.store_sql import StateStoreError
from tests.support.postgres import (  # noqa: F401
    PASSWORD,
    USER,
    PostgresServer,
    postgres_server,
    running_server,
)

STATE = MigrationState("api", Plan("api", (Step(1000),)), Phase.RUNNING, 0, 1000, 0.0)


def test_the_password_is_redacted_wherever_the_url_puts_it() -> None:
    """User-info and ``password=`` parameters become ``***``; URLs without one are unchanged."""
    assert redact_url("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert (
        redact_url("postgres://u:p%40w@h/db?sslmode=require")
        == "postgres://u:***@h/db?sslmode=require"
    )
    assert redact_url("postgresql://h/db?user=u&password=pw&x=1") == (
        "postgresql://h/db?user=u&password=***&x=1"
    )
    assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact_url("postgresql://") == "postgresql://"


def test_connection_params_bound_every_wait_and_let_the_url_override() -> None:
    """Timeouts and keepalives are set unless the URL sets them; the URL's options come last."""
    params = connection_params(
        "postgresql://u@h/db?connect_timeout=7&options=-cstatement_timeout%3D5000"
    )
    assert params["connect_timeout"] == "7"
    assert params["keepalives"] == "1"
    assert params["tcp_user_timeout"] == "3000"
    assert params["options"].startswith("-c statement_timeout=1000 -c lock_timeout=200")
    assert params["options"].endswith("-cstatement_timeout=5000")  # later -c wins in PostgreSQL
    assert "password" not in connection_params("postgresql://u@h/db")  # libpq reads PGPASSWORD


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:hunter22@h:port/db",
        "postgresql://u:hunter22@h:99999/db",
        "postgresql://u:hunter22@h/db?no_such_option=1",
    ],
)
def test_a_malformed_url_is_refused_without_its_password(url: str) -> None:
    """A bad port or unknown parameter: StateStoreError in one line, the password not in it."""
    with pytest.raises(StateStoreError) as caught:
        connection_params(url)
    message = str(caught.value)
    assert message.startswith("not a valid PostgreSQL URL (postgresql://u:***@h")
    assert "hunter22" not in message
    assert "\n" not in message


def test_state_db_takes_a_url_as_is_and_refuses_other_schemes() -> None:
    """A postgresql:// URL stays a string (no Path mangling); mysql:// is a ConfigError, named."""
    url = "postgres://u@db.internal:5432/cutover"
    assert parse_migration_settings({"state_db": url}, ["api"]).state_db == url
    with pytest.raises(ConfigError, match=r"^migration\.state_db: expected a file path"):
        parse_migration_settings({"state_db": "mysql://u:pw@h/db"}, ["api"])
    with pytest.raises(ConfigError, match=r"^migration\.state_db: not a valid PostgreSQL URL"):
        parse_migration_settings({"state_db": "postgresql://u:pw@h:x/db"}, ["api"])


@pytest.fixture
def own_server() -> Iterator[PostgresServer]:
    """A server this test may freeze and kill."""
    with running_server() as server:
        yield server


def test_a_frozen_server_costs_one_short_wait_and_no_write_lands_twice(
    own_server: PostgresServer,
) -> None:
    """SIGSTOP: first call fails at the deadline, later ones at once; the lost commit rolls back."""
    store = PostgresStore(own_server.url(), call_timeout_s=0.2)
    own_server.signal(signal.SIGSTOP)
    started = time.monotonic()
    event = Event("api", 1.0, "rolled_back", Phase.ROLLED_BACK, 0, 0, ("frozen",))
    with pytest.raises(StateStoreError, match=r"no answer within 0\.2s"):
        store.commit(STATE, [event])
    first = time.monotonic() - started
    started = time.monotonic()
    with pytest.raises(StateStoreError, match="no answer to a call made"):
        store.load("api")
    second = time.monotonic() - started
    assert 0.2 <= first < 0.5
    assert second < 0.05
    own_server.signal(signal.SIGCONT)
    deadline = time.monotonic() + 5
    while True:  # the abandoned call finishes (rolled back), then calls go through again
        try:
            assert store.events() == []
            break
        except StateStoreError:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    store.commit(STATE, [event])  # the retry BufferedStore would make
    assert store.events() == [event]
    store.close()


def test_a_killed_server_fails_calls_fast_and_is_reconnected_after_restart(
    own_server: PostgresServer,
) -> None:
    """SIGKILL: calls fail at once with one line (connection refused); after a restart they work."""
    store = PostgresStore(own_server.url())
    store.commit(STATE)
    own_server.kill()
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(StateStoreError) as caught:
            store.load("api")
        assert time.monotonic() - started < 0.3
        assert "\n" not in str(caught.value)
    own_server.start()
    assert store.load("api") == STATE
    store.close()


def test_the_password_can_come_from_pgpassword(
    postgres_server: PostgresServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A URL without a password works with libpq's PGPASSWORD, so the config need not hold it."""
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    schema = postgres_server.create_schema()
    url = f"postgresql://{USER}@127.0.0.1:{postgres_server.port}/postgres"
    store = PostgresStore(f"{url}?options=-csearch_path%3D{schema}")
    store.save_weight("api", 100)
    assert store.load_weights() == {"api": 100}
    store.close()
    monkeypatch.delenv("PGPASSWORD")
    with pytest.raises(StateStoreError, match="password"):
        PostgresStore(url)
