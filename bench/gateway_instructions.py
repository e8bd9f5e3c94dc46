"""Instructions per proxied request, counted by callgrind: a figure this noisy machine cannot move.

Timings on two shared cores spread by several percent between runs of the same code (see the
README's gateway bench), so a change of a few instructions per request hides in them. Callgrind
counts the instructions the gateway process executes, whatever else runs, so one run says what a
change costs. The gateway runs under ``valgrind --tool=callgrind`` in front of ``bench.gateway``'s
upstream with ``bench.gateway``'s config (metrics, sticky hashing, both pools); after a warm-up on
one keep-alive connection the counters are zeroed (``callgrind_control -z``), ``--requests`` GETs
are sent one after the other on that connection, and the counters are dumped (``callgrind_control
-d``): the dump holds exactly the instructions of those requests and of whatever timers ran
meanwhile (the slow-client sweep, the metrics' clock), which is why the count is taken over
thousands of requests.

    python -m bench.gateway_instructions [--requests N] [--rounds R] [--against DIR]

``--against DIR`` measures another checkout (a ``git worktree`` or ``git archive`` copy, compiled
the same way: ``python -m gateway.build_hotpath --force``) in alternating rounds, and the table
gives the ratio. Needs valgrind (``make system-deps`` installs it). Prints a markdown table, writes
``bench/results/gateway_instructions.json``; returns 1 when it could not run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from statistics import median

from bench.gateway import GATEWAY_CONF, HEADERS
from bench.harness import free_port, process

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = REPOSITORY / "bench" / "results" / "gateway_instructions.json"
WARM_UP = 300
PATH = "/api/v1/items"


def dumped_total(text: str) -> int:
    """The instruction count of one callgrind dump (its ``summary:`` or ``totals:`` line)."""
    for line in text.splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise ValueError("no summary or totals line in the callgrind dump")


def _send(conn: http.client.HTTPConnection, count: int) -> None:
    key, _, value = HEADERS[0].partition(": ")
    for _ in range(count):
        conn.request("GET", PATH, headers={key: value})
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise RuntimeError(f"the gateway answered {answer.status}")


def count(tree: Path, requests: int) -> float:
    """Instructions per request of the gateway in checkout ``tree`` at one keep-alive connection."""
    tmp = Path(tempfile.mkdtemp(prefix="cutover-bench-cg-"))
    upstream, port, admin = free_port(), free_port(), free_port()
    (tmp / "gateway.yaml").write_text(
        GATEWAY_CONF.format(upstream=upstream, port=port, admin=admin)
    )
    env = {"PYTHONPATH": str(tree)}
    out = tmp / "callgrind.out"
    gateway = ["-m", "gateway", "--config", str(tmp / "gateway.yaml"), "--log-format", "json"]
    callgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable]
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)  # last: after the gateway's own final dump
        up = [sys.executable, "-m", "bench.gateway", "--upstream", str(upstream)]
        stack.enter_context(process(up, f"http://127.0.0.1:{upstream}/", env, cwd=tree))
        proc = stack.enter_context(
            process([*callgrind, *gateway], f"http://127.0.0.1:{port}/", env, 120.0, tree)
        )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        _send(conn, WARM_UP)
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        _send(conn, requests)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
        conn.close()
        dumps = list(tmp.glob("callgrind.out.*"))  # the one -d wrote; the exit dump comes later
        if len(dumps) != 1:
            raise RuntimeError(f"expected one callgrind dump, found {len(dumps)}")
        return dumped_total(dumps[0].read_text(errors="replace")) / requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway_instructions")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--against", type=Path, help="another checkout, measured alternately")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed (make system-deps)")
        return 1
    trees = {"this checkout": REPOSITORY}
    if args.against is not None:
        trees["--against"] = args.against.resolve()
    runs: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            runs[name].append(count(tree, args.requests))
    rows = ["| checkout | instructions per request (median) | rounds |", "| --- | --- | --- |"]
    for name, figures in runs.items():
        each = ", ".join(f"{f / 1000:.1f}k" for f in figures)
        rows.append(f"| {name} ({trees[name]}) | {median(figures) / 1000:.1f}k | {each} |")
    result: dict[str, object] = {
        "requests": args.requests,
        "trees": {name: str(tree) for name, tree in trees.items()},
        "runs": runs,
    }
    if args.against is not None:
        ratio = median(runs["this checkout"]) / median(runs["--against"])
        rows.append(f"\nthis checkout / --against: **{ratio:.3f}×**")
        result["ratio"] = ratio
    print("\n".join(rows))
    print(
        f"\n{args.requests} GETs on one keep-alive connection per round, after {WARM_UP} warm-up."
    )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
