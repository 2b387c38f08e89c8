#!/usr/bin/env bash
# Packs the Claude Desktop bundle: builds the release binary, lays it out
# beside packaging/mcpb/manifest.json and packs both with the official
# `mcpb` tool (pinned in tests/real-children, installed by
# scripts/install-real-children.sh). Writes, under target/mcpb/:
#   claude-comms-<version>-<os>-<arch>.mcpb   the bundle (one per platform)
#   server.json                               server.json with this bundle's
#                                             fileSha256, ready for
#                                             `mcp-publisher publish`
# The release build takes minutes; CI validates the manifest instead.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-real-children.sh
mcpb=tests/real-children/node_modules/.bin/mcpb
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
os=$(uname -s | tr '[:upper:]' '[:lower:]')
arch=$(uname -m)

cargo build --release --locked --bin claude-comms

out=target/mcpb
stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/server"
cp packaging/mcpb/manifest.json "$stage/"
cp target/release/claude-comms "$stage/server/claude-comms"
"$mcpb" validate "$stage/manifest.json"
bundle=$out/claude-comms-$version-$os-$arch.mcpb
rm -f "$bundle"
"$mcpb" pack "$stage" "$bundle"

sha=$(sha256sum "$bundle" | cut -d' ' -f1)
# The registry entry of this bundle: the repository's server.json with the
# asset named for this platform and its checksum.
node -e '
const [file, sha, name] = process.argv.slice(1);
const server = JSON.parse(require("fs").readFileSync(file, "utf8"));
for (const p of server.packages) {
  if (p.registryType !== "mcpb") continue;
  p.identifier = p.identifier.replace(/[^/]*$/, name);
  p.fileSha256 = sha;
}
process.stdout.write(JSON.stringify(server, null, 2) + "\n");
' server.json "$sha" "$(basename "$bundle")" > "$out/server.json"
echo "pack-mcpb: $bundle (sha256 $sha) and $out/server.json" >&2
