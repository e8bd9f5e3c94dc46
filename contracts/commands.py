"""``cutover contracts export|diff|check|replay``: the contract tooling's command line.

Exit codes are the same for every subcommand: 0 pass, 1 a failure the tool was asked to find (drift,
a breaking change, an incompatible candidate, a replay deviation), 2 a usage or configuration error
(unreadable file, bad URL, refused writes). Heavy modules are imported inside the handlers so that
``cutover --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from typing import Any

from contracts.report import FORMATS


def packaged_contract() -> str:
    """The llmstruct contract shipped inside the ``contracts`` package (pyproject's package data).

    ``--contract``'s default: a path relative to the working directory only worked from the
    repository's root (issue #15 item 5); the package's own copy is found from anywhere.
    """
    return str(resources.files("contracts").joinpath("openapi.json"))


def register(subparsers: Any) -> None:
    """Add the ``contracts`` command group to the ``cutover`` parser."""
    parser = subparsers.add_parser(
        "contracts",
        help="export, diff and check the API contract",
        description=(
            "Export the OpenAPI contract, diff two versions, check a candidate live, "
            "replay traffic."
        ),
        epilog="examples:\n  cutover contracts export --check\n"
        "  cutover contracts check --baseline http://127.0.0.1:8001 --candidate http://127.0.0.1:8002",
    )
    group = parser.add_subparsers(dest="contracts_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda _args: _usage(parser))
    _add_export(group)
    _add_diff(group)
    _add_check(group)
    _add_replay(group)
    from contracts.diff.rules_command import add_rules_parser

    add_rules_parser(group)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="report format (default: text)"
    )
    parser.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")


def _add_export(group: Any) -> None:
    parser = group.add_parser(
        "export",
        help="write contracts/openapi.json from the FastAPI app",
        description="Write the FastAPI app's OpenAPI document to contracts/openapi.json, the "
        "contract the gateway validates responses against; --check only compares (for CI).",
        epilog="examples:\n  cutover contracts export\n  cutover contracts export --check",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 when the checked-in contract differs from the app's",
    )
    parser.set_defaults(func=run_export)


def _add_diff(group: Any) -> None:
    parser = group.add_parser(
        "diff",
        help="breaking changes between two OpenAPI 3.x documents",
        description="Report breaking changes from BASE to REVISION (JSON or YAML files).",
        epilog="examples:\n  cutover contracts diff old/openapi.json contracts/openapi.json\n"
        "  cutover contracts diff a.yaml b.yaml --fail-on WARN --format markdown\n"
        "  cutover contracts diff old.json openapi.json --ignore diff-ignore.yaml --format sarif "
        "--output diff.sarif",
    )
    parser.add_argument("base", metavar="BASE", help="the contract clients rely on today")
    parser.add_argument("revision", metavar="REVISION", help="the contract proposed")
    parser.add_argument(
        "--fail-on",
        default="ERR",
        metavar="LEVEL",
        help="exit 1 on findings at or above ERR, WARN or INFO (default: ERR)",
    )
    _add_output_options(parser)
    _add_diff_options(parser)
    parser.set_defaults(func=_run_diff)


def _add_diff_options(parser: argparse.ArgumentParser) -> None:
    """Options for living with a real API (see contracts.diff.options for their semantics)."""
    parser.add_argument(
        "--ignore",
        metavar="FILE",
        help="YAML/JSON list of accepted findings: rule, operation, [location], reason, [expires]",
    )
    parser.add_argument(
        "--severity",
        metavar="FILE",
        help="YAML/JSON mapping of rule id (or glob) to ERR, WARN, INFO or off",
    )
    parser.add_argument(
        "--include",
        action="append",
        metavar="GLOB",
        help="only these operations ('GET /pets/*') or paths ('/pets/*'); repeatable",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        metavar="GLOB",
        help="leave out these operations or paths; repeatable",
    )
    for side in ("base", "revision"):
        parser.add_argument(
            f"--strip-prefix-{side}",
            metavar="PREFIX",
            help=f"remove PREFIX from the {side}'s paths before diffing",
        )
        parser.add_argument(
            f"--prefix-{side}",
            metavar="PREFIX",
            help=f"prepend PREFIX to the {side}'s paths (after any strip)",
        )
    parser.add_argument(
        "--case-insensitive-headers",
        action="store_true",
        help="lower-case header names before diffing; they are compared case-insensitively anyway "
        "(RFC 9110 §5.1), the flag is accepted for oasdiff command lines",
    )
    parser.add_argument(
        "--expect-file",
        metavar="FILE",
        help="also write the documented response changes here, for a route's "
        "shadow.expected_differences (shadows differing only there count as expected)",
    )
    parser.add_argument(
        "--deprecation-days",
        type=int,
        metavar="N",
        help="minimum deprecation period: a newly deprecated operation needs an x-sunset at least "
        "N days away, and a deprecated one without x-sunset may not be removed (default 0)",
    )


def _add_check(group: Any) -> None:
    parser = group.add_parser(
        "check",
        help="run every contract operation against baseline and candidate and compare",
        description=(
            "Send documented examples and schema-generated requests to both backends, validate "
            "both responses against the contract and compare the candidate's with the baseline's. "
            "Without --allow-writes only safe (GET/HEAD/OPTIONS) operations run; the others are "
            "reported as skipped."
        ),
        epilog="examples:\n"
        "  cutover contracts check --baseline http://127.0.0.1:8001 --candidate http://127.0.0.1:8002\n"
        "  cutover contracts check --baseline URL --candidate URL --allow-writes --junit check.xml",
    )
    parser.add_argument("--baseline", required=True, metavar="URL", help="the baseline backend")
    parser.add_argument("--candidate", required=True, metavar="URL", help="the candidate backend")
    parser.add_argument(
        "--contract",
        default=None,
        metavar="FILE",
        help="OpenAPI document (default: the llmstruct contract shipped with cutover)",
    )
    parser.add_argument(
        "--allow-writes",
        action="store_true",
        help="also run state-changing operations (create → read → update → delete)",
    )
    parser.add_argument(
        "--api-key", metavar="KEY", help="sent as X-API-Key (default: $LLMSTRUCT_API_KEY)"
    )
    parser.add_argument(
        "--max-examples",
        type=int,
        default=5,
        metavar="N",
        help=(
            "generated cases per operation (default 5; at least one request per operation is "
            "always sent)"
        ),
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed for generated cases (reproducible runs)"
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="JSONPATH",
        help="extra JSON path to ignore (repeatable; default: none)",
    )
    parser.add_argument(
        "--rules", metavar="FILE", help="YAML/JSON comparison rules (see contracts.check.config)"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="per-request timeout in seconds"
    )
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")
    parser.add_argument("--markdown", metavar="FILE", help="also write a Markdown summary here")
    _add_output_options(parser)
    parser.set_defaults(func=_run_check)


def _add_replay(group: Any) -> None:
    parser = group.add_parser(
        "replay",
        help="replay recorded traffic against a candidate and report deviations",
        description="Send each recorded request (the gateway's recording: JSON lines) to the "
        "candidate and compare its answer with the recorded one; safe methods only unless "
        "--allow-writes.",
        epilog="examples:\n"
        "  cutover contracts replay recording.jsonl --candidate http://127.0.0.1:8002\n"
        "  cutover contracts replay rec.jsonl --candidate URL --contract contracts/openapi.json",
    )
    parser.add_argument(
        "file", metavar="FILE", help="JSON lines written by contracts.recording.Recorder"
    )
    parser.add_argument("--candidate", required=True, metavar="URL", help="where to replay")
    parser.add_argument(
        "--contract", metavar="FILE", help="also validate responses against this contract"
    )
    parser.add_argument("--allow-writes", action="store_true", help="also replay non-safe methods")
    parser.add_argument(
        "--api-key",
        metavar="KEY",
        help="replaces the redacted credentials (default: $LLMSTRUCT_API_KEY)",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="JSONPATH",
        help="extra JSON path to ignore (repeatable; default: none)",
    )
    parser.add_argument("--rules", metavar="FILE", help="YAML/JSON comparison rules")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout, seconds")
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML here")
    parser.add_argument("--markdown", metavar="FILE", help="also write a Markdown summary here")
    _add_output_options(parser)
    parser.set_defaults(func=_run_replay)


def _run_diff(args: argparse.Namespace) -> int:
    from contracts.diff_command import run_diff

    return run_diff(args)


def _run_check(args: argparse.Namespace) -> int:
    from contracts.check import run_check

    return run_check(args)


def _run_replay(args: argparse.Namespace) -> int:
    from contracts.replay import run_replay

    return run_replay(args)


def run_export(args: argparse.Namespace) -> int:
    """Write (or, with ``--check``, verify) the checked-in contract ``contracts/openapi.json``."""
    try:
        from contracts import export
    except ImportError as exc:
        print(f"cutover contracts export: cannot import contracts.export: {exc}", file=sys.stderr)
        return 2
    if not args.check:
        print(f"wrote {export.write_openapi()}")
        return 0
    diff = export.drift_diff()
    if not diff:
        print(f"{export.OPENAPI_PATH} is up to date")
        return 0
    sys.stdout.writelines(diff[:200])
    print(
        f"\n{export.OPENAPI_PATH} is out of date: run `cutover contracts export` and commit it",
        file=sys.stderr,
    )
    return 1
