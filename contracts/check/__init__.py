"""``cutover contracts check``: is the candidate a drop-in replacement for the baseline?

For every operation of the contract, requests built from the documented examples and
generated from the schemas (:mod:`contracts.check.cases`) go to both backends in a safe order
(:mod:`contracts.check.runner`); both answers are validated against the contract and the
candidate's is compared with the baseline's (:mod:`contracts.check.evaluate`), ignoring
fields that legitimately differ (:mod:`contracts.check.config`). Exit 0 compatible, 1
incompatible, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from contracts.check.config import RuleBook, RulesError, build_rulebook
from contracts.check.evaluate import Validator
from contracts.check.operations import load_operations
from contracts.check.runner import Checker
from contracts.commands import packaged_contract
from contracts.diff.load import SpecError, load_spec
from contracts.report import Report, render

__all__ = ["CheckOptions", "check_backends", "run_check"]


@dataclass(frozen=True)
class CheckOptions:
    """What to run: the generated-case budget, the seed, writes or not, and the auth header."""

    allow_writes: bool = False
    max_examples: int = 5
    seed: int = 0
    api_key: str | None = None
    timeout: float = 30.0


def check_backends(
    document: dict[str, Any],
    baseline: httpx.Client,
    candidate: httpx.Client,
    rules: RuleBook,
    options: CheckOptions,
    validator: Validator | None = None,
) -> Report:
    """Run the whole check with the given clients (their ``base_url`` points at each backend)."""
    if validator is None:
        from contracts.validators import ContractValidator

        validator = ContractValidator.from_document(document)
    headers: Mapping[str, str] = {"x-api-key": options.api_key} if options.api_key else {}
    checker = Checker(
        baseline,
        candidate,
        validator,
        rules,
        max_examples=options.max_examples,
        seed=options.seed,
        headers=headers,
    )
    run = checker.check(load_operations(document), options.allow_writes)
    notes = [*run.notes]
    if not options.allow_writes and run.skipped:
        notes.append("read-only run: state-changing operations were skipped (use --allow-writes)")
    return Report(
        tool="check",
        subjects=tuple(run.subjects),
        findings=tuple(run.findings),
        skipped=tuple(run.skipped),
        notes=tuple(notes),
        stats={"cases": run.cases, "requests": run.cases * 2},
    )


def _base_url(value: str, flag: str) -> str:
    url = httpx.URL(value)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{flag} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def run_check(args: argparse.Namespace) -> int:
    """The command behind ``cutover contracts check``."""
    try:
        if args.max_examples < 0:
            raise ValueError("--max-examples must be >= 0")
        baseline_url = _base_url(args.baseline, "--baseline")
        candidate_url = _base_url(args.candidate, "--candidate")
        document = load_spec(args.contract or packaged_contract())
        rules = build_rulebook(args.ignore, args.rules)
    except (SpecError, RulesError, ValueError) as exc:
        print(f"cutover contracts check: {exc}", file=sys.stderr)
        return 2
    options = CheckOptions(
        allow_writes=args.allow_writes,
        max_examples=args.max_examples,
        seed=args.seed,
        api_key=args.api_key or os.environ.get("LLMSTRUCT_API_KEY"),
        timeout=args.timeout,
    )
    if not args.allow_writes:
        print(
            "cutover contracts check: read-only run; state-changing operations are skipped "
            "(pass --allow-writes to run them)",
            file=sys.stderr,
        )
    with (
        httpx.Client(base_url=baseline_url, timeout=options.timeout) as baseline,
        httpx.Client(base_url=candidate_url, timeout=options.timeout) as candidate,
    ):
        report = check_backends(document, baseline, candidate, rules, options)
    return write_reports(report, args)


def write_reports(report: Report, args: argparse.Namespace) -> int:
    """Main report to ``--output``/stdout, plus ``--junit`` and ``--markdown`` files when asked."""
    try:
        for path, fmt in ((args.junit, "junit"), (args.markdown, "markdown")):
            if path:
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(render(report, fmt))
        text = render(report, args.format)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text)
            print(render(report, "text").splitlines()[-1])
        else:
            sys.stdout.write(text)
    except OSError as exc:
        print(f"cannot write report: {exc}", file=sys.stderr)
        return 2
    return report.exit_code
