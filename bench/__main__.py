"""`make bench` / `python -m bench [NAME [FLAG ...]] ...`: run the benchmark
suites side by side in one run.

A suite's flags follow its name and go to it: ``python -m bench gateway --rounds 5 rollback --trials
20`` runs ``bench.gateway`` with ``--rounds 5`` and then ``bench.rollback`` with ``--trials 20``; no
name runs every suite with its defaults.

Each suite is a module ``bench.<name>`` with ``main() -> int`` that prints a markdown table and
writes ``bench/results/<name>.json``. Figures are ratios measured in the same run, because this
machine is shared and noisy: absolute numbers from different runs are not comparable.
"""

from __future__ import annotations

import importlib
import sys

SUITES = (
    "backends",
    "gateway",
    "gateway_instructions",
    "shadow",
    "rollback",
    "replicas",
    "contracts_diff",
)


def plan(argv: list[str]) -> list[tuple[str, list[str]]] | str:
    """The suites to run, each with its own flags; or why ``argv`` cannot be read."""
    if not argv:
        return [(name, []) for name in SUITES]
    runs: list[tuple[str, list[str]]] = []
    for token in argv:
        if token in SUITES:
            runs.append((token, []))
        elif runs and (token.startswith("-") or runs[-1][1]):
            runs[-1][1].append(token)  # a flag, or the value of the flag before it
        else:
            return f"unknown bench suite {token!r}; choose from {', '.join(SUITES)}"
    return runs


def main(argv: list[str] | None = None) -> int:
    runs = plan(list(argv if argv is not None else sys.argv[1:]))
    if isinstance(runs, str):
        print(runs)
        return 2
    failed = []
    for name, flags in runs:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bench.{name}":
                raise
            print(f"## {name}: not available in this checkout\n")
            continue
        print(f"## {name}\n", flush=True)
        if module.main(flags) != 0:
            failed.append(name)
    if failed:
        print(f"failed suites: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
