#!/usr/bin/env bash
# launchgate against peers at a realistic latency, loopback only, every step bounded.
#
#   bash bench/latency.sh                 # 50 ms and 0 ms per request, 5 paired runs
#   RUNS=9 LATENCIES="50ms" bash bench/latency.sh
#
# One standalone `launchgate mock --latency L --rate-window 2s` per latency. Timed,
# interleaved run by run (bench/latency.py), each after a mock reset:
#   full suite:            launchgate (its default --jobs for a URL target),
#                          Hurl --jobs 1, --jobs 4, --jobs 8
#   without the rate-limit case (its 2 s Retry-After): the same four
#   auth (8 one-request cases): launchgate, Hurl --jobs 8, Tavern (pytest)
# and the physical limit of each suite (the longest chain of requests and waits that
# nothing can shorten, lock groups in series: bench/latency.py limit), from
# launchgate's own JSON report of a sanity run. Writes $OUT/latency.md.
# Needs Hurl (bench/run.sh installs it) and Tavern (installed here in a venv).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-5}"
LATENCIES="${LATENCIES:-50ms 0ms}"
PORT="${PORT:-18481}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
OUT="$TARGET_DIR/bench"
BIN="$TARGET_DIR/release/launchgate"
VENV="$TARGET_DIR/bench-venv"
mkdir -p "$OUT"
export PATH="$HOME/.cargo/bin:$PATH"
say() { printf '\n== %s\n' "$*" >&2; }

command -v hurl >/dev/null || { echo "Hurl is missing: run bench/run.sh once (it installs it)" >&2; exit 2; }
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; } >&2
python3 -c 'import yaml' 2>/dev/null || pip install -q pyyaml >&2
if [ ! -x "$VENV/bin/pytest" ]; then
  say "installing Tavern (venv $VENV)"
  python3 -m venv "$VENV"
  # Pinned: Tavern 3.7 imports pytest internals that pytest 9 removed.
  "$VENV/bin/pip" install -q tavern==3.7.1 "pytest==8.4.2" >&2
fi
say "cargo build --release"
timeout 1800 cargo build --release --quiet >&2

MOCK_PID=""
stop_mock() { if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; MOCK_PID=""; fi; }
trap stop_mock EXIT

