"""The task store through the Engine: CRUD, filters, search, pagination, timestamps, sharing.

Every test that touches the store runs on both stores (``db_path`` is a SQLite file or a URL to a
fresh schema of the session's real PostgreSQL server): one behaviour, two dialects (issue #13, item
8).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.config import EngineConfig
from engine.errors import EngineError, InvalidInput, NotFound
from engine.facade import Engine
from engine.timefmt import format_utc
from tests.engine.conftest import StepClock
from tests.support.postgres import PASSWORD, PostgresServer


@pytest.fixture
def db_path(either_store: Path | str) -> Path | str:
    """Every test here runs on both stores."""
    return either_store


@pytest.fixture
def clocked(project: Path, db_path: Path | str) -> Iterator[Engine]:
    """An Engine whose clock moves one second per reading."""
    eng = Engine(EngineConfig(project_root=project, database=db_path), clock=StepClock())
    yield eng
    eng.close()


def test_create_defaults_and_shape(engine: Engine) -> None:
    """A new task is open, has defaults filled in, a uuid4 hex id and equal Z timestamps."""
    task = engine.create_task({"title": "Write docs", "ignored_extra": 1})
    assert list(task) == [
        "id",
        "title",
        "description",
        "status",
        "priority",
        "tags",
        "estimated_effort",
        "created_at",
        "updated_at",
    ]
    assert re.fullmatch(r"[0-9a-f]{32}", task["id"])
    assert task["status"] == "open"
    assert (task["description"], task["priority"], task["tags"], task["estimated_effort"]) == (
        "",
        "medium",
        [],
        None,
    )
    assert task["created_at"] == task["updated_at"]
    assert task["created_at"].endswith("Z")
    assert engine.get_task(task["id"]) == task


def test_timestamp_format_matches_pydantic() -> None:
    """Microseconds are printed only when non-zero, UTC as Z."""
    assert format_utc(datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)) == "2026-11-25T12:00:00Z"
    moment = datetime(2026, 11, 25, 12, 0, 0, 120000, tzinfo=UTC)
    assert format_utc(moment) == "2026-11-25T12:00:00.120000Z"


def test_update_changes_only_given_fields(clocked: Engine) -> None:
    """PATCH semantics: given fields change, updated_at moves, created_at stays."""
    task = clocked.create_task({"title": "t", "tags": ["a"], "estimated_effort": "2h"})
    assert task["created_at"] == "2026-11-25T12:00:01Z"
    changed = clocked.update_task(task["id"], {"status": "in_progress", "estimated_effort": None})
    assert changed["status"] == "in_progress"
    assert changed["estimated_effort"] is None
    assert changed["tags"] == ["a"]
    assert changed["created_at"] == task["created_at"]
    assert changed["updated_at"] == "2026-11-25T12:00:02Z"
    assert clocked.update_task(task["id"], {}) == changed


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"title": ""},
        {"title": "x" * 201},
        {"title": 5},
        {"title": "t", "priority": "critical"},
        {"title": "t", "tags": "a"},
        {"title": "t", "description": "d" * 5001},
        {"title": "t", "estimated_effort": "e" * 51},
        {"title": "\ud800"},
        {"title": "t", "tags": ["ok", "\udfff"]},
        {"title": "t", "description": "x\ud800"},
    ],
)
def test_create_validates(engine: Engine, data: dict[str, object]) -> None:
    """Out-of-contract values (lone surrogates too: SQLite cannot store them): InvalidInput."""
    with pytest.raises(InvalidInput):
        engine.create_task(data)


def test_update_validates_and_missing_ids(engine: Engine) -> None:
    """Bad statuses are invalid; unknown ids are NotFound for get, update and delete."""
    task = engine.create_task({"title": "t"})
    with pytest.raises(InvalidInput, match="status"):
        engine.update_task(task["id"], {"status": "closed"})
    with pytest.raises(InvalidInput, match="title"):
        engine.update_task(task["id"], {"title": None})
    for call in (
        lambda: engine.get_task("0" * 32),
        lambda: engine.update_task("0" * 32, {"title": "x"}),
        lambda: engine.delete_task("0" * 32),
    ):
        with pytest.raises(NotFound, match="Task not found"):
            call()


def test_delete(engine: Engine) -> None:
    """A deleted task is gone."""
    task = engine.create_task({"title": "t"})
    engine.delete_task(task["id"])
    with pytest.raises(NotFound):
        engine.get_task(task["id"])


def test_list_filters_search_order_and_pages(clocked: Engine) -> None:
    """Filters combine, q is case-insensitive over title and description, newest first, paged."""
    a = clocked.create_task({"title": "Fix Login", "priority": "high", "tags": ["auth", "bug"]})
    b = clocked.create_task({"title": "Docs", "description": "explain LOGIN flow", "tags": ["doc"]})
    c = clocked.create_task({"title": "Ünïcode Straße", "priority": "high"})
    clocked.update_task(a["id"], {"status": "done"})

    def ids(**kwargs: object) -> list[str]:
        return [t["id"] for t in clocked.list_tasks(**kwargs)["items"]]  # type: ignore[arg-type]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(q="login") == [b["id"], a["id"]]
    assert ids(q="STRASSE") == [c["id"]]  # Unicode case folding: ß folds to ss
    assert ids(q="login flow") == [b["id"]]
    assert ids(q="ÜNÏ") == [c["id"]]
    assert ids(priority="high") == [c["id"], a["id"]]
    assert ids(status="done") == [a["id"]]
    assert ids(tag="bug") == [a["id"]]
    assert ids(tag="bu") == []
    assert ids(priority="high", status="open") == [c["id"]]
    page = clocked.list_tasks(limit=2, offset=1)
    assert [t["id"] for t in page["items"]] == [b["id"], a["id"]]
    assert (page["total"], page["limit"], page["offset"]) == (3, 2, 1)
    assert clocked.list_tasks(q="login", limit=1)["total"] == 2


def test_same_created_at_orders_by_id(project: Path, db_path: Path | str) -> None:
    """Tasks created in the same microsecond are ordered by id."""
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    ids = iter(["b" * 32, "a" * 32, "c" * 32])
    eng = Engine(EngineConfig(project, db_path), clock=lambda: moment, new_id=lambda: next(ids))
    try:
        for title in ("1", "2", "3"):
            eng.create_task({"title": title})
        assert [t["id"][0] for t in eng.list_tasks()["items"]] == ["a", "b", "c"]
    finally:
        eng.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"limit": 201},
        {"offset": -1},
        {"offset": 2**63},
        {"offset": 10**30},
        {"status": "x"},
        {"priority": "x"},
    ],
)
def test_list_refuses_bad_paging_and_enums(engine: Engine, kwargs: dict[str, object]) -> None:
    """limit 1..200, offset 0..2**63-1 (SQLite's INTEGER), known enums only."""
    with pytest.raises(InvalidInput):
        engine.list_tasks(**kwargs)  # type: ignore[arg-type]


def test_list_accepts_the_largest_offset(engine: Engine) -> None:
    """An offset of 2**63-1 is the store's bound and still answers (an empty page)."""
    page = engine.list_tasks(offset=2**63 - 1)
    assert (page["items"], page["offset"]) == ([], 2**63 - 1)


def test_two_engines_share_the_file(project: Path, db_path: Path | str) -> None:
    """A task written through one Engine is read, changed and counted through another."""
    one = Engine(EngineConfig(project, db_path))
    two = Engine(EngineConfig(project, db_path))
    try:
        task = one.create_task({"title": "shared"})
        assert two.get_task(task["id"])["title"] == "shared"
        two.update_task(task["id"], {"status": "done"})
        assert one.get_task(task["id"])["status"] == "done"
        assert one.status()["task_counts"] == {
            "open": 0,
            "in_progress": 0,
            "done": 1,
            "cancelled": 0,
        }
        if isinstance(db_path, Path):
            assert db_path.with_name(db_path.name + "-wal").exists()
    finally:
        one.close()
        two.close()


def test_concurrent_writers_lose_nothing(engine: Engine) -> None:
    """Threads writing through one Engine all land (the engine is thread-safe)."""

    def work(n: int) -> None:
        for i in range(10):
            engine.create_task({"title": f"{n}-{i}"})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert engine.list_tasks()["total"] == 40


def test_ids_are_uuid4() -> None:
    """uuid4_hex() parses as a version-4, RFC 4122 UUID."""
    import uuid

    from engine.ids import uuid4_hex

    for _ in range(50):
        value = uuid.UUID(hex=uuid4_hex())
        assert value.version == 4
        assert value.variant == uuid.RFC_4122


def test_two_engines_writing_at_once_lose_nothing(project: Path, db_path: Path | str) -> None:
    """Two Engines (two backends) creating, updating, deleting at once: each write lands once."""
    one = Engine(EngineConfig(project, db_path))
    two = Engine(EngineConfig(project, db_path))
    errors: list[BaseException] = []

    def work(eng: Engine, n: int) -> None:
        try:
            for i in range(10):
                task = eng.create_task({"title": f"{n}-{i}"})
                eng.update_task(task["id"], {"status": "done"})
                if i % 2:
                    eng.delete_task(task["id"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(eng, n)) for n, eng in enumerate([one, two] * 2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert one.status()["task_counts"]["done"] == two.list_tasks()["total"] == 20
    finally:
        one.close()
        two.close()


def test_tags_and_search_with_nul(engine: Engine) -> None:
    """A tag holding U+0000 is stored on both stores, the others still match; NUL finds no text."""
    task = engine.create_task({"title": "t", "tags": ["a\x00b", "c"]})
    assert engine.get_task(task["id"])["tags"] == ["a\x00b", "c"]
    assert [t["id"] for t in engine.list_tasks(tag="c")["items"]] == [task["id"]]
    assert engine.list_tasks(q="\x00")["total"] == 0


def test_postgres_refuses_nul_text(project: Path, postgres_server: PostgresServer) -> None:
    """PostgreSQL text cannot hold U+0000: a title or description with one is invalid input."""
    url = postgres_server.url(options=f"-csearch_path%3D{postgres_server.create_schema()}")
    eng = Engine(EngineConfig(project, url))
    try:
        with pytest.raises(InvalidInput, match=r"^title: must not contain NUL"):
            eng.create_task({"title": "a\x00"})
        task = eng.create_task({"title": "ok"})
        with pytest.raises(InvalidInput, match=r"^description: must not contain NUL"):
            eng.update_task(task["id"], {"description": "\x00"})
        assert eng.get_task(task["id"])["description"] == ""
    finally:
        eng.close()


def test_postgres_refuses_a_newer_schema(project: Path, postgres_server: PostgresServer) -> None:
    """A database written by a newer llmstruct (schema version above ours) is refused, not used."""
    import psycopg

    schema = postgres_server.create_schema()
    url = postgres_server.url(options=f"-csearch_path%3D{schema}")
    Engine(EngineConfig(project, url)).close()
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        conn.execute(f"UPDATE {schema}.data_version SET schema_version = 99")
    with pytest.raises(EngineError, match="schema version 99 is newer") as caught:
        Engine(EngineConfig(project, url))
    assert PASSWORD not in str(caught.value)
