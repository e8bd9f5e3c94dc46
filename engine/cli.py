"""The ``llmstruct`` command line: one JSON document on stdout per call, errors as JSON on stderr.

Exit codes (contracts/API.md): 0 success, 2 bad input (including a path outside the root and
argparse usage errors), 3 not found, 1 internal failure (including invalid ``LLMSTRUCT_*`` settings,
which are the server's fault, not the caller's). The legacy backend spawns this once per request, so
imports stay lazy and the settings are read through ``engine.config`` rather than pydantic-settings.

``llmstruct --args-from-stdin`` reads the real argument list as a JSON array of strings from stdin:
an argv entry is a C string, so a value holding NUL (``"\x00"`` in a path or a search, which the
HTTP API accepts) cannot be passed on the command line at all, nor can a lone surrogate the OS
cannot encode (issue #12: the fuzz run found the legacy stack's 500, and under uvloop an argument
cut at the NUL). The bridge uses it only for such values; everything else still travels in argv.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from engine.config import SettingsError, config_from_env
from engine.errors import EngineError, InvalidInput, NotFound
from engine.version import VERSION

if TYPE_CHECKING:
    from engine.facade import Engine

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID, EXIT_NOT_FOUND = 0, 1, 2, 3
ARGS_FROM_STDIN = "--args-from-stdin"


class UsageError(InvalidInput):
    """argparse refused the command line."""


class _Formatter(argparse.HelpFormatter):
    """A fixed width: the default asks ``shutil`` for the terminal size, an import per call."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=100)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors become JSON errors with exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    """The command tree documented in contracts/API.md ("The llmstruct CLI")."""
    parser = _Parser(prog="llmstruct", description="llmstruct engine CLI (JSON output)")
    # an explicit prog spares argparse a HelpFormatter (and the shutil import) per call
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, prog="llmstruct"
    )
    commands.add_parser("health", help="engine version")
    commands.add_parser("status", help="root, last scan and task counts")
    commands.add_parser("info", help="project info")

    scan = commands.add_parser("scan", help="scan the project")
    scan.add_argument("--paths", nargs="*", action="extend", default=None, metavar="P")
    scan.add_argument("--include", nargs="*", action="extend", default=None, metavar="G")
    scan.add_argument("--exclude", nargs="*", action="extend", default=None, metavar="G")
    scan.add_argument("--progress", action="store_true", help="JSON lines of progress events")

    context = commands.add_parser("context", help="build a context")
    context.add_argument("mode")
    context.add_argument("--query", default=None)
    context.add_argument("--include-file", dest="include_files", action="append", default=[])
    context.add_argument("--max-tokens", type=int, default=8000)

    tasks = commands.add_parser("tasks", help="task store")
    actions = tasks.add_subparsers(
        dest="action", required=True, parser_class=_Parser, prog="llmstruct tasks"
    )
    actions.add_parser("create").add_argument("--json", dest="data", required=True)
    listing = actions.add_parser("list")
    for flag in ("--status", "--priority", "--tag", "--q"):
        listing.add_argument(flag, default=None)
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--offset", type=int, default=0)
    actions.add_parser("get").add_argument("task_id")
    update = actions.add_parser("update")
    update.add_argument("task_id")
    update.add_argument("--json", dest="data", required=True)
    actions.add_parser("delete").add_argument("task_id")
    return parser


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _emit(value: Any) -> None:
    sys.stdout.buffer.write(_dump(value))
    sys.stdout.buffer.flush()


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"--json is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidInput("--json must be a JSON object")
    return value


def _open_engine() -> Engine:
    from engine.facade import Engine

    return Engine(config_from_env())


def run(args: argparse.Namespace) -> Any:
    """Execute a parsed command; return the JSON to print (``None``: already printed)."""
    if args.command == "health":
        return {"status": "ok", "version": VERSION}
    engine = _open_engine()
    try:
        if args.command == "status":
            return engine.status()
        if args.command == "info":
            return engine.project_info()
        if args.command == "scan":
            kwargs: dict[str, Any] = {"paths": args.paths, "exclude_patterns": args.exclude}
            if args.include is not None:
                kwargs["include_patterns"] = args.include
            if not args.progress:
                return engine.scan(**kwargs)
            result = engine.scan(**kwargs, on_progress=_emit)
            _emit({"type": "scan_completed", "data": result})
            return None
        if args.command == "context":
            return engine.context(args.mode, args.query, args.include_files, args.max_tokens)
        return _run_tasks(engine, args)
    finally:
        engine.close()


def _run_tasks(engine: Engine, args: argparse.Namespace) -> Any:
    if args.action == "create":
        return engine.create_task(_json_object(args.data))
    if args.action == "list":
        return engine.list_tasks(
            args.status, args.priority, args.tag, args.q, args.limit, args.offset
        )
    if args.action == "get":
        return engine.get_task(args.task_id)
    if args.action == "update":
        return engine.update_task(args.task_id, _json_object(args.data))
    engine.delete_task(args.task_id)
    return {"deleted": args.task_id}


def _fail(kind: str, message: str, code: int) -> int:
    sys.stderr.buffer.write(_dump({"error": {"type": kind, "message": message}}))
    sys.stderr.buffer.flush()
    return code


def stdin_arguments(data: bytes) -> list[str]:
    """The argument list sent on stdin: a JSON array of strings (anything else is a usage error)."""
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise UsageError(f"{ARGS_FROM_STDIN}: stdin is not JSON: {exc}") from exc
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UsageError(f"{ARGS_FROM_STDIN}: stdin must be a JSON array of strings")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``llmstruct`` console script; returns the exit code."""
    try:
        args = list(sys.argv[1:] if argv is None else argv)
        if args == [ARGS_FROM_STDIN]:
            args = stdin_arguments(sys.stdin.buffer.read())
        result = run(build_parser().parse_args(args))
    except NotFound as exc:
        return _fail(exc.kind, exc.message, EXIT_NOT_FOUND)
    except InvalidInput as exc:
        return _fail(exc.kind, exc.message, EXIT_INVALID)
    except (EngineError, SettingsError) as exc:
        return _fail("internal", str(exc), EXIT_INTERNAL)
    except Exception as exc:  # the contract: any failure is a JSON error, never a traceback
        return _fail("internal", f"{type(exc).__name__}: {exc}", EXIT_INTERNAL)
    if result is not None:
        _emit(result)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
