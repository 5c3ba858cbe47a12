#!/usr/bin/env bash
# Memory bench of the mock under long URLs (measured here, not asserted in tests).
#
# Starts `launchgate mock` (default limits: journal 10,000 entries / 32 MiB, URLs kept to
# 2 KiB per entry), sends REQUESTS requests whose URL carries URL_KB KiB of query over
# loopback (python3, standard library, 8 keep-alive connections), then reads the whole
# journal once (limit=100000: served as one page of at most 1,000 entries / 4 MiB), and
# reports the mock's RSS (VmRSS, and the peak VmHWM) before, after the requests and after
# the read.
#
# Ceiling: 150 MiB peak RSS. Why: the journal holds at most 32 MiB by its own estimate
# (about 10,000 cut entries here), one journal page is at most 4 MiB of JSON, and the
# rest is the runtime, the fixtures and allocator slack (about 10-20 MiB at start). The
# unbounded journal this replaced reached 674 MB on the same load, and one read 1.9 GB.
#
# Usage: bench/mock-memory.sh [REQUESTS] [URL_KB]   (defaults 10000 and 16)
# Env: LAUNCHGATE (the binary; default: builds target/release/launchgate)
set -euo pipefail

REQUESTS=${1:-10000}
URL_KB=${2:-16}
CEILING_MB=150
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=18590
if [ -z "${LAUNCHGATE:-}" ]; then
    (cd "$ROOT" && cargo build --release --quiet)
    LAUNCHGATE=$ROOT/target/release/launchgate
fi

"$LAUNCHGATE" mock --port "$PORT" >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
sleep 0.5

rss() { awk -v k="$1" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }
echo "| stage | RSS MiB | peak MiB |"
echo "|---|---|---|"
echo "| started | $(rss VmRSS) | $(rss VmHWM) |"

python3 - "$PORT" "$REQUESTS" "$URL_KB" <<'PY'
import http.client, sys, threading
port, total, kb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
query = "q=" + "x" * (kb * 1024)
def worker(n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(n):
        c.request("GET", f"/api/agent/v1/partner/cards?i={i}&{query}")
        c.getresponse().read()
threads = [threading.Thread(target=worker, args=(total // 8,)) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
PY
echo "| after $REQUESTS requests of ${URL_KB} KiB URLs | $(rss VmRSS) | $(rss VmHWM) |"

BYTES=$(python3 -c "import urllib.request,sys; print(len(urllib.request.urlopen('http://127.0.0.1:$PORT/__launchgate/journal?after=0&limit=100000').read()))")
echo "| after one journal read ($BYTES bytes) | $(rss VmRSS) | $(rss VmHWM) |"

PEAK=$(rss VmHWM)
if awk -v p="$PEAK" -v c="$CEILING_MB" 'BEGIN { exit !(p > c) }'; then
    echo "peak RSS ${PEAK} MiB is above the ${CEILING_MB} MiB ceiling" >&2
    exit 1
fi
echo "peak RSS ${PEAK} MiB, ceiling ${CEILING_MB} MiB"
