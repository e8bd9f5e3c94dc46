"""`make bench` / `python -m bench [NAME ...]`: run the benchmark suites side by side in one run.

Each suite is a module ``bench.<name>`` with ``main() -> int`` that prints a markdown table and writes
``bench/results/<name>.json``. Figures are ratios measured in the same run, because this machine is
shared and noisy: absolute numbers from different runs are not comparable.
"""

from __future__ import annotations

import importlib
import sys

SUITES = ("backends", "gateway", "shadow", "rollback", "replicas", "contracts_diff")


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown bench suite(s): {', '.join(unknown)}; choose from {', '.join(SUITES)}")
        return 2
    failed = []
    for name in names:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            print(f"## {name}: not available in this checkout\n")
            continue
        print(f"## {name}\n", flush=True)
        # Each suite with its defaults: sys.argv still holds this command's suite names.
        if module.main([]) != 0:
            failed.append(name)
    if failed:
        print(f"failed suites: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
