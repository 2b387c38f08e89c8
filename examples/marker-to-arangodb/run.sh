#!/usr/bin/env bash
# marker asks arangodb how to store what it extracts, through claude-comms.
#
#   examples/marker-to-arangodb/run.sh          real agents (needs npx and a logged-in claude)
#   examples/marker-to-arangodb/run.sh --dry    the in-repo fake child: shows the prompt
#                                               the arangodb agent would get, no Claude needed
#
# Uses the installed claude-comms (on PATH, or $CLAUDE_COMMS_BIN); --dry also
# needs the fake child (fake-mcp-child next to it or on PATH, or
# $CLAUDE_COMMS_FAKE_CHILD; `cargo build --bins` makes both in target/debug).
# Everything goes to a throw-away CLAUDE_COMMS_HOME, so your own data is not
# touched; the exported conversation is kept in the current folder (or
# $CLAUDE_COMMS_EXAMPLE_OUT).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

bin="${CLAUDE_COMMS_BIN:-$(command -v claude-comms || true)}"
if [[ -z "$bin" || ! -x "$bin" ]]; then
    echo "run.sh: claude-comms is not on PATH; install it (cargo install --path .) or set CLAUDE_COMMS_BIN" >&2
    exit 2
fi
if [[ "${1:-}" == "--dry" ]]; then
    child="${CLAUDE_COMMS_FAKE_CHILD:-}"
    if [[ -z "$child" ]]; then
        child="$(dirname "$bin")/fake-mcp-child"
        [[ -x "$child" ]] || child="$(command -v fake-mcp-child || true)"
    fi
    if [[ -z "$child" || ! -x "$child" ]]; then
        echo "run.sh: --dry needs the fake child: cargo build --bin fake-mcp-child, then set CLAUDE_COMMS_FAKE_CHILD=target/debug/fake-mcp-child" >&2
        exit 2
    fi
fi
out_dir="${CLAUDE_COMMS_EXAMPLE_OUT:-$PWD}"

export CLAUDE_COMMS_HOME="$(mktemp -d)"
# The first send starts the data dir's daemon (hub = "auto"); it must not
# outlive the throw-away data dir.
trap '"$bin" daemon stop >/dev/null 2>&1 || true; rm -rf "$CLAUDE_COMMS_HOME"' EXIT
unset CLAUDE_COMMS_CONFIG CLAUDE_COMMS_MODULE
{
    echo "[module_paths]"
    echo "marker = \"$here/modules/marker\""
    echo "arangodb = \"$here/modules/arangodb\""
    if [[ "${1:-}" == "--dry" ]]; then
        echo "[instances.claude_code_mcp]"
        echo "command = \"$child\""
        echo "args = []"
    fi
} > "$CLAUDE_COMMS_HOME/config.toml"

echo "== who can consume what marker produces?"
"$bin" modules consumers marker
echo
echo "== marker asks arangodb"
"$bin" send --from marker --to arangodb \
    "I produce markdown_document objects from PDFs. How do I store one so it can be searched by section?"
# The newest conversation is the first row under the table's header.
id="$("$bin" conversations list --limit 1 | awk 'NR == 2 { print $1 }')"
echo
echo "== a follow-up in the same conversation (the agent gets the history)"
"$bin" send --conversation "$id" "And what key do I get back, so I can link figures later?"
echo
echo "== the stored conversation"
"$bin" conversations show "$id"
export_file="$out_dir/marker-to-arangodb-$id.md"
"$bin" conversations export "$id" --format markdown --output "$export_file"
echo "(the conversation is kept in $export_file)"
