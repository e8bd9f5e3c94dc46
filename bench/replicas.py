"""``python -m bench replicas``: gateway workers and replicas (issue #13, "Bench"), in one run.

Topology: everything shares this machine's cores. wrk runs pinned to CPU 1 with one thread
(:func:`bench.harness.wrk`); the gateway processes, the upstream (:mod:`bench.slow_upstream`, one
process), PostgreSQL and this script float over both cores. So ``--workers 2`` competes with the
upstream and wrk for the second core: the ratio is what this 2-core host gives, not what a
dedicated one would.

1. **Workers.** ``cutover gateway --workers 1`` and ``--workers 2`` (SQLite store, shadowing off,
   50 % weight, both pools on the instant upstream), both running, measured in turn with the order
   alternating every round; the ratio is the median of the per-round ratios. CPU per request is the
   process tree's user + system (supervisor, workers) over the run ÷ requests. A round in which
   processes outside the bench took over 10 % of the host (``/proc/stat``) is set aside and rerun.
2. **Propagation.** Three replicas over one PostgreSQL (``initdb`` in a temporary directory): a
   weight PUT on a random replica, until every replica's ``GET /status`` shows it.
3. **Failover.** SIGKILL of the leader until another replica says ``leading`` (lease 6 s, renewal
   2 s); the killed replica restarts before the next sample.
4. **Rollback.** The e2e tests' policy (4 s window, 30 samples, 3 consecutive failures) and a 1 s
   interval; a plan held at 50 % under the same open-loop load in total (``TOTAL_RPS``, split
   evenly over the replicas); the upstream answers after a lognormal time (median 10 ms); after a
   warm-up, a candidate fault delay equal to the baseline's p95 (read once, from the first
   trial's view) doubles the candidate's p95. Timed from the fault PUT to the leader's
   ``rolled_back`` event and to weight 0 on every member; 1 process (SQLite) and 3 replicas
   alternate trial by trial. Goal: within one interval of each other.

Prints a markdown table, writes ``bench/results/replicas.json``; 0 when it ran, 1 when it could not.
``python -m bench.replicas --quick`` runs a few samples of each, for a try-out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cluster import INTERVAL_S, POLICY, Admin, Gateway, config_yaml, leader_of
from bench.harness import free_port, process
from bench.postgres import PostgresMissing, PostgresServer, running_server
from bench.replicas_measures import (
    failover,
    propagation,
    rollback_trial,
    summary,
    workers_throughput,
)
from gateway.build_hotpath import up_to_date

REPOSITORY = Path(__file__).resolve().parents[1]
RESULTS = REPOSITORY / "bench" / "results" / "replicas.json"
TOTAL_RPS = 150.0
UPSTREAM_MEDIAN_MS = 10.0
WARMUP_S = 6.0  # longer than the 4 s window: the fault meets a window of healthy traffic only
WINDOW_S = 4.0


@dataclass(frozen=True)
class Settings:
    duration: float = 4.0
    rounds: int = 4
    connections: int = 64
    propagation: int = 40
    failovers: int = 4
    trials: int = 4
    seed: int = 13


QUICK = Settings(duration=2.0, rounds=2, propagation=5, failovers=1, trials=1)


def _upstream(stack: ExitStack, median_ms: float) -> int:
    port = free_port()
    argv = [sys.executable, "-m", "bench.slow_upstream", str(port), str(median_ms)]
    stack.enter_context(process(argv, f"http://127.0.0.1:{port}/", {"PYTHONPATH": str(REPOSITORY)}))
    return port


def _gateway(
    tmp: Path, name: str, upstream: int, state_db: str, *, workers: int = 1, replica: bool = False
) -> Gateway:
    public, admin = free_port(), free_port()
    config = tmp / f"{name}.yaml"
    cache = tmp / f"{name}-snapshot.json" if replica else None
    config.write_text(config_yaml(upstream, public, admin, state_db, cache), "utf-8")
    gateway = Gateway(name, config, public, admin, tmp / f"{name}.log", workers=workers)
    gateway.replica = name if replica else None
    return gateway


def measure_workers(tmp: Path, s: Settings) -> dict[str, Any]:
    with ExitStack() as stack:
        upstream = _upstream(stack, 0.0)
        gateways = {}
        for n in (1, 2):
            gateways[n] = _gateway(tmp, f"workers{n}", upstream, str(tmp / f"w{n}.db"), workers=n)
            gateways[n].start()
            stack.callback(gateways[n].stop)
        return workers_throughput(gateways, s.rounds, s.duration, s.connections)


async def _cluster(
    replicas: list[Gateway], single: Gateway, s: Settings, rng: random.Random
) -> dict[str, Any]:
    admins, one = [Admin(g) for g in replicas], Admin(single)
    try:
        await leader_of(admins)
        out: dict[str, Any] = {"propagation_ms": await propagation(admins, s.propagation, rng)}
        out["failover_s"] = await failover(replicas, admins, s.failovers, rng)
        chosen: list[float] = []

        def delay_ms(view: dict[str, Any]) -> float:
            if not chosen:  # the same regression for every trial: the first baseline p95
                chosen.append(round(float(view["backends"]["baseline"]["p95_ms"]), 1))
            return chosen[0]

        groups = {"single": [one], "replicas": admins}
        trials: dict[str, list[dict[str, Any]]] = {name: [] for name in groups}
        for index in range(s.trials):
            for name in ("single", "replicas") if index % 2 == 0 else ("replicas", "single"):
                if trials[name]:  # the last trial's slow candidate samples leave the window first
                    idle = time.monotonic() - trials[name][-1]["ended_at"]
                    await asyncio.sleep(max(0.0, WINDOW_S + 1.0 - idle))
                trial = await rollback_trial(
                    groups[name], delay_ms, total_rps=TOTAL_RPS, warmup_s=WARMUP_S, rng=rng
                )
                trials[name].append(trial)
        out["rollback"] = _rollback_result(trials, chosen[0])
        return out
    finally:
        for admin in [*admins, one]:
            await admin.aclose()


def _rollback_result(trials: dict[str, list[dict[str, Any]]], delay: float) -> dict[str, Any]:
    out: dict[str, Any] = {"delay_ms": delay}
    for name, runs in trials.items():
        for run in runs:
            run.pop("ended_at", None)
        out[name] = {
            "decision_s": summary([r["decision_s"] for r in runs]),
            "all_at_zero_s": summary([r["all_at_zero_s"] for r in runs]),
            "trials": runs,
        }
    for key in ("decision_s", "all_at_zero_s"):
        out[f"difference_{key}"] = round(out["replicas"][key]["p50"] - out["single"][key]["p50"], 3)
    out["goal_s"] = INTERVAL_S
    out["met"] = abs(out["difference_all_at_zero_s"]) <= INTERVAL_S
    return out


def measure_cluster(tmp: Path, server: PostgresServer, s: Settings) -> dict[str, Any]:
    with ExitStack() as stack:
        upstream = _upstream(stack, UPSTREAM_MEDIAN_MS)
        replicas = [_gateway(tmp, f"r{i}", upstream, server.url(), replica=True) for i in range(3)]
        single = _gateway(tmp, "single", upstream, str(tmp / "single.db"))
        for gateway in [*replicas, single]:
            stack.callback(gateway.stop)
            gateway.start()
        return asyncio.run(_cluster(replicas, single, s, random.Random(s.seed)))


def run(s: Settings) -> dict[str, Any]:
    started, load = time.monotonic(), os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="cutover-bench-replicas-"))
    try:
        workers = measure_workers(tmp, s)
        with running_server() as server:
            cluster = measure_cluster(tmp, server, s)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        "setup": {
            **s.__dict__,
            "cpus": len(os.sched_getaffinity(0)),
            "topology": "wrk pinned to cpu1 (1 thread); gateways, upstream, PostgreSQL unpinned",
            "total_rps": TOTAL_RPS,
            "upstream_median_ms": UPSTREAM_MEDIAN_MS,
            "policy": POLICY,
            "interval_s": INTERVAL_S,
            "warmup_s": WARMUP_S,
            "gateway_compiled": up_to_date(),
            "loadavg_at_start": load,
        },
        "workers": workers,
        **cluster,
        "elapsed_s": round(time.monotonic() - started, 1),
    }


def table(r: dict[str, Any]) -> str:
    w, p, f, rb = r["workers"], r["propagation_ms"], r["failover_s"], r["rollback"]
    cpu = w["cpu_us_per_request"]
    single, many = rb["single"], rb["replicas"]

    def times(x: dict[str, Any]) -> str:
        return ", ".join(f"{v:.2f}" for v in x["values"])

    rows = [
        "| measure | value | notes |",
        "| --- | --- | --- |",
        f"| `--workers 1` | {w['rps']['1']:.0f} req/s, {cpu['1']:.0f} µs CPU/request | "
        f"wrk 1 thread, {r['setup']['connections']} conns; other processes took "
        f"{w['others_cpu_share']:.0%} of the host (median); {w['quiet_rounds']} quiet rounds, "
        f"{w['busy_rounds']} busy ones "
        f"{'used: too few quiet' if w['busy_rounds_used'] else 'set aside'} |",
        f"| `--workers 2` | {w['rps']['2']:.0f} req/s, {cpu['2']:.0f} µs CPU/request | "
        f"**{w['ratio']:.2f}x** of 1 worker (median of {len(w['ratios'])} rounds: "
        f"{', '.join(f'{x:.2f}' for x in w['ratios'])}) |",
        f"| weight propagation, 3 replicas | p50 {p['p50']:.0f} ms, p99 {p['p99']:.0f} ms | "
        f"{p['samples']} samples, max {p['max']:.0f} ms (p99 nearest rank) |",
        f"| leader failover (kill -9) | p50 {f['p50']:.2f} s, max {f['max']:.2f} s | "
        f"{f['samples']} samples: {times(f)} s |",
        "| 2x p95 to rollback, 1 process | "
        f"decision {single['decision_s']['p50']:.2f} s, weight 0 "
        f"{single['all_at_zero_s']['p50']:.2f} s | "
        f"weight 0 per trial: {times(single['all_at_zero_s'])} s |",
        "| 2x p95 to rollback, 3 replicas | "
        f"decision {many['decision_s']['p50']:.2f} s, weight 0 everywhere "
        f"{many['all_at_zero_s']['p50']:.2f} s | "
        f"weight 0 per trial: {times(many['all_at_zero_s'])} s |",
        "| difference (3 replicas - 1 process) | "
        f"{rb['difference_all_at_zero_s']:+.2f} s "
        f"(decision {rb['difference_decision_s']:+.2f} s) | "
        f"goal within {rb['goal_s']:g} s: {'met' if rb['met'] else 'MISSED'} |",
    ]  # fmt: skip
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run the suite (defaults when ``argv`` is None, as ``python -m bench`` calls it)."""
    parser = argparse.ArgumentParser(prog="python -m bench.replicas")
    parser.add_argument("--quick", action="store_true", help="a few samples of each")
    args = parser.parse_args(argv or [])
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        print(f"cannot run: missing {', '.join(missing)} (make system-deps)")
        return 1
    try:
        result = run(QUICK if args.quick else Settings())
    except (PostgresMissing, RuntimeError, TimeoutError, subprocess.CalledProcessError) as exc:
        print(f"cannot run: {exc}")
        return 1
    print(table(result))
    rb = result["rollback"]
    print(
        f"\nTopology: {result['setup']['topology']}, {result['setup']['cpus']} CPUs. Rollback: "
        f"candidate delay {rb['delay_ms']:g} ms, {TOTAL_RPS:g} req/s in total, "
        f"policy {POLICY}, interval {INTERVAL_S:g} s."
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS.relative_to(REPOSITORY)} ({result['elapsed_s']:g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
