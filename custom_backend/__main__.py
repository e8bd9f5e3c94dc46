"""``python -m custom_backend [--host H] [--port P] [--no-cache]``: serve the new stack.

Settings come from the ``LLMSTRUCT_*`` environment. The server process keeps imports the serve path
never uses out of memory (``custom_backend.lean``): memory is one of the figures this stack is
compared on.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, load the settings (a bad value stops here, naming it) and serve."""
    parser = argparse.ArgumentParser(prog="python -m custom_backend", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="answer every read from the engine (for measurements)",
    )
    args = parser.parse_args(argv)

    from custom_backend.lean import keep_unused_imports_out

    keep_unused_imports_out()
    from custom_backend.server import run
    from custom_backend.settings import load_settings
    from engine.config import SettingsError

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"invalid settings: {exc}", file=sys.stderr)
        return 2
    from engine.db import check_database
    from engine.errors import EngineError

    assert settings.database is not None  # load_settings resolves it
    try:  # a database that refuses or does not answer stops the start, in one line
        check_database(settings.database)
    except EngineError as exc:
        print(f"cannot start: LLMSTRUCT_DATABASE: {exc.message}", file=sys.stderr)
        return 1
    run(args.host, args.port, settings, cache=not args.no_cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
