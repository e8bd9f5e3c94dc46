"""The per-file analysis: structure from `ast`, errors reported not raised."""

from __future__ import annotations

from engine.analysis import analyze, count_lines, language_for
from tests.engine.conftest import SAMPLE_MODULE


def test_python_structure() -> None:
    """Docstring first line, imports, classes with bases and methods, functions with signatures."""
    result = analyze("app/billing.py", SAMPLE_MODULE.encode())
    assert result["language"] == "Python"
    assert result["lines"] == SAMPLE_MODULE.count("\n")
    assert result["docstring"] == "Billing helpers."
    assert result["imports"] == ["os", "decimal", "."]
    (invoice,) = result["classes"]
    assert invoice["name"] == "Invoice"
    assert invoice["bases"] == ["Base"]
    assert invoice["docstring"] == "An invoice to pay."
    total, send = invoice["methods"]
    assert total["signature"] == "def total(self) -> Decimal"
    assert total["decorators"] == ["property"]
    assert send["signature"] == "async def send(self, to: str, *, retries: int=3) -> None"
    assert send["docstring"] is None
    (parse,) = result["functions"]
    assert parse["signature"] == "def parse_invoice(text: str, strict=True) -> 'Invoice'"
    assert parse["decorators"] == ["cache"]
    assert parse["docstring"] == "Parse an invoice from text."


def test_syntax_error_is_reported() -> None:
    """A syntax error becomes `error` with the line, and the line count is still there."""
    result = analyze("broken.py", b"def oops(:\n    pass\n")
    assert result == {
        "language": "Python",
        "lines": 2,
        "error": "SyntaxError: invalid syntax (line 1)",
    }


def test_null_bytes_are_an_error_not_a_crash() -> None:
    """A NUL byte in a .py file is reported as an error."""
    assert analyze("x.py", b"a = 1\x00\n")["error"].startswith("SyntaxError")


def test_other_files_only_count_lines() -> None:
    """A non-Python file gets a language and a line count, no structure."""
    assert analyze("docs/a.md", b"# t\nbody") == {"language": "Markdown", "lines": 2}


def test_count_lines_and_languages() -> None:
    """Line counting and extension mapping cover the edge cases."""
    assert [count_lines(b""), count_lines(b"a"), count_lines(b"a\n"), count_lines(b"a\nb")] == [
        0,
        1,
        1,
        2,
    ]
    assert language_for("Dockerfile") == "Dockerfile"
    assert language_for("x.YML") == "YAML"
    assert language_for("x.unknown") is None
