#!/usr/bin/env bash
# Installs the official MCP conformance suite
# (@modelcontextprotocol/conformance) and the Node 22 it needs (the npm
# package `node`, which puts a Node 22 binary in node_modules/.bin/node
# without touching the system's Node), both pinned in
# tests/conformance/package-lock.json, into tests/conformance/node_modules.
# tests/real/conformance.rs runs the suite against a daemon. Nothing is
# installed globally.
set -euo pipefail
cd "$(dirname "$0")/../tests/conformance"

if ! command -v npm >/dev/null; then
    echo "install-conformance: 'npm' is not on PATH; install Node.js 20 or later" >&2
    exit 1
fi

node=node_modules/.bin/node
suite=node_modules/@modelcontextprotocol/conformance/dist/index.js
wanted=$(sed -n 's/.*"@modelcontextprotocol\/conformance": "\(.*\)".*/\1/p' package.json)
installed=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' node_modules/@modelcontextprotocol/conformance/package.json 2>/dev/null | head -n1 || true)
if ! { [[ -x $node && -f $suite && $installed == "$wanted" ]] && "$node" --version | grep -q '^v22\.'; }; then
    npm ci --no-audit --no-fund --loglevel=error
    "$node" --version | grep -q '^v22\.'
    "$node" "$suite" --version >/dev/null
    echo "install-conformance: installed the MCP conformance suite $wanted and Node $("$node" --version) into $(pwd)/node_modules" >&2
fi
