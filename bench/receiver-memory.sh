#!/usr/bin/env bash
# Memory bench of launchgate's webhook receiver (measured, not asserted in tests).
#
# Starts `launchgate run` on a one-step scenario whose `receive:` waits for POSTS
# deliveries, posts POSTS bodies of SIZE bytes to the receiver's URL (its path token:
# every one is stored, so the total-memory bound is what keeps the process small),
# and reports the process's peak RSS (VmHWM) against a baseline: the same run that
# receives one small delivery.
#
# Usage: bench/receiver-memory.sh [POSTS] [SIZE]
#   POSTS  deliveries (default 2000)
#   SIZE   body bytes each (default 204800 = 200 KB)
# Env: LAUNCHGATE (the binary; default target/release/launchgate, else target/debug)
#
# The ceiling: the receiver keeps at most 8 MiB of deliveries (bodies, headers and
# bookkeeping; receiver::MAX_TOTAL, about a thousand typical vendor events) and refuses
# bodies over 256 KiB. While a `receive:` step waits, each new delivery makes it build
# the deliveries' JSON pseudo-body and judge it (a few working copies of the 8 MiB),
# so the ceiling is baseline + 64 MiB: 8 kept, up to ~5 working copies, allocator slack.
# Before the bound, 2,000 posts of 200 KB took the receiver to 1.26 GB.
# Measured on the 2-core dev machine, debug build: baseline 30 MiB, peak 76 MiB (2.49x).
set -euo pipefail

POSTS=${1:-2000}
SIZE=${2:-204800}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${LAUNCHGATE:-}
if [ -z "$BIN" ]; then
    if [ -x "$ROOT/target/release/launchgate" ]; then BIN="$ROOT/target/release/launchgate"
    else (cd "$ROOT" && cargo build --quiet) && BIN="$ROOT/target/debug/launchgate"; fi
fi
WORK=$(mktemp -d)
PID=""
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
TOKEN=bench-receiver-token-0001

# One run: receives N bodies of S bytes; prints the peak RSS in KiB.
measure() {
    local n=$1 s=$2 port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat > "$WORK/wait.yaml" <<EOF
cases:
  - name: receive the bench's posts
    steps:
      - receive:
          within: 600s
          until:
            json:
              \$.received: {ge: $((n + 1))}
EOF
    (cd "$WORK" && exec "$BIN" run wait.yaml --target http://127.0.0.1:9 -q \
        --webhook-listen "127.0.0.1:$port" --webhook-token "$TOKEN" \
        --junit j.xml --json r.json --max-wait 10m >/dev/null 2>&1) &
    PID=$!
    python3 - "$port" "$n" "$s" "$TOKEN" <<'PY'
import http.client, json, sys, time
port, n, size, token = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
for _ in range(500):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30); c.connect(); break
    except OSError:
        time.sleep(0.02)
pad = "x" * max(0, size - 40)
for i in range(n):
    body = json.dumps({"id": f"evt_{i}", "pad": pad}).encode()
    c.request("POST", f"/webhooks/{token}", body, {"Content-Type": "application/json"})
    r = c.getresponse(); r.read()
    if r.status != 200:
        sys.exit(f"post {i}: HTTP {r.status}")
PY
    local hwm
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status" 2>/dev/null || echo 0)
    # One more delivery ends the run.
    python3 -c "import http.client,sys; c=http.client.HTTPConnection('127.0.0.1',$port,timeout=30); c.request('POST','/webhooks/$TOKEN',b'{\"id\":\"end\"}'); c.getresponse().read()"
    wait "$PID" || true
    PID=""
    echo "$hwm"
}

base=$(measure 1 100)
peak=$(measure "$POSTS" "$SIZE")
ceiling=$((base + 64 * 1024))
echo "receiver under $POSTS posts of $SIZE bytes ($((POSTS * SIZE / 1048576)) MiB sent)"
echo "  baseline peak RSS (1 small delivery): $((base / 1024)) MiB"
echo "  peak RSS:                             $((peak / 1024)) MiB  (ratio $(python3 -c "print(round($peak/$base, 2))"))"
echo "  ceiling (baseline + 64 MiB):          $((ceiling / 1024)) MiB"
if [ "$peak" -le "$ceiling" ]; then echo "  within the ceiling"; else echo "  ABOVE the ceiling"; exit 1; fi
