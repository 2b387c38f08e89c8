#!/usr/bin/env bash
# Runs the end-to-end tier against the newest Claude Code on npm
# (@anthropic-ai/claude-code@latest) instead of the pinned one: installs it
# into a throw-away folder (removed afterwards; nothing global, the pinned
# install in tests/real-children is left as it is) and points the tier at it
# with CLAUDE_COMMS_REAL_CLAUDE. Not part of CI: the newest release changes
# under us. Arguments are a test-name filter, e.g.
#   bash scripts/compat-newest-claude.sh            # the whole real tier
#   bash scripts/compat-newest-claude.sh plugin     # one test
set -euo pipefail
cd "$(dirname "$0")/.."

# The tier's other needs (claude-code-mcp, the Python SDK, the conformance
# suite) stay pinned.
bash scripts/install-real-children.sh
bash scripts/install-conformance.sh

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error @anthropic-ai/claude-code@latest
claude="$dir/node_modules/.bin/claude"
echo "compat-newest-claude: testing against $("$claude" --version)" >&2

export CLAUDE_COMMS_REAL_CLAUDE="$claude"
export CLAUDE_COMMS_REQUIRE_REAL=1
cargo test --locked --test real "$@" -- --include-ignored
