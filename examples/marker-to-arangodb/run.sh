#!/usr/bin/env bash
# marker asks arangodb how to store what it extracts, through claude-comms.
#
#   examples/marker-to-arangodb/run.sh          real agents (needs npx and a logged-in claude)
#   examples/marker-to-arangodb/run.sh --dry    the in-repo fake child: shows the prompt
#                                               the arangodb agent would get, no Claude needed
#
# Everything goes to a throw-away CLAUDE_COMMS_HOME; your own data is not touched.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cargo build --quiet --manifest-path "$root/Cargo.toml" --bins
bin="$root/target/debug/claude-comms"

export CLAUDE_COMMS_HOME="$(mktemp -d)"
trap 'rm -rf "$CLAUDE_COMMS_HOME"' EXIT
{
    echo "[module_paths]"
    echo "marker = \"$here/modules/marker\""
    echo "arangodb = \"$here/modules/arangodb\""
    if [[ "${1:-}" == "--dry" ]]; then
        echo "[instances.claude_code_mcp]"
        echo "command = \"$root/target/debug/fake-mcp-child\""
        echo "args = []"
    fi
} > "$CLAUDE_COMMS_HOME/config.toml"

echo "== who can consume what marker produces?"
"$bin" modules consumers marker
echo
echo "== marker asks arangodb"
"$bin" send --from marker --to arangodb \
    "I produce markdown_document objects from PDFs. How do I store one so it can be searched by section?"
id="$("$bin" --json conversations list | python3 -c 'import json,sys; print(json.load(sys.stdin)["conversations"][0]["id"])')"
echo
echo "== a follow-up in the same conversation (the agent gets the history)"
"$bin" send --conversation "$id" "And what key do I get back, so I can link figures later?"
echo
echo "== the stored conversation"
"$bin" conversations show "$id"
"$bin" conversations export "$id" --format markdown --output "$CLAUDE_COMMS_HOME/conversation.md"
echo "(exported to $CLAUDE_COMMS_HOME/conversation.md; removed on exit)"
