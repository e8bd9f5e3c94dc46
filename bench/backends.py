"""Both llmstruct stacks side by side: throughput, latency percentiles and memory, in one run.

Three servers run as real processes on 127.0.0.1 over one generated project and one SQLite file:
``fastapi_backend`` with the legacy CLI subprocess bridge, ``fastapi_backend`` with the in-process
bridge (the fair HTTP-layer baseline) and ``custom_backend``. The load generator is ``wrk`` (one
thread, fixed connections, a Lua ``done`` hook for exact p50/p95/p99). Servers are pinned to CPU 0
and wrk to CPU 1 with ``taskset`` when the machine has two CPUs, and runs are interleaved (round →
endpoint → backend) so drift on this shared machine hits every backend alike. RSS is ``VmRSS`` of
each server process after its load.

Targets (custom vs FastAPI in-process): throughput ≥ 5x, p95 ≤ 0.2x, RSS ≤ 0.5x. The suite
prints a markdown table and the verdicts, writes ``bench/results/backends.json`` and
returns 0 when it ran (targets missed are reported, not a crash), 1 when it could not run
(no wrk, a server did not start).

    python -m bench.backends [--duration S] [--connections N] [--rounds R]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any

from bench.harness import free_port, process

API_KEY = "bench-key"
RESULTS = Path(__file__).resolve().parent / "results" / "backends.json"
REPOSITORY = Path(__file__).resolve().parents[1]
BACKENDS = ("fastapi-subprocess", "fastapi-inprocess", "custom", "custom-nocache")
# Not in the default run: the custom app under granian, kept to re-check the
# server choice (needs granian).
EXTRA_BACKENDS = ("custom-granian",)
ENDPOINTS = {
    "task list": "/api/v1/tasks?limit=20",
    "task get": "/api/v1/tasks/{task_id}",
    "project info": "/api/v1/project/info",
    "context MINIMAL": "/api/v1/project/context/MINIMAL",
}
TARGETS = {"throughput": 5.0, "p95": 0.2, "rss": 0.5}
WRK_LUA = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\\"requests\\":%d,\\"duration_us\\":%d,\\"errors\\":%d,\\"non2xx\\":%d," ..
    "\\"p50_us\\":%d,\\"p95_us\\":%d,\\"p99_us\\":%d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Sample:
    """One wrk run of one backend on one endpoint."""

    backend: str
    endpoint: str
    round: int
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    non_2xx: int


def make_project(root: Path, modules: int = 40) -> None:
    """A project of ``modules`` small Python files in a few packages, plus docs and a pyproject."""
    (root / "pyproject.toml").write_text(
        '[project]\nname = "bench-project"\nversion = "0.0.1"\ndescription = "benchmark sample"\n'
    )
    (root / "README.md").write_text("# bench\n" + "text line\n" * 50)
    for index in range(modules):
        package = root / f"pkg{index % 4}"
        package.mkdir(exist_ok=True)
        body = [f'"""Module {index}."""', "", f"class Model{index}:", '    """A model."""', ""]
        for method in range(6):
            body += [
                f"    def method_{method}(self, value: int) -> int:",
                "        return value * 2",
                "",
            ]
        body += [f"def helper_{index}(a: int, b: int = 1) -> int:", "    return a + b", ""]
        (package / f"module_{index}.py").write_text("\n".join(body))


def seed(root: Path, database: Path, tasks: int = 100) -> str:
    """Create ``tasks`` tasks and one scan through the engine; returns one task id to GET."""
    from engine import Engine
    from engine.settings import LlmstructSettings

    engine = Engine(LlmstructSettings(project_root=root, database=database, api_key=API_KEY))
    try:
        task_id = ""
        for index in range(tasks):
            task = engine.create_task(
                {
                    "title": f"Task {index}",
                    "description": "benchmark task " * 4,
                    "priority": ("low", "medium", "high", "urgent")[index % 4],
                    "tags": ["bench", f"t{index % 5}"],
                    "estimated_effort": "1h",
                }
            )
            task_id = task["id"]
        engine.scan()
        return task_id
    finally:
        engine.close()


def pinned(argv: list[str], cpu: int | None) -> list[str]:
    """``argv`` under ``taskset -c cpu`` when pinning is possible."""
    if cpu is None or shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(cpu), *argv]


@contextmanager
def server(
    name: str, port: int, env: dict[str, str], cpu: int | None
) -> Iterator[subprocess.Popen[bytes]]:
    """One backend as a real process on loopback, until the block ends
    (:func:`bench.harness.process`)."""
    module = "custom_backend" if name.startswith("custom") else "fastapi_backend"
    argv = [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", str(port)]
    if name == "custom-nocache":
        argv.append("--no-cache")
    if name == "custom-granian":
        granian = str(Path(sys.executable).with_name("granian"))
        argv = [
            granian, "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
            "--loop", "uvloop", "--http", "1", "--workers", "1", "--log-level", "warning",
            "--factory", "custom_backend.app:create_app",
        ]  # fmt: skip
    if name.startswith("fastapi"):
        env = {**env, "LLMSTRUCT_BRIDGE_MODE": name.removeprefix("fastapi-")}
    ready = f"http://127.0.0.1:{port}/api/v1/system/health"
    with process(pinned(argv, cpu), ready, env, cwd=REPOSITORY) as proc:
        yield proc


def run_wrk(
    url: str, seconds: int, connections: int, script: Path, cpu: int | None
) -> dict[str, Any]:
    """One wrk run; the Lua ``done`` hook prints the numbers as one JSON line."""
    argv = pinned(
        [
            "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
            "-H", f"X-API-Key: {API_KEY}", "-s", str(script), url,
        ],
        cpu,
    )  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("WRK_JSON "):
            return dict(json.loads(line.removeprefix("WRK_JSON ")))
    raise RuntimeError(f"wrk printed no result:\n{out}")


def measure(
    url: str,
    seconds: int,
    connections: int,
    script: Path,
    cpu: int | None,
    pid: int,
    attempts: int = 3,
) -> dict[str, Any]:
    """One measured run; a run with no completed request at all is
    repeated (at most ``attempts`` times).

    This machine is shared: now and then every process on it stalls for seconds, and a
    run that caught such a stall measures the stall, not the server. Slow but
    answering runs are kept as they are.
    """
    result: dict[str, Any] = {}
    for _ in range(attempts):
        result = run_wrk(url, seconds, connections, script, cpu)
        drain(pid)
        if result["requests"] > 0:
            break
    return result


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the legacy bridge's CLI calls)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def drain(pid: int, timeout: float = 120.0) -> None:
    """Wait until the server has no CLI call left running (wrk stops
    sending, the backlog does not stop).

    Without this the legacy backend's queued subprocesses would keep CPU 0 busy during the next run.
    """
    deadline = time.monotonic() + timeout
    while children(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def rss_kib(pid: int) -> int:
    """``VmRSS`` of a process plus its live children (granian's worker, a running CLI), in KiB."""
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            total = int(line.split()[1])
    return total + sum(rss_kib(child) for child in children(pid))


def summarise(samples: Sequence[Sample], rss: dict[str, int]) -> dict[str, Any]:
    """Median over rounds per backend x endpoint, plus the ratios the targets are about."""
    table: dict[str, dict[str, dict[str, float]]] = {}
    for backend in BACKENDS + EXTRA_BACKENDS:
        for endpoint in ENDPOINTS:
            runs = [s for s in samples if s.backend == backend and s.endpoint == endpoint]
            if not runs:
                continue
            table.setdefault(endpoint, {})[backend] = {
                "rps": round(median(s.rps for s in runs), 1),
                "p50_ms": round(median(s.p50_ms for s in runs), 3),
                "p95_ms": round(median(s.p95_ms for s in runs), 3),
                "p99_ms": round(median(s.p99_ms for s in runs), 3),
                "errors": sum(s.errors + s.non_2xx for s in runs),
            }
    ratios: dict[str, dict[str, float]] = {}
    for endpoint, rows in table.items():
        base, cand, legacy = (
            rows.get("fastapi-inprocess"),
            rows.get("custom"),
            rows.get("fastapi-subprocess"),
        )
        if base and cand:
            ratios[endpoint] = {
                "throughput_x": round(cand["rps"] / base["rps"], 2) if base["rps"] else 0.0,
                "p95_ratio": round(cand["p95_ms"] / base["p95_ms"], 3) if base["p95_ms"] else 0.0,
            }
            if legacy and legacy["rps"]:
                ratios[endpoint]["throughput_x_vs_subprocess"] = round(
                    cand["rps"] / legacy["rps"], 1
                )
    rss_ratio = (
        round(rss["custom"] / rss["fastapi-inprocess"], 3)
        if rss.get("custom") and rss.get("fastapi-inprocess")
        else None
    )
    return {"endpoints": table, "ratios": ratios, "rss_kib": rss, "rss_ratio": rss_ratio}


def render(summary: dict[str, Any], config: dict[str, Any]) -> str:
    """The markdown table and the target verdicts."""
    lines = [
        f"wrk -t1 -c{config['connections']} -d{config['duration_s']}s x {config['rounds']} rounds "
        f"(medians; fastapi-subprocess with -c{config['connections_subprocess']}), "
        f"server on CPU {config['server_cpu']}, wrk on CPU {config['wrk_cpu']}",
        "",
        "| endpoint | backend | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for endpoint, rows in summary["endpoints"].items():
        for backend, row in rows.items():
            lines.append(
                f"| {endpoint} | {backend} | {row['rps']:.1f} | {row['p50_ms']:.2f} | "
                f"{row['p95_ms']:.2f} | {row['p99_ms']:.2f} | {row['errors']:.0f} |"
            )
    lines += ["", "| backend | RSS after load (MiB) |", "| --- | ---: |"]
    for backend, kib in summary["rss_kib"].items():
        lines.append(f"| {backend} | {kib / 1024:.1f} |")
    lines += [
        "",
        "| endpoint | custom ÷ fastapi-inprocess req/s (≥ 5) | p95 ratio (≤ 0.2) | "
        "custom ÷ subprocess req/s |",
    ]
    lines.append("| --- | ---: | ---: | ---: |")
    for endpoint, ratio in summary["ratios"].items():
        ok_t = "✓" if ratio["throughput_x"] >= TARGETS["throughput"] else "✗"
        ok_p = "✓" if ratio["p95_ratio"] <= TARGETS["p95"] else "✗"
        lines.append(
            f"| {endpoint} | {ratio['throughput_x']:.2f} {ok_t} | "
            f"{ratio['p95_ratio']:.3f} {ok_p} | "
            f"{ratio.get('throughput_x_vs_subprocess', 0.0):.1f} |"
        )
    if summary["rss_ratio"] is not None:
        ok_r = "✓" if summary["rss_ratio"] <= TARGETS["rss"] else "✗"
        lines.append(
            f"\nRSS custom ÷ fastapi-inprocess: {summary['rss_ratio']:.3f} {ok_r} (target ≤ 0.5)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparison; see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.backends", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--duration", type=int, default=2, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load first")
    parser.add_argument(
        "--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS + EXTRA_BACKENDS
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    # ``python -m bench`` calls ``main()`` with its own argv in sys.argv:
    # defaults unless given explicitly.
    args = parser.parse_args([] if argv is None else list(argv))
    if shutil.which("wrk") is None:
        print("wrk is not installed (make system-deps installs it)")
        return 1
    two_cpus = (os.cpu_count() or 1) >= 2
    server_cpu, wrk_cpu = (0, 1) if two_cpus else (None, None)
    config = {
        "duration_s": args.duration,
        "connections_subprocess": min(args.connections, 4),
        "connections": args.connections,
        "rounds": args.rounds,
        "warmup_s": args.warmup,
        "server_cpu": server_cpu,
        "wrk_cpu": wrk_cpu,
    }
    with tempfile.TemporaryDirectory(prefix="bench-backends-") as tmp, ExitStack() as stack:
        root = Path(tmp) / "project"
        root.mkdir()
        make_project(root)
        database = Path(tmp) / "llmstruct.db"
        task_id = seed(root, database)
        script = Path(tmp) / "report.lua"
        script.write_text(WRK_LUA)
        env = {
            "LLMSTRUCT_API_KEY": API_KEY,
            "LLMSTRUCT_PROJECT_ROOT": str(root),
            "LLMSTRUCT_DATABASE": str(database),
            "LLMSTRUCT_LOG_LEVEL": "WARNING",
        }
        ports: dict[str, int] = {}
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for name in args.backends:
                ports[name] = free_port()
                procs[name] = stack.enter_context(server(name, ports[name], env, server_cpu))
        except RuntimeError as exc:
            print(f"could not start the servers: {exc}")
            return 1
        samples: list[Sample] = []
        for rnd in range(args.rounds):
            for endpoint, template in ENDPOINTS.items():
                path = template.replace("{task_id}", task_id)
                for name in args.backends:
                    url = f"http://127.0.0.1:{ports[name]}{path}"
                    # One CLI process per request: more connections only queue behind the CPU.
                    conns = (
                        min(args.connections, 4)
                        if name == "fastapi-subprocess"
                        else args.connections
                    )
                    if rnd == 0 and args.warmup > 0:
                        run_wrk(url, args.warmup, conns, script, wrk_cpu)
                        drain(procs[name].pid)
                    result = measure(url, args.duration, conns, script, wrk_cpu, procs[name].pid)
                    seconds = result["duration_us"] / 1e6
                    samples.append(
                        Sample(
                            backend=name,
                            endpoint=endpoint,
                            round=rnd,
                            requests=result["requests"],
                            rps=result["requests"] / seconds if seconds else 0.0,
                            p50_ms=result["p50_us"] / 1000,
                            p95_ms=result["p95_us"] / 1000,
                            p99_ms=result["p99_us"] / 1000,
                            errors=result["errors"],
                            non_2xx=result["non2xx"],
                        )
                    )
        rss = {name: rss_kib(proc.pid) for name, proc in procs.items()}
    summary = summarise(samples, rss)
    print(render(summary, config), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    document = {"config": config, "summary": summary, "samples": [asdict(s) for s in samples]}
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
