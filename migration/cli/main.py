"""`cutover`: one console script whose subcommands live next to the code they drive.

Each provider module exposes ``register(subparsers)``; it adds its subcommands and sets ``func`` on
each, a callable taking the parsed namespace and returning the exit code. Providers are imported
lazily so that ``cutover --help`` stays fast and a broken optional part cannot break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Modules that contribute subcommands, in help order.
PROVIDERS: tuple[str, ...] = (
    "migration.cli.stack",
    "gateway.commands",
    "gateway.shadow.commands",
    "contracts.commands",
    "migration.cli.operator",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser from every provider that imports."""
    parser = argparse.ArgumentParser(
        prog="cutover", description="Dual-stack migration gateway for HTTP APIs."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in PROVIDERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    code = func(args)
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
