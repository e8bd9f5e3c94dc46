"""What shadowing costs the client: p99 at a fixed load, saturated throughput, per-item CPU costs.

Setup (as ``bench.gateway``): tiny upstreams (asyncio + httptools on uvloop) answer every path
with a typical 853-byte ``GET /api/v1/tasks`` list that conforms to the contract; one serves as the
baseline, one as the candidate. Four gateways run side by side on CPU 0 with the baseline:
``plain`` (no tap), ``tapped`` (a no-op tap that wants every exchange: the gateway's own cost of
tapping — body capture on its callback fast path), ``shadowed`` (the product default: 100 % of GETs
shadowed to the other backend, 10 % of those as same-backend noise probes, every primary and shadow
response validated against the contract, all of it in the sidecar process at its default priority)
and ``inline`` (the same work on the gateway's own event loop, ``shadow.isolation: inline``).

Topology (``--topology``): ``split`` (default, what a deployment looks like) keeps CPU 0 exactly as
in the plain run — gateway and baseline — and puts what shadowing adds elsewhere: the candidate
upstream on CPU 1 (in production it is another service) and the sidecar on CPU 1 via
``shadow.process_cpus: [1]``, sharing that core with the load generator (whose timing it can only
worsen). ``shared`` puts everything on CPU 0, the worst case: the sidecar and the candidate then
add their CPU to the core that serves clients.
Load comes from CPU 1. The gateways are measured back to back in each round; the median of
the per-round ratios counts (drift of this shared machine between rounds cancels out).

- saturated throughput: wrk, 32 connections; target shadowed ≥ 0.5x plain;
- client p99 below saturation: an open-loop generator (requests on a fixed schedule, latency from
  the *scheduled* send time, so a stall is not hidden by the generator waiting) at a quarter of
  the plain gateway's saturated rate (``--load``), same rate for all; target shadowed p99 ≤ 1.10x
  plain. (Not a share of the shadowed saturation: that figure includes shadows shed by the queue.)
- component costs, in-process: the inline tap's hot-path call (``on_response``), the sidecar
  hand-off per exchange (tuple + pickled batch frame), a worker's full shadow pipeline with an
  instant sender (compare + evidence + contract check), and contract validation of one typical
  response (target ≤ 10 µs).

    python -m bench.shadow [--duration S] [--rounds R] [--load F] \\
        [--topology split|shared] [--priority P]

Prints a markdown table and writes ``bench/results/shadow.json``; returns 0 when it ran (a missed
target is reported, not a crash), 1 when it could not run. This module measures and reports; the
servers are ``bench/shadow_servers.py``, the fixed-rate load ``bench/shadow_load.py``, the
in-process costs ``bench/shadow_components.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from statistics import median
from typing import Any

from bench.harness import wrk
from bench.shadow_components import component_costs
from bench.shadow_load import open_loop
from bench.shadow_servers import BODY, servers
from gateway.build_hotpath import up_to_date

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = REPOSITORY / "bench" / "results" / "shadow.json"
TARGETS = {"p99_ratio": 1.10, "throughput_ratio": 0.5, "validation_us": 10.0}
TOPOLOGIES = ("split", "shared")

Runs = dict[str, list[dict[str, float]]]
"""Per gateway mode, one load run's figures per round."""


def shadow_outcomes(admin_url: str, since: dict[str, int] | None = None) -> dict[str, int]:
    """The shadowed gateway's outcome counters (minus ``since``), read from ``GET /shadow``."""
    import httpx

    routes = httpx.get(admin_url, timeout=10.0).json()["routes"]
    totals: dict[str, int] = {}
    for route in routes:
        for outcome, count in route["shadow"]["outcomes"].items():
            totals[outcome] = totals.get(outcome, 0) + count
    return {k: v - (since or {}).get(k, 0) for k, v in totals.items()}


