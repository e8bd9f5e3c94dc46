"""``cutover contracts rules [--format text|markdown|json]``: list the diff rule catalogue.

Kept apart from :mod:`contracts.commands` so the catalogue's command lives beside the catalogue; the
command group adds it with :func:`add_rules_parser`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from contracts.diff.rules import render_rules

FORMATS = ("text", "markdown", "json")


def add_rules_parser(group: Any) -> argparse.ArgumentParser:
    """Add ``rules`` to the ``contracts`` sub-command group."""
    parser: argparse.ArgumentParser = group.add_parser(
        "rules",
        help="list the rule ids contracts diff reports, with level, meaning and example",
        description="Every rule id 'cutover contracts diff' can report: the change, where it is "
        "seen and which way it goes, with its default level, a one-line meaning and an example. "
        "Use the ids in --ignore and --severity files.",
        epilog="examples:\n  cutover contracts rules\n  cutover contracts rules --format markdown "
        "> docs/contract-rules.md",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default="text", help="text, markdown (for docs) or json"
    )
    parser.set_defaults(func=run_rules)
    return parser


def run_rules(args: argparse.Namespace) -> int:
    """Print the catalogue; always succeeds."""
    sys.stdout.write(render_rules(args.format))
    return 0
