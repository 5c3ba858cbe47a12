#!/usr/bin/env bash
# Load bench of the embedded mock (measured, not asserted).
#
# Builds the release examples, then for each server (the mock, and a bare axum baseline)
# drives GET /api/agent/v1/health over loopback with wrk until at least REQUESTS requests
# were served, and reports requests/s and the server's RSS (VmRSS / VmHWM) before and after.
#
# Usage: bench/mock-load.sh [REQUESTS] [THREADS]
#   REQUESTS  minimum requests per server (default 1000000)
#   THREADS   server runtime worker threads (default 1 = current-thread runtime)
# Env: WRK_THREADS (1), WRK_CONNS (64), CARGO_TARGET_DIR (default ./target)
#
# Client and server share the machine's cores, so anything else running (a cargo build)
# shows up directly in req/s: compare the two rows of one run, not runs with each other.
set -euo pipefail

REQUESTS=${1:-1000000}
THREADS=${2:-1}
WRK_THREADS=${WRK_THREADS:-1}
WRK_CONNS=${WRK_CONNS:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
MOCK_PORT=18580
HELLO_PORT=18581
# The fixture key `bench` (Demo Coffee, [read], rate_limit 100000000): a published test value.
BENCH_KEY=rl_agent_O28s0iMRZEYpP0YYPpkFy5YV0CspAw2PKEhaqvhZ

if ! command -v wrk >/dev/null 2>&1; then
    echo "installing wrk..." >&2
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq >/dev/null
    $SUDO apt-get install -y -qq wrk >/dev/null
fi

(cd "$ROOT" && cargo build --release --quiet --example mock_server --example hello_axum)

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

rss() { awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {printf "%.1f MB / %.1f MB", r/1024, h/1024}' "/proc/$1/status"; }

wait_port() {
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    echo "server on port $1 did not start" >&2
    return 1
}

# Runs wrk in rounds of 10 s until REQUESTS were served; prints "requests seconds".
drive() {
    local port=$1 total=0 secs=0 out n dur
    while [ "$total" -lt "$REQUESTS" ]; do
        out=$(wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d10s -H "X-Agent-Key: $BENCH_KEY" \
            "http://127.0.0.1:$port/api/agent/v1/health")
        n=$(echo "$out" | awk '/requests in/ {print $1}')
        dur=$(echo "$out" | awk '/requests in/ {gsub(/s,/, "", $4); print $4}')
        if echo "$out" | grep -q "Non-2xx"; then echo "$out" >&2; echo "non-2xx answers" >&2; exit 1; fi
        total=$((total + n))
        secs=$(awk -v a="$secs" -v b="$dur" 'BEGIN {print a + b}')
    done
    echo "$total $secs"
}

bench() {
    local name=$1 port=$2; shift 2
    "$@" >/dev/null 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_port "$port"
    local before
    before=$(rss "$pid")
    read -r total secs < <(drive "$port")
    local after
    after=$(rss "$pid")
    printf "| %-11s | %9d | %6.1f | %9.0f | %-17s | %-17s |\n" "$name" "$total" "$secs" \
        "$(awk -v a="$total" -v b="$secs" 'BEGIN {print a / b}')" "$before" "$after"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

echo "wrk -t$WRK_THREADS -c$WRK_CONNS, server threads $THREADS, $(nproc) cores, >= $REQUESTS requests each"
echo "| server      |  requests |      s |     req/s | RSS/HWM start     | RSS/HWM end       |"
echo "|-------------|-----------|--------|-----------|-------------------|-------------------|"
bench "mock" "$MOCK_PORT" "$TARGET/release/examples/mock_server" --port "$MOCK_PORT" --threads "$THREADS"
bench "hello_axum" "$HELLO_PORT" "$TARGET/release/examples/hello_axum" --port "$HELLO_PORT" --threads "$THREADS"
