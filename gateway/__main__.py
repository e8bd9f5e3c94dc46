"""``python -m gateway --config FILE``: the bare data plane (no shadowing, no controller)."""

from __future__ import annotations

import argparse
import sys

from gateway.commands import add_gateway_parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``cutover gateway`` flags and run it."""
    parser = argparse.ArgumentParser(prog="python -m gateway")
    add_gateway_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["gateway", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
