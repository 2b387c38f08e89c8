#!/usr/bin/env bash
# Installs what the end-to-end tier and the benchmarks drive: the real
# children (claude-code-mcp and the `claude` CLI, pinned in
# tests/real-children/package-lock.json) into tests/real-children/node_modules,
# with the official MCPB validator (`mcpb`, for packaging/mcpb/manifest.json),
# and the Python MCP SDK and A2A SDK (pinned in tests/host/requirements.txt:
# a second independent MCP client; the official A2A client and server for
# the A2A face and A2A modules), into tests/real-children/.venv.
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
mcpb=node_modules/.bin/mcpb
if ! { [[ -x $claude && -x $mcp && -x $mcpb ]] && "$claude" --version 2>/dev/null | grep -q "2.1.197"; }; then
    npm ci --no-audit --no-fund --loglevel=error
    "$claude" --version >/dev/null
    test -x "$mcp"
    test -x "$mcpb"
    echo "install-real-children: installed $("$claude" --version) and claude-code-mcp into $(pwd)/node_modules" >&2
fi

requirements=../host/requirements.txt
if ! { [[ -x .venv/bin/python ]] && cmp -s "$requirements" .venv/installed-requirements.txt; }; then
    if ! command -v python3 >/dev/null; then
        echo "install-real-children: 'python3' is not on PATH; install Python 3.10 or later" >&2
        exit 1
    fi
    rm -rf .venv
    python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" .venv/installed-requirements.txt
    echo "install-real-children: installed the Python MCP and A2A SDKs into $(pwd)/.venv" >&2
fi
