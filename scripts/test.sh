#!/usr/bin/env bash
# The test command of the README and of CI: installs what the end-to-end
# tier needs (the pinned npm children, into .real-children/; the MCP
# conformance suite with its Node 22, into tests/conformance/) and what the
# PostgreSQL tier needs (PostgreSQL's server binaries, when root with apt)
# and the console's browser test (Debian's chromium and chromium-driver),
# then runs every test. CLAUDE_COMMS_REQUIRE_REAL=1 makes both tiers fail
# instead of skipping when what they need is missing, so neither can be
# skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-real-children.sh
bash scripts/install-conformance.sh
bash scripts/install-postgres.sh
bash scripts/install-browser.sh
export CLAUDE_COMMS_REQUIRE_REAL=1
# The end-to-end tier is #[ignore]d for a bare `cargo test` (it reports
# skipped, not passed, without the children); here it runs.
# The last line sums every test binary's result (the last binary cargo
# runs, an example, has no tests of its own).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --all-targets --locked "$@" -- --include-ignored 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "total: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
