#!/usr/bin/env bash
# Contract checks, the same locally and in CI:
#   1. export --check  the checked-in contracts/openapi.json is what the FastAPI app exports
#   2. diff            no breaking change from CONTRACT_BASE (default: the checked-in contract) to the app's
#   3. check           the candidate answers like the baseline on every operation, writes included
#   4. replay          traffic recorded from the baseline replays on the candidate without deviations
# Both backends run on 127.0.0.1 over a throw-away project root and SQLite file. Every step runs even
# if an earlier one failed; the script exits 1 if any failed (2 if the backends could not start).
#
# Environment:
#   PYTHON                 interpreter with the project installed (default: .venv/bin/python)
#   CONTRACT_BASE          the contract to diff against (e.g. the main branch's copy)
#   REPORT_DIR             where JUnit/Markdown/JSON reports go (default: a temporary directory)
#   LLMSTRUCT_BRIDGE_MODE  baseline bridge: inprocess (default here, fast) or subprocess (the legacy CLI path)
#   MAX_EXAMPLES           generated cases per operation for `check` (default 5)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/contract-checks.XXXXXX")"
REPORTS="${REPORT_DIR:-$WORK/reports}"
mkdir -p "$REPORTS" "$WORK/project/pkg"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK/project" "$WORK/llmstruct.db"*
    if [ -n "${REPORT_DIR:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

cutover() { "$PY" -m migration.cli.main "$@"; }

# A small project for the backends to scan.
printf '[project]\nname = "ci-demo"\nversion = "0.0.1"\n' > "$WORK/project/pyproject.toml"
printf '' > "$WORK/project/pkg/__init__.py"
printf 'class A:\n    def f(self):\n        return 1\n' > "$WORK/project/pkg/core.py"

export LLMSTRUCT_PROJECT_ROOT="$WORK/project"
export LLMSTRUCT_DATABASE="$WORK/llmstruct.db"
export LLMSTRUCT_API_KEY="${LLMSTRUCT_API_KEY:-ci-contract-key}"
export LLMSTRUCT_BRIDGE_MODE="${LLMSTRUCT_BRIDGE_MODE:-inprocess}"

read -r BASELINE_PORT CANDIDATE_PORT < <("$PY" - <<'EOF'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
for s in socks:
    s.close()
EOF
)
BASELINE="http://127.0.0.1:$BASELINE_PORT"
CANDIDATE="http://127.0.0.1:$CANDIDATE_PORT"

"$PY" -m fastapi_backend --host 127.0.0.1 --port "$BASELINE_PORT" > "$REPORTS/baseline.log" 2>&1 &
PIDS+=($!)
"$PY" -m custom_backend --host 127.0.0.1 --port "$CANDIDATE_PORT" > "$REPORTS/candidate.log" 2>&1 &
PIDS+=($!)

if ! "$PY" - "$BASELINE" "$CANDIDATE" "${PIDS[@]}" <<'EOF'
import os, sys, time
import httpx
urls, pids = sys.argv[1:3], [int(p) for p in sys.argv[3:]]
deadline = time.monotonic() + 60
for url in urls:
    while True:
        try:
            httpx.get(url + "/api/v1/system/health", timeout=1.0)
            break
        except httpx.HTTPError:
            for pid in pids:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    sys.exit(f"a backend exited before answering {url}")
            if time.monotonic() > deadline:
                sys.exit(f"{url} did not answer within 60s")
            time.sleep(0.1)
EOF
then
    echo "contract-checks: backends did not start; logs in $REPORTS" >&2
    cat "$REPORTS/baseline.log" "$REPORTS/candidate.log" >&2
    exit 2
fi

FAILED=()
FORMAT=text
[ "${GITHUB_ACTIONS:-}" = "true" ] && FORMAT=github

step() {
    local name="$1"
    shift
    echo "== $name"
    if "$@"; then
        echo "== $name: ok"
    else
        echo "== $name: FAILED"
        FAILED+=("$name")
    fi
}

summary() {
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$1" ]; then
        cat "$1" >> "$GITHUB_STEP_SUMMARY"
    fi
}

step "export --check" cutover contracts export --check

"$PY" -c 'import sys; from pathlib import Path; from contracts.export import write_openapi; write_openapi(Path(sys.argv[1]))' "$WORK/exported.json"
step "diff" cutover contracts diff "${CONTRACT_BASE:-contracts/openapi.json}" "$WORK/exported.json" --format "$FORMAT"
cutover contracts diff "${CONTRACT_BASE:-contracts/openapi.json}" "$WORK/exported.json" --format markdown --output "$REPORTS/diff.md" > /dev/null 2>&1 || true
# SARIF for code scanning points at the checked-in contract (identical to the export: export --check),
# since results must name a file in the repository; HTML for people.
cutover contracts diff "${CONTRACT_BASE:-contracts/openapi.json}" contracts/openapi.json --format sarif --output "$REPORTS/diff.sarif" > /dev/null 2>&1 || true
cutover contracts diff "${CONTRACT_BASE:-contracts/openapi.json}" contracts/openapi.json --format html --output "$REPORTS/diff.html" > /dev/null 2>&1 || true
summary "$REPORTS/diff.md"

step "check" cutover contracts check --baseline "$BASELINE" --candidate "$CANDIDATE" --allow-writes \
    --max-examples "${MAX_EXAMPLES:-5}" --format "$FORMAT" \
    --junit "$REPORTS/check.xml" --markdown "$REPORTS/check.md"
summary "$REPORTS/check.md"

# Record a little safe traffic from the baseline the way the gateway does, then replay it.
"$PY" - "$BASELINE" "$WORK/traffic.jsonl" <<'EOF'
import os, sys
import httpx
from contracts.recording import Exchange, Recorder
base, path = sys.argv[1:3]
requests = ["/api/v1/system/health", "/api/v1/system/status", "/api/v1/project/info",
            "/api/v1/tasks?limit=10", "/api/v1/tasks/0123456789abcdef0123456789abcdef",
            "/api/v1/project/context/MINIMAL?max_tokens=500"]
with httpx.Client(base_url=base, headers={"x-api-key": os.environ["LLMSTRUCT_API_KEY"]}) as client, Recorder(path) as rec:
    for target in requests:
        response = client.get(target)
        route, _, query = target.partition("?")
        rec.record(Exchange("GET", route, query, list(response.request.headers.multi_items()), b"",
                            response.status_code, list(response.headers.multi_items()), response.content))
EOF
step "replay" cutover contracts replay "$WORK/traffic.jsonl" --candidate "$CANDIDATE" \
    --contract contracts/openapi.json --format "$FORMAT" --junit "$REPORTS/replay.xml" --markdown "$REPORTS/replay.md"
summary "$REPORTS/replay.md"

echo "reports: $REPORTS"
if [ "${#FAILED[@]}" -gt 0 ]; then
    echo "contract-checks: FAILED: ${FAILED[*]}" >&2
    exit 1
fi
echo "contract-checks: all passed"
