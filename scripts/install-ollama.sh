#!/usr/bin/env bash
# Builds and installs the Ollama server the runner tests talk to, into a
# git-ignored folder (default .deps/ollama). Ollama v0.24.0 is the last
# release whose llama.cpp engine is built through cgo, so a plain
# `go install` produces a server that can run GGUF models.
#
# The Go module zip drops llama.cpp's vendor/ headers: nlohmann/json and
# stb_image come from Debian packages, and miniaudio.h is a stub of our own
# (scripts/ollama-build/miniaudio) since bertbench never decodes audio.
#
# Idempotent: nothing is done when DIR/ollama already reports the version.
set -euo pipefail

version=0.24.0
dest_dir=${1:-.deps/ollama}
dest=$dest_dir/ollama
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stub_dir=$here/ollama-build

# reports_version prints nothing and succeeds when the binary is $version.
# (OLLAMA_HOST points nowhere so that --version never waits for a server.)
reports_version() {
  local out
  out=$(OLLAMA_HOST=127.0.0.1:1 "$1" --version 2>&1) || true
  [[ $out == *"client version is $version"* ]]
}

if [ -x "$dest" ] && reports_version "$dest"; then
  echo "ollama $version already installed at $dest"
  exit 0
fi

command -v go >/dev/null || { echo "install-ollama: go is required" >&2; exit 1; }
command -v g++ >/dev/null || { echo "install-ollama: a C++ compiler is required (apt-get install g++)" >&2; exit 1; }

# Header-only C++ dependencies of llama.cpp, installed only when missing.
missing=()
for pkg in nlohmann-json3-dev libstb-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-ollama: missing packages ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}'" >&2
    exit 1
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

mkdir -p "$dest_dir"
dest_abs=$(cd "$dest_dir" && pwd)
echo "building ollama $version (takes several minutes on a small machine)" >&2
# Build outside any module so the workspace's go.mod does not interfere.
build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT
(
  cd "$build_dir"
  GOBIN=$dest_abs CGO_ENABLED=1 CGO_CPPFLAGS="-I$stub_dir" \
    nice -n 10 go install -ldflags "-s -w -X github.com/ollama/ollama/version.Version=$version" \
    "github.com/ollama/ollama@v$version"
)
reports_version "$dest" || {
  echo "install-ollama: built $dest but it does not report version $version" >&2
  exit 1
}
echo "installed ollama $version at $dest"
