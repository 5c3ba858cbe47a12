#!/usr/bin/env bash
# Renders launchgate's HTML report and takes a screenshot of it with headless
# Chromium (Debian's package; installed with apt-get when absent).
#
#   scripts/screenshot-report.sh [OUT.png] [-- extra `launchgate run` arguments]
#
# Default: the built-in suite against the embedded mock with one quirk switched
# on (foreign-id-403), so the screenshot shows a failure, written to
# docs/report-screenshot.png. Set WINDOW=1280,2000 to change the window size,
# HTML=path to screenshot an existing report instead of running launchgate.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-docs/report-screenshot.png}"
shift || true
[ "${1:-}" = "--" ] && shift
extra=("$@")
[ ${#extra[@]} -eq 0 ] && extra=(--mock-quirk foreign-id-403)
window="${WINDOW:-1280,2000}"

browser=""
for b in chromium chromium-browser; do
  if command -v "$b" >/dev/null 2>&1; then browser="$b"; break; fi
done
if [ -z "$browser" ]; then
  echo "screenshot-report: installing chromium (apt-get)" >&2
  if ! apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends chromium fonts-dejavu-core >/dev/null
  fi
  browser=chromium
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

html="${HTML:-}"
if [ -z "$html" ]; then
  html="$work/report.html"
  # Exit 1 (failures) is expected with a quirk; anything else is a real problem.
  status=0
  cargo run --quiet -- run -q \
    --junit "$work/junit.xml" --json "$work/report.json" \
    --checklist "$work/checklist.md" --html "$html" "${extra[@]}" >"$work/run.log" 2>&1 || status=$?
  if [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; then
    cat "$work/run.log" >&2
    echo "screenshot-report: launchgate run exited $status" >&2
    exit "$status"
  fi
fi
html="$(realpath "$html")"

mkdir -p "$(dirname "$out")"
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --disable-component-update --disable-sync --no-first-run \
  --user-data-dir="$work/profile" --hide-scrollbars \
  --screenshot="$(realpath -m "$out")" --window-size="$window" \
  "file://$html" >/dev/null 2>&1
echo "screenshot-report: $out ($(du -k "$out" | cut -f1) KB) of $html ($(du -k "$html" | cut -f1) KB)"
