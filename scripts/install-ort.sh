#!/usr/bin/env bash
# Installs the ONNX Runtime shared library that bertbench loads, from the npm
# package onnxruntime-node (it ships a prebuilt CPU/CUDA-capable core), into
# a git-ignored folder. The file's sha256 is checked; a mismatch is fatal.
set -euo pipefail

version=1.30.0
want_sha=ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23
member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
dest_dir=${1:-.deps/ort}
dest=$dest_dir/libonnxruntime.so.1

if [ -f "$dest" ] && echo "$want_sha  $dest" | sha256sum -c --status; then
  echo "onnxruntime $version already installed at $dest"
  exit 0
fi

command -v npm >/dev/null || { echo "install-ort: npm is required (apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "fetching onnxruntime-node@$version from the npm registry" >&2
(cd "$work" && npm pack --silent "onnxruntime-node@$version" >/dev/null)
tar -xzf "$work"/onnxruntime-node-$version.tgz -C "$work" "$member"
got_sha=$(sha256sum "$work/$member" | cut -d' ' -f1)
if [ "$got_sha" != "$want_sha" ]; then
  echo "install-ort: sha256 mismatch for $member: got $got_sha, want $want_sha" >&2
  exit 1
fi
mkdir -p "$dest_dir"
install -m 0644 "$work/$member" "$dest"
echo "installed onnxruntime $version at $dest"
