"""`cutover`: one console script whose subcommands live next to the code they drive.

Each provider module exposes ``register(subparsers)``; it adds its subcommands and sets ``func`` on
each, a callable taking the parsed namespace and returning the exit code. Every provider is part of
the package, so one that fails to import is a broken install and fails loudly with its traceback,
rather than a command silently missing from ``--help`` (issue #17).
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


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every command's help: defaults shown, prose wrapped, indented example lines kept as written.

    An option whose help already names its default (``(default 60s)``, ``default: both``) is left
    alone, and so is one without a meaningful default (``None``, a ``False`` flag). In a
    description or an epilog, a line that starts with two spaces (an example command) is printed
    as it is; other lines are paragraphs, wrapped to the terminal as argparse does.
    """

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in help_text.lower():
            return action.help
        return super()._get_help_string(action)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        paragraph: list[str] = []

        def flush() -> None:
            if paragraph:
                out.append(
                    super(HelpFormatter, self)._fill_text(" ".join(paragraph), width, indent)
                )
                paragraph.clear()

        for line in text.splitlines():
            if line.startswith("  ") or not line.strip():
                flush()
                out.append(indent + line if line.strip() else "")
            else:
                paragraph.append(line.strip())
        flush()
        return "\n".join(out)


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every subcommand parser below ``parser``, by its words (``"migrate start"``), depth first."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {k}": v for k, v in subcommands(sub).items()})
    return found


def build_parser() -> argparse.ArgumentParser:
    """Build the full parser from every provider (one that fails to import fails the command: a
    part of the package that cannot load is a broken install, not an optional extra)."""
    parser = argparse.ArgumentParser(
        prog="cutover",
        description="Dual-stack migration gateway for HTTP APIs.",
        epilog="examples:\n  cutover up\n  cutover migrate start default --steps shadow,10,50,100\n"
        "  cutover status --watch\n"
        "Each command's --help has its own examples.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in PROVIDERS:
        importlib.import_module(name).register(subparsers)
    for sub in (parser, *subcommands(parser).values()):
        sub.formatter_class = HelpFormatter
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
