"""Context documents for an LLM, built from the last scan within a token budget.

Modes (``context_data`` shapes):

- ``FULL``: ``{"project", "scan", "files": [FileEntry]}`` — every file of the last scan, sorted by
  path, with docstring, imports, classes (bases, methods with signatures) and functions.
- ``FOCUSED``: ``{"project", "scan", "query", "include_files", "files": [FileEntry + "score"]}`` —
  only files with a positive relevance score, best first (ties by path). Score: +100 when the file
  is named in ``include_files`` (or lies under a named directory); then per query term (lower-cased
  ``\\w+`` words of ``query``, deduplicated): +5 if the term is in the path, +3 per
  class/function/method name containing it, +1 per docstring (module, class, function) or import
  containing it. Case-insensitive, deterministic.
- ``MINIMAL``: ``{"project", "scan", "files": [{"path", "signatures"}]}`` — ``class Name(bases)``
  and ``def`` lines only (methods as ``def Class.method(...)``).
- ``SESSION``: ``{"project", "scan", "tasks": [TaskResponse]}`` — the last scan summary plus the
  tasks that are ``open`` or ``in_progress``, newest first.

Budget: every piece (the ``project`` and ``scan`` headers, each file, each task) is an entry with a
token count (``engine.tokens``; a header is counted as ``{"project": ...}``). Entries are taken in
order and each one that still fits in ``max_tokens`` is added; one that does not is left out and
``truncated`` becomes true. ``token_count`` is the sum over added entries, so it never exceeds
``max_tokens``; FOCUSED's echo of ``query`` and ``include_files`` and the empty ``files``/``tasks``
lists are not counted. ``file_count`` is the number of file entries in ``context_data``. A file
whose parse failed appears with its ``error`` instead of its structure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.errors import InvalidInput
from engine.tokens import count_tokens

MODES = ("FULL", "FOCUSED", "MINIMAL", "SESSION")
MAX_TOKENS_LIMIT = 1_000_000
_HEADER_KEYS = ("project", "scan")


def file_entry(path: str, analysis: dict[str, Any]) -> dict[str, Any]:
    """The FULL/FOCUSED view of one scanned file."""
    entry: dict[str, Any] = {"path": path, "language": analysis.get("language")}
    entry["lines"] = analysis.get("lines", 0)
    if "error" in analysis:
        entry["error"] = analysis["error"]
        return entry
    for key in ("docstring", "imports", "classes", "functions"):
        if key in analysis:
            entry[key] = analysis[key]
    return entry


def signatures(analysis: dict[str, Any]) -> list[str]:
    """The MINIMAL view: class headers and function signatures, in source order."""
    items: list[tuple[int, str]] = []
    for cls in analysis.get("classes", ()):
        bases = f"({', '.join(cls['bases'])})" if cls["bases"] else ""
        items.append((cls["line"], f"class {cls['name']}{bases}"))
        for method in cls["methods"]:
            head, _, rest = method["signature"].partition(f" {method['name']}(")
            items.append((method["line"], f"{head} {cls['name']}.{method['name']}({rest}"))
    items.extend((fn["line"], fn["signature"]) for fn in analysis.get("functions", ()))
    return [text for _, text in sorted(items)]


def query_terms(query: str | None) -> list[str]:
    """Lower-cased words of the query, first occurrence order, deduplicated."""
    return list(dict.fromkeys(re.findall(r"\w+", (query or "").lower())))


def relevance(
    path: str, analysis: dict[str, Any], terms: Sequence[str], include: Sequence[str]
) -> int:
    """The FOCUSED score of one file (rules in the module docstring)."""
    score = 100 if any(path == inc or path.startswith(inc + "/") for inc in include) else 0
    names: list[str] = []
    texts: list[str] = [analysis.get("docstring") or "", *analysis.get("imports", ())]
    for cls in analysis.get("classes", ()):
        names.append(cls["name"])
        texts.append(cls.get("docstring") or "")
        for method in cls["methods"]:
            names.append(method["name"])
            texts.append(method.get("docstring") or "")
    for fn in analysis.get("functions", ()):
        names.append(fn["name"])
        texts.append(fn.get("docstring") or "")
    lowered_path = path.lower()
    lowered_names = [name.lower() for name in names]
    lowered_texts = [text.lower() for text in texts if text]
    for term in terms:
        score += 5 if term in lowered_path else 0
        score += 3 * sum(term in name for name in lowered_names)
        score += sum(term in text for text in lowered_texts)
    return score


class Budget:
    """Adds entries while they fit; remembers whether anything was left out."""

    def __init__(self, max_tokens: int) -> None:
        self.max_tokens = max_tokens
        self.used = 0
        self.truncated = False

    def take(self, entry: Any) -> bool:
        """True (and the tokens are spent) when ``entry`` fits in what is left."""
        cost = count_tokens(entry)
        if self.used + cost > self.max_tokens:
            self.truncated = True
            return False
        self.used += cost
        return True


def check_request(mode: str, max_tokens: int) -> None:
    """Refuse an unknown mode or an out-of-range budget."""
    if mode not in MODES:
        raise InvalidInput(f"mode: must be one of {', '.join(MODES)}")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise InvalidInput("max_tokens: must be an integer")
    if not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise InvalidInput(f"max_tokens: must be between 1 and {MAX_TOKENS_LIMIT}")


def build_context(
    mode: str,
    headers: dict[str, Any],
    files: Sequence[tuple[str, dict[str, Any]]],
    tasks: Sequence[dict[str, Any]],
    max_tokens: int,
    query: str | None = None,
    include_files: Sequence[str] = (),
) -> dict[str, Any]:
    """Assemble the ContextResponse from already-loaded data (pure: no I/O here)."""
    check_request(mode, max_tokens)
    budget = Budget(max_tokens)
    data: dict[str, Any] = {}
    for key in _HEADER_KEYS:
        if budget.take({key: headers[key]}):
            data[key] = headers[key]
    entries: list[dict[str, Any]]
    if mode == "SESSION":
        data["tasks"] = [task for task in tasks if budget.take(task)]
        file_count = 0
    else:
        if mode == "FULL":
            entries = [file_entry(path, analysis) for path, analysis in files]
        elif mode == "MINIMAL":
            entries = [{"path": path, "signatures": signatures(a)} for path, a in files]
        else:
            terms = query_terms(query)
            data["query"] = query
            data["include_files"] = list(include_files)
            scored = [
                (relevance(path, analysis, terms, include_files), path, analysis)
                for path, analysis in files
            ]
            ranked = sorted((s for s in scored if s[0] > 0), key=lambda s: (-s[0], s[1]))
            entries = [{**file_entry(path, a), "score": score} for score, path, a in ranked]
        data["files"] = [entry for entry in entries if budget.take(entry)]
        file_count = len(data["files"])
    return {
        "mode": mode,
        "token_count": budget.used,
        "file_count": file_count,
        "max_tokens": max_tokens,
        "truncated": budget.truncated,
        "context_data": data,
    }
