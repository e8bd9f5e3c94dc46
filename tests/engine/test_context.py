"""Context modes, the FOCUSED ranking and the token budget."""

from __future__ import annotations

import pytest

from engine.context import build_context, relevance
from engine.errors import InvalidInput, PathOutsideRoot
from engine.facade import Engine
from engine.tokens import count_tokens

HEADERS = {"project": {"name": "p", "root": "/p"}, "scan": None}


def test_token_count_is_regex_over_compact_json() -> None:
    """One token per word or punctuation character of the compact JSON."""
    assert count_tokens({"a": "hello world"}) == len(
        ["{", '"', "a", '"', ":", '"', "hello", "world", '"', "}"]
    )


def test_full_runs_a_scan_when_there_is_none(engine: Engine) -> None:
    """FULL without a previous scan scans first and lists every scanned file with its structure."""
    result = engine.context("FULL")
    assert list(result) == [
        "mode",
        "token_count",
        "file_count",
        "max_tokens",
        "truncated",
        "context_data",
    ]
    assert result["mode"] == "FULL"
    assert result["file_count"] == 4
    assert result["truncated"] is False
    files = {entry["path"]: entry for entry in result["context_data"]["files"]}
    assert files["broken.py"]["error"].startswith("SyntaxError")
    assert files["app/billing.py"]["classes"][0]["name"] == "Invoice"
    assert engine.status()["last_scan"] is not None
    assert result["token_count"] == sum(
        count_tokens(value if key == "files" else {key: value})
        for key, value in result["context_data"].items()
        if key != "files"
    ) + sum(count_tokens(entry) for entry in result["context_data"]["files"])


def test_minimal_lists_signatures_only(engine: Engine) -> None:
    """MINIMAL keeps class headers and def lines, methods qualified by their class."""
    engine.scan()
    files = {e["path"]: e for e in engine.context("MINIMAL")["context_data"]["files"]}
    assert files["app/billing.py"] == {
        "path": "app/billing.py",
        "signatures": [
            "class Invoice(Base)",
            "def Invoice.total(self) -> Decimal",
            "async def Invoice.send(self, to: str, *, retries: int=3) -> None",
            "def parse_invoice(text: str, strict=True) -> 'Invoice'",
        ],
    }


def test_focused_ranks_by_query_and_include_files(engine: Engine) -> None:
    """FOCUSED keeps only relevant files, include_files first, then by score."""
    engine.scan()
    result = engine.context("FOCUSED", query="invoice", include_files=["./app/users.py"])
    data = result["context_data"]
    assert data["query"] == "invoice"
    assert data["include_files"] == ["app/users.py"]
    assert [(e["path"], e["score"]) for e in data["files"]] == [
        ("app/users.py", 100),
        ("app/billing.py", 3 * 2 + 2),  # Invoice, parse_invoice; two docstrings mention it
    ]
    assert result["file_count"] == 2


def test_focused_refuses_include_outside_root(engine: Engine) -> None:
    """An include_files entry outside the root is refused."""
    with pytest.raises(PathOutsideRoot):
        engine.context("FOCUSED", include_files=["../etc/passwd"])


def test_relevance_is_deterministic_and_documented() -> None:
    """Path +5, name +3, docstring/import +1 per term; a named directory includes its files."""
    analysis = {
        "docstring": "Users live here",
        "imports": ["users_db"],
        "classes": [{"name": "UserStore", "docstring": None, "methods": []}],
        "functions": [{"name": "get_user", "docstring": "Get a user."}],
    }
    assert relevance("app/users.py", analysis, ["user"], []) == 5 + 3 + 3 + 1 + 1 + 1
    assert relevance("app/users.py", {}, [], ["app"]) == 100
    assert relevance("application.py", {}, [], ["app"]) == 0


def test_session_has_summary_and_open_tasks(engine: Engine) -> None:
    """SESSION lists open and in-progress tasks only, and the last scan summary."""
    keep = engine.create_task({"title": "keep"})
    doing = engine.create_task({"title": "doing"})
    engine.update_task(doing["id"], {"status": "in_progress"})
    done = engine.create_task({"title": "done"})
    engine.update_task(done["id"], {"status": "done"})
    scan = engine.scan()
    result = engine.context("SESSION")
    data = result["context_data"]
    assert data["scan"]["scan_id"] == scan["scan_id"]
    assert {t["id"] for t in data["tasks"]} == {keep["id"], doing["id"]}
    assert result["file_count"] == 0


def test_budget_truncates_and_never_exceeds(engine: Engine) -> None:
    """A small budget leaves entries out: truncated is true, token_count <= max_tokens."""
    engine.scan()
    full = engine.context("FULL")
    small = engine.context("FULL", max_tokens=full["token_count"] // 2)
    assert small["truncated"] is True
    assert small["token_count"] <= small["max_tokens"]
    assert 0 < small["file_count"] < full["file_count"]
    tiny = engine.context("MINIMAL", max_tokens=1)
    assert tiny["token_count"] == 0
    assert tiny["context_data"] == {"files": []}
    assert tiny["truncated"] is True


def test_budget_skips_a_big_entry_but_keeps_later_small_ones() -> None:
    """An entry that does not fit is skipped; later entries that fit are still added."""
    big = {"docstring": "word " * 200}
    files = [("a.py", big), ("b.py", {"docstring": "x"})]
    headers_cost = count_tokens({"project": HEADERS["project"]}) + count_tokens({"scan": None})
    entry_b = {"path": "b.py", "language": None, "lines": 0, "docstring": "x"}
    result = build_context("FULL", HEADERS, files, [], headers_cost + count_tokens(entry_b))
    assert [e["path"] for e in result["context_data"]["files"]] == ["b.py"]
    assert result["truncated"] is True
    assert result["token_count"] == result["max_tokens"]


@pytest.mark.parametrize(
    ("mode", "max_tokens"), [("full", 10), ("OTHER", 10), ("FULL", 0), ("FULL", 1_000_001)]
)
def test_invalid_mode_or_budget(engine: Engine, mode: str, max_tokens: int) -> None:
    """Modes are case-sensitive; the budget must be 1..1000000."""
    with pytest.raises(InvalidInput):
        engine.context(mode, max_tokens=max_tokens)


def test_context_refuses_bad_argument_types(engine: Engine) -> None:
    """A string for include_files or a non-string query is invalid input, not a crash."""
    with pytest.raises(InvalidInput, match="include_files"):
        engine.context("FOCUSED", include_files="app")
    with pytest.raises(InvalidInput, match="query"):
        engine.context("FOCUSED", query=3)  # type: ignore[arg-type]