def measure(
    duration: float,
    rounds: int,
    connections: int,
    load_fraction: float,
    workers: int,
    priority: str | None = None,
    topology: str = "split",
) -> dict[str, Any]:
    """Saturated rounds, then fixed-rate rounds at ``load_fraction`` of plain saturation."""
    with servers(workers, priority, topology) as running:
        urls, shadow_url = running.urls, running.shadow_admin_url
        saturated: Runs = {name: [] for name in urls}
        fixed: Runs = {name: [] for name in urls}
        for url in urls.values():
            wrk(url, connections, 1.0)  # warm-up: pools, allocator
        before = shadow_outcomes(shadow_url)
        for _ in range(rounds):
            for name, url in urls.items():
                saturated[name].append(wrk(url, connections, duration))
        during_saturation = shadow_outcomes(shadow_url, before)
        # A share of the *plain* gateway's saturation: the shadowed one's includes shed shadows.
        rate = round(load_fraction * median(r["rps"] for r in saturated["plain"]), -1)
        before = shadow_outcomes(shadow_url)
        for _ in range(rounds):
            for name, (port, _) in running.ports.items():
                fixed[name].append(open_loop(port, rate, duration))
        during_fixed = shadow_outcomes(shadow_url, before)
    setup = {
        "duration_s": duration,
        "rounds": rounds,
        "connections": connections,
        "body_bytes": len(BODY),
        "shadow": "100% of GETs, 10% same-backend probes, contract checks on, "
        "queue 1024, max queue age 0.5 s",
        "workers": workers,
        "sidecar_priority": priority or _default_priority(),
        "topology": topology,
        "pinning": (
            "gateways+baseline cpu0; load, candidate and sidecar cpu1"
            if topology == "split"
            else "gateways+baseline+candidate+sidecar cpu0, load cpu1"
        ),
        "gateway_compiled": up_to_date(),  # make compile
    }
    summary = summarise(saturated, fixed, rate)
    by_round = summary.pop("rounds")
    return {
        "setup": setup,
        **summary,
        "shadow_outcomes": {"saturated": during_saturation, "fixed_rate": during_fixed},
        "rounds": by_round,
    }


def ratios(runs: Runs, mode: str, key: str) -> list[float]:
    """``mode`` over plain, within each round: the two gateways were measured back to back, so
    drift of the shared machine between rounds cancels out."""
    return [s[key] / p[key] for p, s in zip(runs["plain"], runs[mode], strict=True)]


def summarise(saturated: Runs, fixed: Runs, rate: float) -> dict[str, Any]:
    """Medians per mode and the median of the per-round ratios to plain (the figures judged)."""
    tp_ratios = ratios(saturated, "shadowed", "rps")
    p99_ratios = ratios(fixed, "shadowed", "p99_ms")
    return {
        "saturated_rps": {name: median(r["rps"] for r in runs) for name, runs in saturated.items()},
        "throughput_ratio": median(tp_ratios),
        "throughput_ratios": tp_ratios,
        "offered_rps": rate,
        "p50_ms": {name: median(r["p50_ms"] for r in runs) for name, runs in fixed.items()},
        "p99_ms": {name: median(r["p99_ms"] for r in runs) for name, runs in fixed.items()},
        "p99_ratio": median(p99_ratios),
        "p99_ratios": p99_ratios,
        "inline_throughput_ratio": median(ratios(saturated, "inline", "rps")),
        "inline_p99_ratio": median(ratios(fixed, "inline", "p99_ms")),
        "rounds": {"saturated": saturated, "fixed_rate": fixed},
    }


def _default_priority() -> str:
    from gateway.shadow.config import ShadowSettings

    return ShadowSettings().process_priority


def _compared(r: dict[str, Any], phase: str) -> int:
    counts = r["shadow_outcomes"][phase]
    return sum(counts.get(k, 0) for k in ("matched", "mismatched", "noise"))


