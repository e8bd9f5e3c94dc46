"""Project scans: walk, analyse (or reuse the analysis cached by content hash), store the last.

The cache lives in the SQLite file, not in memory, because the legacy backend runs the CLI as a new
process per request: a rescan of an unchanged tree then only reads and hashes files. Cache keys
include the analysis version and the kind of file, so a change to the analysis or to a file's
extension never serves a stale result.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from engine.analysis import ANALYSIS_VERSION, analyze, is_python, language_for
from engine.db import Store
from engine.errors import InvalidInput
from engine.ids import uuid4_hex
from engine.paths import FileFilter, confine, walk_files
from engine.timefmt import Clock, format_utc, to_micros, utc_now

ProgressCallback = Callable[[dict[str, Any]], None]
DEFAULT_INCLUDE = ("**/*.py",)
CACHE_KEEP = 20_000
_CHUNK = 500


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def cache_key(relpath: str, content: bytes) -> str:
    """Content hash plus everything else the analysis depends on."""
    import hashlib  # only scans hash; keeps the import off the other CLI commands

    kind = "py" if is_python(relpath) else (language_for(relpath) or "-")
    return f"{ANALYSIS_VERSION}:{kind}:{hashlib.sha256(content).hexdigest()}"


def _string_list(value: Iterable[str] | None, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(f"{field}: must be a list of strings")
    return list(value)


_TOTALS = ("files_cached", "total_lines", "modules", "classes", "functions")


def _add_totals(totals: dict[str, int], rel: str, result: dict[str, Any]) -> None:
    """Count one analysed file: lines always; a module only when it parsed; methods as functions."""
    totals["total_lines"] += result["lines"]
    if "error" not in result and is_python(rel):
        totals["modules"] += 1
    classes = result.get("classes", ())
    totals["classes"] += len(classes)
    totals["functions"] += len(result.get("functions", ())) + sum(
        len(c["methods"]) for c in classes
    )


def summary_of(response: dict[str, Any]) -> dict[str, Any]:
    """The ScanSummary (status, SESSION context) of a stored ScanResponse."""
    return {
        "scan_id": response["scan_id"],
        "finished_at": response["finished_at"],
        "files_scanned": response["files_scanned"],
        "total_lines": response["total_lines"],
        "errors": len(response["errors"]),
    }


class Scanner:
    """Runs scans confined to ``root`` and keeps the last one in the database."""

    def __init__(
        self,
        root: Path,
        db: Store,
        clock: Clock = utc_now,
        always_exclude: Sequence[str] = (),
    ) -> None:
        self._root = root
        self._always_exclude = list(always_exclude)
        self._db = db
        self._clock = clock

    def scan(
        self,
        paths: Sequence[str] | None = None,
        include_patterns: Sequence[str] | None = DEFAULT_INCLUDE,
        exclude_patterns: Sequence[str] | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> dict[str, Any]:
        """Scan and return the ScanResponse; a file that fails to parse lands in ``errors``."""
        starts = self._starts(_string_list(paths, "paths"))
        include = _string_list(include_patterns, "include_patterns")
        exclude = _string_list(exclude_patterns, "exclude_patterns") + self._always_exclude
        file_filter = FileFilter.build(include, exclude)
        started, tick = self._clock(), time.perf_counter()
        files = walk_files(self._root, starts, file_filter)
        emit = on_progress or (lambda event: None)
        emit({"type": "scan_started", "data": {"total": len(files)}})

        keys, unreadable = self._hash_all(files)
        cached = self._cached(set(keys.values()))
        fresh: dict[str, dict[str, Any]] = {}  # analysed in this scan, by cache key
        totals = dict.fromkeys(_TOTALS, 0)
        errors: list[dict[str, str]] = []
        for index, rel in enumerate(files, start=1):
            error = unreadable.get(rel)
            if error is None:
                result = cached.get(keys[rel])
                if result is not None:
                    totals["files_cached"] += 1
                else:
                    result = self._analyse(rel, keys, fresh)
                _add_totals(totals, rel, result)
                error = result.get("error")
            if error is not None:
                errors.append({"path": rel, "error": error})
            emit(
                {
                    "type": "scan_progress",
                    "data": {"current": index, "total": len(files), "path": rel, "error": error},
                }
            )

        finished = self._clock()
        response: dict[str, Any] = {
            "scan_id": uuid4_hex(),
            "status": "completed",
            "files_scanned": len(files),
            **totals,
            "errors": errors,
            "started_at": format_utc(started),
            "finished_at": format_utc(finished),
            "duration_ms": round((time.perf_counter() - tick) * 1000, 3),
        }
        self._store(response, to_micros(finished), keys, fresh)
        return response

    def _starts(self, paths: list[str]) -> list[Path]:
        """Confine every requested path (``PathOutsideRoot``) and require it to exist."""
        starts = [confine(self._root, raw) for raw in paths]
        for raw, start in zip(paths, starts, strict=True):
            if not start.exists():
                raise InvalidInput(f"Path not found: {raw}")
        return starts

    def _hash_all(self, files: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
        """Cache keys of the readable files, an error for each unreadable one (no bytes kept)."""
        keys: dict[str, str] = {}
        unreadable: dict[str, str] = {}
        for rel in files:
            try:
                keys[rel] = cache_key(rel, (self._root / rel).read_bytes())
            except OSError as exc:
                unreadable[rel] = f"{type(exc).__name__}: {exc.strerror}"
        return keys, unreadable

    def _analyse(
        self, rel: str, keys: dict[str, str], fresh: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        """Analyse a cache miss; identical files share one analysis. The file is read again, and if
        it changed since it was hashed the analysis is filed under the new content's key."""
        try:
            content = (self._root / rel).read_bytes()
        except OSError as exc:  # vanished since it was hashed: reported, not stored
            del keys[rel]
            return {"language": language_for(rel), "lines": 0, "error": f"OSError: {exc.strerror}"}
        key = keys[rel] = cache_key(rel, content)
        if key not in fresh:
            fresh[key] = analyze(rel, content)
        return fresh[key]

    def _cached(self, keys: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.query(
                f"SELECT key, result FROM file_cache WHERE key IN ({marks})", chunk
            )
            found.update((key, json.loads(result)) for key, result in rows)
        return found

    def _store(
        self,
        response: dict[str, Any],
        finished_us: int,
        keys: dict[str, str],
        fresh: dict[str, dict[str, Any]],
    ) -> None:
        """Save new analyses and make this scan "the last scan", in one transaction."""
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO file_cache (key, result, used_us) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET result = excluded.result, used_us = excluded.used_us",
                [(key, _compact(result), finished_us) for key, result in fresh.items()],
            )
            conn.executemany(
                "UPDATE file_cache SET used_us = ? WHERE key = ?",
                [(finished_us, key) for key in set(keys.values()) - fresh.keys()],
            )
            conn.execute("DELETE FROM last_scan_files")
            conn.executemany(
                "INSERT INTO last_scan_files (path, cache_key) VALUES (?, ?)", sorted(keys.items())
            )
            conn.execute(
                "INSERT INTO last_scan (slot, scan_id, finished_us, response) VALUES (1, ?, ?, ?)"
                " ON CONFLICT (slot) DO UPDATE SET scan_id = excluded.scan_id,"
                " finished_us = excluded.finished_us, response = excluded.response",
                (response["scan_id"], finished_us, _compact(response)),
            )
            (count,) = conn.execute("SELECT COUNT(*) FROM file_cache").fetchone()
            if count > CACHE_KEEP:
                conn.execute(
                    "DELETE FROM file_cache"
                    " WHERE key NOT IN (SELECT cache_key FROM last_scan_files)"
                    " AND key NOT IN (SELECT key FROM file_cache ORDER BY used_us DESC LIMIT ?)",
                    (CACHE_KEEP,),
                )

    def last_response(self) -> dict[str, Any] | None:
        """The ScanResponse of the last scan, or ``None`` when there was none."""
        rows = self._db.query("SELECT response FROM last_scan WHERE slot = 1")
        return json.loads(rows[0][0]) if rows else None

    def last_summary(self) -> dict[str, Any] | None:
        """The ScanSummary of the last scan, or ``None``."""
        response = self.last_response()
        return summary_of(response) if response is not None else None

    def last_scan(self) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]] | None:
        """The last ScanResponse and its files' ``(path, analysis)`` (sorted), one snapshot."""
        with self._db.snapshot() as conn:
            row = conn.execute("SELECT response FROM last_scan WHERE slot = 1").fetchone()
            if row is None:
                return None
            rows = conn.execute(
                "SELECT f.path, c.result FROM last_scan_files f"
                " JOIN file_cache c ON c.key = f.cache_key ORDER BY f.path"
            ).fetchall()
        return json.loads(row[0]), [(path, json.loads(result)) for path, result in rows]