python3 bench/hurl/gen.py 2>/dev/null
HURL_FILES=(bench/hurl/cases/*.hurl)
NO_RL_FILES=()
for f in "${HURL_FILES[@]}"; do [[ $f == *lock-ratelimit-key.hurl ]] || NO_RL_FILES+=("$f"); done
AUTH_FILES=(bench/hurl/cases/auth-*.hurl)

{
  echo "# launchgate vs peers at a per-request latency"
  echo
  echo "machine: $(nproc) cores, $(uname -srm); load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%FT%TZ); $RUNS paired runs"
} >"$OUT/latency.md"

for LAT in $LATENCIES; do
  say "launchgate mock --latency $LAT on 127.0.0.1:$PORT"
  "$BIN" mock --port "$PORT" --rate-window 2s --latency "$LAT" >"$OUT/mock-$LAT.log" 2>&1 &
  MOCK_PID=$!
  URL="http://127.0.0.1:$PORT"
  for _ in $(seq 1 100); do curl -sf "$URL/__launchgate/fixtures" -o "$OUT/fixtures.json" && break; sleep 0.1; done
  test -s "$OUT/fixtures.json" || { echo "the mock did not start" >&2; exit 1; }

  # Inputs as a CI job passes them: LAUNCHGATE_* for launchgate (and Tavern), a
  # variables file for Hurl (its clock-dependent ones come from bench/hurl/run-hurl.sh).
  ENV_FILE="$OUT/latency.env"
  HURL_VARS="$OUT/latency-hurl.vars"
  FAKE="rl_agent_$(printf 'Z%.0s' $(seq 40))"
  printf 'LG_BASE=%s\nLG_FAKE_AGENT_KEY=%s\n' "$URL" "$FAKE" >"$ENV_FILE"
  printf 'base=%s\nrun_id=lg-bench\ntarget_role=partner\nfake_agent_key=%s\nfake_member_key=rl_member_%s\n' \
    "$URL" "$FAKE" "$(printf 'Z%.0s' $(seq 40))" >"$HURL_VARS"
  jq -r '.keys | to_entries[] | "LAUNCHGATE_\(.key | ascii_upcase)_KEY=\(.value)"' "$OUT/fixtures.json" >>"$ENV_FILE"
  jq -r '.fixtures | to_entries[] | "LAUNCHGATE_\(.key | ascii_upcase)=\(.value)"' "$OUT/fixtures.json" >>"$ENV_FILE"
  jq -r '.keys | to_entries[] | "key_\(.key)=\(.value)"' "$OUT/fixtures.json" >>"$HURL_VARS"
  jq -r '.fixtures | to_entries[] | "fx_\(.key)=\(.value)"' "$OUT/fixtures.json" >>"$HURL_VARS"
  echo "key_integration=$(jq -r '.keys.partner_pos' "$OUT/fixtures.json")" >>"$HURL_VARS"
  cat >"$OUT/latency-target.yaml" <<EOF
name: bench-mock
base_url: $URL
integration_key: partner_pos
role: partner
needs: [read, "write:transactions", "write:rewards"]
EOF
  RESET="curl -sf -X POST $URL/__launchgate/reset -o /dev/null"
  # Every launchgate run starts without a previous report, so its schedule comes
  # from the scenarios alone (no help from an earlier run's durations).
  LG="rm -f $OUT/lt.json; env \$(cat $ENV_FILE) $BIN run -q --target $OUT/latency-target.yaml --allow-writes --allow-incomplete --junit $OUT/lt.xml --json $OUT/lt.json --checklist $OUT/lt.md"
  HURL="bench/hurl/run-hurl.sh $HURL_VARS --test"
  TAVERN="env \$(cat $ENV_FILE) $VENV/bin/pytest bench/tavern"

  say "sanity runs ($LAT): every tool passes, launchgate's report gives the limits"
  for s in full no-rl auth; do
    case $s in
      full) args="" ;; no-rl) args="--skip 'rate limit exceeded'" ;; auth) args="scenarios/agent-api/auth.yaml" ;;
    esac
    $RESET
    eval "$LG $args" >"$OUT/lt-$s.log" 2>&1 || { echo "launchgate ($s) failed: $OUT/lt-$s.log" >&2; exit 1; }
    cp "$OUT/lt.json" "$OUT/lt-$s-$LAT.json"
  done
  $RESET
  $HURL --jobs 4 "${HURL_FILES[@]}" >"$OUT/hurl-sanity.log" 2>&1 || { echo "hurl failed: $OUT/hurl-sanity.log" >&2; exit 1; }
  eval "$TAVERN" >"$OUT/tavern-sanity.log" 2>&1 || { echo "tavern failed: $OUT/tavern-sanity.log" >&2; exit 1; }
  ms="${LAT%ms}"
  {
    echo "{"
    echo "\"full\": $(python3 bench/latency.py limit "$OUT/lt-full-$LAT.json" "$ms" scenarios/agent-api),"
    echo "\"no-rl\": $(python3 bench/latency.py limit "$OUT/lt-no-rl-$LAT.json" "$ms" scenarios/agent-api),"
    echo "\"auth\": $(python3 bench/latency.py limit "$OUT/lt-auth-$LAT.json" "$ms" scenarios/agent-api)"
    echo "}"
  } >"$OUT/limits-$LAT.json"

  say "timing at $LAT ($RUNS paired runs)"
  python3 bench/latency.py time "$OUT/times-$LAT.json" "$RUNS" "$RESET" \
    "full:launchgate=$LG" \
    "full:hurl --jobs 1=$HURL --jobs 1 ${HURL_FILES[*]}" \
    "full:hurl --jobs 4=$HURL --jobs 4 ${HURL_FILES[*]}" \
    "full:hurl --jobs 8=$HURL --jobs 8 ${HURL_FILES[*]}" \
    "no-rl:launchgate=$LG --skip 'rate limit exceeded'" \
    "no-rl:hurl --jobs 1=$HURL --jobs 1 ${NO_RL_FILES[*]}" \
    "no-rl:hurl --jobs 4=$HURL --jobs 4 ${NO_RL_FILES[*]}" \
    "no-rl:hurl --jobs 8=$HURL --jobs 8 ${NO_RL_FILES[*]}" \
    "auth:launchgate=$LG scenarios/agent-api/auth.yaml" \
    "auth:hurl --jobs 8=$HURL --jobs 8 ${AUTH_FILES[*]}" \
    "auth:tavern=$TAVERN"
  {
    echo
    echo "## $LAT per request"
    echo
    python3 bench/latency.py table "$OUT/times-$LAT.json" "$OUT/limits-$LAT.json"
  } >>"$OUT/latency.md"
  stop_mock
done
echo >>"$OUT/latency.md"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/latency.md"
cat "$OUT/latency.md"
