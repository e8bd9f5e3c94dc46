"""``python -m fastapi_backend [--host H] [--port P]``: serve the legacy stack (LLMSTRUCT_*)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, load the settings (a bad value stops here, naming it) and serve."""
    parser = argparse.ArgumentParser(prog="python -m fastapi_backend", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)

    from engine.config import SettingsError
    from engine.settings import load_settings
    from fastapi_backend.server import run

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"invalid settings: {exc}", file=sys.stderr)
        return 2
    from engine.db import check_database
    from engine.errors import EngineError

    try:  # a database that refuses or does not answer stops the start, in one line
        check_database(settings.database_path)
    except EngineError as exc:
        print(f"cannot start: LLMSTRUCT_DATABASE: {exc.message}", file=sys.stderr)
        return 1
    run(args.host, args.port, settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
