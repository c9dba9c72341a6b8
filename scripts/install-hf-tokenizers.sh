#!/usr/bin/env bash
# Installs the Hugging Face tokenizers oracle (scripts/hf-oracle, npm package
# tokenizers pinned in its package-lock.json) into DIR, for the Go tokenizer's
# differential tests and benchmarks.
#
# Usage: scripts/install-hf-tokenizers.sh DIR     (e.g. .deps/node)
#
# Result: DIR/oracle.js and DIR/node_modules/tokenizers. Idempotent: when DIR
# already holds exactly this package-lock.json and the native module loads,
# it does nothing. Needs Node.js >= 18 and npm (and the npm registry the
# first time).
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
src=$(cd "$(dirname "$0")/hf-oracle" && pwd)

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "install-hf-tokenizers: $tool not found; install Node.js >= 18 (e.g. apt-get install nodejs npm)" >&2
    exit 1
  fi
done
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
  echo "install-hf-tokenizers: Node.js $(node --version) is too old; need >= 18" >&2
  exit 1
fi

mkdir -p "$dir"
# Fast path: same lock file, same script, and the native module loads.
if cmp -s "$src/package-lock.json" "$dir/package-lock.json" &&
  cmp -s "$src/oracle.js" "$dir/oracle.js" &&
  (cd "$dir" && node -e 'require("tokenizers")') >/dev/null 2>&1; then
  exit 0
fi

cp "$src/package.json" "$src/package-lock.json" "$dir/"
npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
cp "$src/oracle.js" "$dir/oracle.js"
(cd "$dir" && node -e 'require("tokenizers")') || {
  echo "install-hf-tokenizers: tokenizers installed but its native module does not load on this platform" >&2
  exit 1
}
echo "install-hf-tokenizers: oracle ready in $dir"
