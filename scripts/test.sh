#!/usr/bin/env bash
# The test command of the README and of CI: installs what the end-to-end
# tier needs (the pinned npm children, into .real-children/), then runs every
# test. CLAUDE_COMMS_REQUIRE_REAL=1 makes the end-to-end tier fail instead of
# skipping when the real children are missing, so it can never be skipped
# silently.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-real-children.sh
export CLAUDE_COMMS_REQUIRE_REAL=1
# The end-to-end tier is #[ignore]d for a bare `cargo test` (it reports
# skipped, not passed, without the children); here it runs.
cargo test --all-targets --locked "$@" -- --include-ignored
