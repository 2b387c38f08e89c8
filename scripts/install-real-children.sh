#!/usr/bin/env bash
# Installs the real children the end-to-end tier and the benchmarks drive:
# claude-code-mcp and the `claude` CLI, at the versions pinned in
# tests/real-children/package-lock.json, into tests/real-children/node_modules.
# Nothing is installed globally and nothing outside the project is touched.
set -euo pipefail
cd "$(dirname "$0")/../tests/real-children"

for tool in node npm; do
    if ! command -v "$tool" >/dev/null; then
        echo "install-real-children: '$tool' is not on PATH; install Node.js 20 or later" >&2
        exit 1
    fi
done

claude=node_modules/.bin/claude
mcp=node_modules/.bin/claude-code-mcp
if [[ -x $claude && -x $mcp ]] && "$claude" --version 2>/dev/null | grep -q "2.1.197"; then
    exit 0 # Already installed at the pinned versions.
fi

npm ci --no-audit --no-fund --loglevel=error
"$claude" --version >/dev/null
test -x "$mcp"
echo "install-real-children: installed $("$claude" --version) and claude-code-mcp into $(pwd)/node_modules" >&2
