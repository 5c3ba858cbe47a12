#!/usr/bin/env bash
# Lints what users copy into their CI: the GitHub example workflow (where a
# user puts it, beside the action it uses), the release workflow, action.yml,
# the GitLab example, and the scripts they run. TOOLS is a directory holding
# actionlint and check-jsonschema (.ci/run installs them, pinned).
#
#   .ci/lint-ci.sh TOOLS
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$(cd "${1:?usage: .ci/lint-ci.sh TOOLS_BIN_DIR}" && pwd)"

# actionlint reads the local action's inputs from tools/launchgate/action.yml
# and runs shellcheck on every `run:` block.
proj="$(mktemp -d)"
trap 'rm -rf "$proj"' EXIT
mkdir -p "$proj/.github/workflows" "$proj/tools/launchgate"
cp ci/github-actions.yml "$proj/.github/workflows/launch-gate.yml"
cp action.yml "$proj/tools/launchgate/action.yml"
git -C "$proj" init -q
(cd "$proj" && "$tools/actionlint" .github/workflows/launch-gate.yml)
"$tools/actionlint" .github/workflows/*.yml

"$tools/check-jsonschema" --builtin-schema vendor.github-workflows ci/github-actions.yml .github/workflows/*.yml
"$tools/check-jsonschema" --builtin-schema vendor.github-actions action.yml
"$tools/check-jsonschema" --builtin-schema vendor.gitlab-ci ci/gitlab-ci.yml
shellcheck scripts/install.sh scripts/package.sh scripts/action.sh .ci/lint-ci.sh
echo "lint-ci: GitHub workflows, action.yml, GitLab CI and scripts are clean"
