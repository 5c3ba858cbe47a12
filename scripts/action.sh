#!/usr/bin/env bash
# The steps of the launchgate GitHub Action (action.yml), kept here so they can
# be shellchecked and tested (tests/ci_examples.rs runs `run` and `gate`).
#
#   action.sh install   install the pinned release (scripts/install.sh), add it to PATH
#   action.sh run       run launchgate with the LG_* inputs; record its exit code; exit 0
#   action.sh gate      fail the step as the exit code says (after the reports are uploaded)
#
# Inputs arrive as environment variables (action.yml maps each input to one):
# LG_VERSION, LG_SHA256, LG_REPO; LG_PATHS, LG_TARGET, LG_SECRETS_FILE, LG_REPORTS,
# LG_NAME, LG_JUNIT_PROFILE, LG_ARGS, LG_REFEREE_COMMAND; LG_EXIT, LG_ALLOW_INCONCLUSIVE.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Appends `name=value` to a GitHub file (outputs, summary, PATH), if there is one.
emit() {
  if [ -n "${2:-}" ]; then
    printf '%s\n' "$1" >>"$2"
  fi
}

install_step() {
  local dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/launchgate-bin"
  local args=(--to "$dir")
  [ -z "${LG_VERSION:-}" ] || args+=(--version "$LG_VERSION")
  [ -z "${LG_SHA256:-}" ] || args+=(--sha256 "$LG_SHA256")
  [ -z "${LG_REPO:-}" ] || args+=(--repo "$LG_REPO")
  "$here/install.sh" "${args[@]}"
  emit "$dir" "${GITHUB_PATH:-}"
}

# What each exit code means (README "Exit codes").
meaning() {
  case "$1" in
    0) echo "passed" ;;
    1) echo "failed" ;;
    2) echo "usage" ;;
    3) echo "unreachable" ;;
    4) echo "inconclusive" ;;
    *) echo "crashed" ;;
  esac
}

# Referees the integration's client against the embedded mock (LG_REFEREE_COMMAND);
# prints launchgate referee's exit code. Its failing verdicts are not fatal here:
# the run reads the report and turns them into a NO-GO decision with evidence.
referee_step() {
  local reports="$1" code=0
  # The client command is space-separated words (no quoting inside).
  # shellcheck disable=SC2206
  local client=($LG_REFEREE_COMMAND)
  local cmd=(launchgate referee --json "$reports/referee.json" --junit "$reports/referee-junit.xml" -- "${client[@]}")
  echo "+ ${cmd[*]}" >&2
  "${cmd[@]}" >&2 || code=$?
  echo "$code"
}

run_step() {
  local reports="${LG_REPORTS:-launchgate-reports}" name="${LG_NAME:-launchgate-reports}"
  local code=0
  if [ -n "${LG_REFEREE_COMMAND:-}" ]; then
    mkdir -p "$reports"
    rm -f "$reports/referee.json"
    code=$(referee_step "$reports")
    emit "referee-exit-code=$code" "${GITHUB_OUTPUT:-}"
    # No report (a usage error, a client that could not start): nothing to decide on.
    if [ ! -f "$reports/referee.json" ]; then
      [ "$code" != 0 ] || code=2
      emit "exit-code=$code" "${GITHUB_OUTPUT:-}"
      emit "outcome=$(meaning "$code")" "${GITHUB_OUTPUT:-}"
      emit "reports=$reports" "${GITHUB_OUTPUT:-}"
      return 0
    fi
    code=0
  fi
  local cmd=(launchgate run)
  # Paths and extra options are space-separated words (no quoting inside).
  # shellcheck disable=SC2206
  [ -z "${LG_PATHS:-}" ] || cmd+=($LG_PATHS)
  cmd+=(--target "${LG_TARGET:-mock}")
  [ -z "${LG_SECRETS_FILE:-}" ] || cmd+=(--secrets "$LG_SECRETS_FILE")
  cmd+=(--junit "$reports/junit.xml" --junit-profile "${LG_JUNIT_PROFILE:-generic}")
  cmd+=(--json "$reports/report.json" --checklist "$reports/checklist.md")
  cmd+=(--html "$reports/$name.html")
  [ -z "${LG_REFEREE_COMMAND:-}" ] || cmd+=(--referee "$reports/referee.json")
  # shellcheck disable=SC2206
  [ -z "${LG_ARGS:-}" ] || cmd+=($LG_ARGS)

  echo "+ ${cmd[*]}"
  "${cmd[@]}" || code=$?
  emit "exit-code=$code" "${GITHUB_OUTPUT:-}"
  emit "outcome=$(meaning "$code")" "${GITHUB_OUTPUT:-}"
  emit "reports=$reports" "${GITHUB_OUTPUT:-}"
  emit "html=$reports/$name.html" "${GITHUB_OUTPUT:-}"
  if [ -f "$reports/checklist.md" ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$reports/checklist.md" >>"$GITHUB_STEP_SUMMARY"
  fi
  return 0
}

gate_step() {
  local code="${LG_EXIT:-}"
  case "$code" in
    0)
      echo "launchgate: passed"
      ;;
    1)
      echo "::error title=launchgate: failed (exit 1)::a case failed or errored: the integration or the environment broke a launch rule (see the reports)"
      exit 1
      ;;
    2)
      echo "::error title=launchgate: configuration (exit 2)::nothing was run: a usage, target-file or scenario error (see the step log)"
      exit 2
      ;;
    3)
      echo "::error title=launchgate: unreachable (exit 3)::the target never answered: nothing was verified"
      exit 3
      ;;
    4)
      if [ "${LG_ALLOW_INCONCLUSIVE:-false}" = true ]; then
        echo "::warning title=launchgate: inconclusive (exit 4)::the launch decision is INCOMPLETE or some cases were skipped or inconclusive; allowed here (allow-inconclusive), but no launch decision can rest on this run"
        exit 0
      fi
      echo "::error title=launchgate: inconclusive (exit 4)::the launch decision is INCOMPLETE (an input is missing, the client was not refereed) or cases were skipped or inconclusive: the launch is not proven (see the reasons in the reports)"
      exit 4
      ;;
    "")
      echo "::error title=launchgate did not run::the install or run step failed before launchgate finished"
      exit 2
      ;;
    *)
      echo "::error title=launchgate crashed (exit $code)::launchgate ended abnormally"
      exit 1
      ;;
  esac
}

case "${1:-}" in
  install) install_step ;;
  run) run_step ;;
  gate) gate_step ;;
  *)
    echo "usage: action.sh install|run|gate" >&2
    exit 2
    ;;
esac