def table(r: dict[str, Any], comp: dict[str, float]) -> str:
    t = TARGETS
    mark = {True: "met", False: "MISSED"}
    lines = [
        "| measure | plain gateway | no-op tap | shadowed (sidecar) | shadowed/plain | target | "
        "inline shadowing | inline/plain |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    if r:
        rps, p50, p99, rate = r["saturated_rps"], r["p50_ms"], r["p99_ms"], r["offered_rps"]
        ok_tp = r["throughput_ratio"] >= t["throughput_ratio"]
        ok_p99 = r["p99_ratio"] <= t["p99_ratio"]
        lines += [
            f"| saturated req/s ({r['setup']['connections']} conns) | {rps['plain']:.0f} | "
            f"{rps['tapped']:.0f} | {rps['shadowed']:.0f} | {r['throughput_ratio']:.2f}x | "
            f">= 0.5x ({mark[ok_tp]}) | {rps['inline']:.0f} | "
            f"{r['inline_throughput_ratio']:.2f}x |",
            f"| p50 ms at {rate:.0f} req/s | {p50['plain']:.2f} | {p50['tapped']:.2f} | "
            f"{p50['shadowed']:.2f} | {p50['shadowed'] / p50['plain']:.2f}x | | "
            f"{p50['inline']:.2f} | {p50['inline'] / p50['plain']:.2f}x |",
            f"| p99 ms at {rate:.0f} req/s | {p99['plain']:.2f} | {p99['tapped']:.2f} | "
            f"{p99['shadowed']:.2f} | {r['p99_ratio']:.2f}x | <= 1.10x ({mark[ok_p99]}) | "
            f"{p99['inline']:.2f} | {r['inline_p99_ratio']:.2f}x |",
            "| shadows compared / dropped, saturated | | | "
            f"{_compared(r, 'saturated')} / "
            f"{r['shadow_outcomes']['saturated'].get('dropped', 0)} | | |",
            "| shadows compared / dropped, fixed rate | | | "
            f"{_compared(r, 'fixed_rate')} / "
            f"{r['shadow_outcomes']['fixed_rate'].get('dropped', 0)} | | |",
        ]
    ok_val = comp["validation_us"] <= t["validation_us"]
    lines += [
        "| sidecar hand-off µs per exchange (hot path: tuple + one pickled frame, before the "
        f"write) | | | {comp['handoff_us']:.2f} | | |",
        "| inline tap call µs (hot path), not sampled / sampled | | | "
        f"{comp['tap_us_unsampled']:.2f} / {comp['tap_us_sampled']:.2f} | | |",
        "| worker µs per shadow, identical / differing bodies (compare+evidence+checks, "
        "instant sender) | | | "
        f"{comp['worker_us_per_shadow_identical']:.1f} / "
        f"{comp['worker_us_per_shadow_differing']:.1f} | | |",
        f"| contract validation µs per response ({len(BODY)} B) | | | "
        f"{comp['validation_us']:.2f} | | <= 10 ({mark[ok_val]}) |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the suite; 0 when it ran, 1 when it could not."""
    parser = argparse.ArgumentParser(prog="python -m bench.shadow")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--load", type=float, default=0.25, help="fixed rate, as a share of plain saturation"
    )
    parser.add_argument("--workers", type=int, default=8, help="shadow worker tasks")
    parser.add_argument(
        "--priority",
        choices=("idle", "low", "normal"),
        default=None,
        help="the sidecar's shadow.process_priority (default: the config default)",
    )
    parser.add_argument(
        "--topology",
        choices=TOPOLOGIES,
        default="split",
        help="split: candidate and sidecar off the gateway's CPU (default); shared: all on CPU 0",
    )
    parser.add_argument("--component-only", action="store_true", help="skip the gateway runs")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    comp = component_costs()
    result: dict[str, Any] = {}
    if not args.component_only:
        missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
        if missing:
            print(
                f"cannot run the gateway part: missing {', '.join(missing)} (apt-get install wrk)"
            )
            return 1
        try:
            result = measure(
                args.duration,
                args.rounds,
                args.connections,
                args.load,
                args.workers,
                args.priority,
                args.topology,
            )
        except (RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
            print(f"cannot run: {exc}")
            return 1
    result["component"] = comp
    print(table(result if "saturated_rps" in result else {}, comp))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {RESULTS.relative_to(REPOSITORY)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
