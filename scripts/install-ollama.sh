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
# Cached and idempotent: nothing is done when DIR/ollama already reports
# the version. Run as root on a clean Debian/Ubuntu machine, it installs the
# missing build packages (g++, the two header packages) after an
# apt-get update; as another user it says which packages to install.
# Every failure stops the script with a message and a non-zero status.
# Tested by runners/ollamatest TestInstallScript (with stand-in tools).
set -euo pipefail

version=0.24.0
dest_dir=${1:-.deps/ollama}
dest=$dest_dir/ollama
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stub_dir=$here/ollama-build

die() { echo "install-ollama: $*" >&2; exit 1; }

# reports_version succeeds when the binary says it is $version.
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

command -v go >/dev/null || die "Go is required to build Ollama (https://go.dev/dl/)"
[ -f "$stub_dir/miniaudio/miniaudio.h" ] || die "missing $stub_dir/miniaudio/miniaudio.h (part of the repository)"

# installed PKG succeeds when dpkg has PKG fully installed (a removed
# package whose configuration files remain does not count).
installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Build tools and the header-only C++ dependencies of llama.cpp, installed
# only when missing.
missing=()
command -v g++ >/dev/null || missing+=(g++)
for pkg in nlohmann-json3-dev libstb-dev; do
  installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "missing ${missing[*]}, and no apt-get to install them: install a C++ compiler, nlohmann/json and stb headers"
  if [ "$(id -u)" -ne 0 ]; then
    die "missing packages ${missing[*]}: run 'sudo apt-get update && sudo apt-get install -y ${missing[*]}', then again"
  fi
  echo "installing ${missing[*]}" >&2
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    die "apt-get install ${missing[*]} failed"
fi

mkdir -p "$dest_dir"
dest_abs=$(cd "$dest_dir" && pwd)
echo "building ollama $version (takes several minutes on a small machine)" >&2
# Build outside any module or workspace so the repository's go.mod does not
# interfere; the user's GOFLAGS (e.g. -mod=vendor) would not apply either.
build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT
(
  cd "$build_dir"
  GOBIN=$dest_abs GOWORK=off GOFLAGS= CGO_ENABLED=1 CGO_CPPFLAGS="-I$stub_dir ${CGO_CPPFLAGS:-}" \
    nice -n 10 go install -ldflags "-s -w -X github.com/ollama/ollama/version.Version=$version" \
    "github.com/ollama/ollama@v$version"
) || die "building ollama $version failed (see the compiler output above)"
reports_version "$dest" || die "built $dest but it does not report version $version"
echo "installed ollama $version at $dest"
