"""What one file contains: language, line count and, for Python, its structure from ``ast``.

Pure functions of (file name, bytes) so the scanner can cache results by content hash. Signatures
and decorators are ``ast.unparse`` source text: normalised (single quotes, canonical spacing), which
is deterministic and independent of the author's formatting.
"""

from __future__ import annotations

import ast
from typing import Any

# Bump when the shape of an analysis result changes: cached results from older
# versions are then ignored.
ANALYSIS_VERSION = 1

LANGUAGES: dict[str, str] = {
    ".py": "Python",
    ".pyi": "Python",
    ".md": "Markdown",
    ".rst": "reStructuredText",
    ".txt": "Text",
    ".yml": "YAML",
    ".yaml": "YAML",
    ".json": "JSON",
    ".toml": "TOML",
    ".ini": "INI",
    ".cfg": "INI",
    ".sh": "Shell",
    ".bash": "Shell",
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".ts": "TypeScript",
    ".html": "HTML",
    ".css": "CSS",
    ".sql": "SQL",
    ".c": "C",
    ".h": "C",
    ".cpp": "C++",
    ".go": "Go",
    ".rs": "Rust",
    ".java": "Java",
    ".j2": "Jinja",
    ".jinja": "Jinja",
}
SPECIAL_NAMES: dict[str, str] = {"Dockerfile": "Dockerfile", "Makefile": "Makefile"}


def language_for(relpath: str) -> str | None:
    """The language of a file from its name or extension, ``None`` when unknown."""
    name = relpath.rpartition("/")[2]
    return SPECIAL_NAMES.get(name) or LANGUAGES.get(_suffix(name))


def count_lines(content: bytes) -> int:
    """Lines as an editor shows them: newlines, plus one for a last line without a newline."""
    if not content:
        return 0
    return content.count(b"\n") + (0 if content.endswith(b"\n") else 1)


def is_python(relpath: str) -> bool:
    """Python sources are the files parsed with ``ast``."""
    return _suffix(relpath.rpartition("/")[2]) in (".py", ".pyi")


def _suffix(name: str) -> str:
    """The lower-cased extension like ``PurePath.suffix`` (``.bashrc`` has none), cheaper."""
    index = name.rfind(".")
    return name[index:].lower() if 0 < index < len(name) - 1 else ""


def analyze(relpath: str, content: bytes) -> dict[str, Any]:
    """Analyse one file; a Python syntax error is returned in ``error``, never raised."""
    result: dict[str, Any] = {"language": language_for(relpath), "lines": count_lines(content)}
    if not is_python(relpath):
        return result
    try:
        tree = ast.parse(content, filename=relpath)
    except SyntaxError as exc:
        where = f" (line {exc.lineno})" if exc.lineno else ""
        result["error"] = f"SyntaxError: {exc.msg}{where}"
        return result
    except (ValueError, UnicodeDecodeError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
        return result
    result.update(
        docstring=_first_line(ast.get_docstring(tree)),
        imports=_imports(tree),
        classes=[_class(node) for node in tree.body if isinstance(node, ast.ClassDef)],
        functions=[
            _function(node)
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ],
    )
    return result


def _first_line(doc: str | None) -> str | None:
    if not doc:
        return None
    for line in doc.splitlines():
        if line.strip():
            return line.strip()
    return None


def _imports(tree: ast.Module) -> list[str]:
    """Imported module names in order of appearance, deduplicated (relative keep their dots)."""
    names: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.name] = None
        elif isinstance(node, ast.ImportFrom):
            names["." * node.level + (node.module or "")] = None
    return list(names)


def signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """``def f(a: int, b=2) -> str`` (``async def`` for coroutines), as source text."""
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    return f"{prefix} {node.name}({ast.unparse(node.args)}){returns}"


def _function(node: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, Any]:
    return {
        "name": node.name,
        "line": node.lineno,
        "signature": signature(node),
        "decorators": [ast.unparse(d) for d in node.decorator_list],
        "docstring": _first_line(ast.get_docstring(node)),
    }


def _class(node: ast.ClassDef) -> dict[str, Any]:
    return {
        "name": node.name,
        "line": node.lineno,
        "bases": [ast.unparse(base) for base in node.bases],
        "decorators": [ast.unparse(d) for d in node.decorator_list],
        "docstring": _first_line(ast.get_docstring(node)),
        "methods": [
            _function(item)
            for item in node.body
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
        ],
    }
