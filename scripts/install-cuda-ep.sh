#!/usr/bin/env bash
# Installs ONNX Runtime's CUDA execution provider, a plugin the ONNX Runtime
# core (scripts/install-ort.sh) loads for `--device cuda`, from the npm
# package com.github.asus4.onnxruntime.linux-x64-gpu (an ORT 1.29 CUDA
# provider built for CUDA 13), into a git-ignored folder. Both files'
# sha256 are checked; a mismatch is fatal.
#
# The CUDA 13 libraries it links against (cuBLAS, cuBLASLt, cudart, cuRAND)
# and the driver's libcuda.so.1 are not part of it: they come from the GPU
# machine (a CUDA toolkit, or the nvidia-* Python wheels PyTorch brings).
#
# Usage: install-cuda-ep.sh [DEST_DIR]
#   BERTBENCH_CUDA_EP_TGZ=FILE  install from this npm tarball instead of the
#                               registry (machines without network)
set -euo pipefail

package=com.github.asus4.onnxruntime.linux-x64-gpu
version=0.4.9
members=(
  "libonnxruntime_providers_cuda.so 56cf3254b118ad837ccc4ed8f6d1b23504bbf7ef91b34cbc0b289cb7f10b3037"
  "libonnxruntime_providers_shared.so c6a12593396095f5670160e284c35d1700b7708cf3037b7042e2a5200ccae772"
)
prefix=package/Plugins/Linux/x64
dest_dir=${1:-.deps/cuda-ep}

installed=1
for m in "${members[@]}"; do
  read -r name sha <<<"$m"
  if ! { [ -f "$dest_dir/$name" ] && echo "$sha  $dest_dir/$name" | sha256sum -c --status; }; then
    installed=0
  fi
done
if [ "$installed" = 1 ]; then
  echo "CUDA execution provider ($package@$version) already installed in $dest_dir"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tgz=${BERTBENCH_CUDA_EP_TGZ:-}
if [ -z "$tgz" ]; then
  command -v npm >/dev/null || { echo "install-cuda-ep: npm is required (apt-get install npm), or set BERTBENCH_CUDA_EP_TGZ" >&2; exit 1; }
  echo "fetching $package@$version from the npm registry (180 MB)" >&2
  (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
  tgz=$work/$package-$version.tgz
fi
names=()
for m in "${members[@]}"; do
  read -r name _ <<<"$m"
  names+=("$prefix/$name")
done
tar -xzf "$tgz" -C "$work" "${names[@]}"
for m in "${members[@]}"; do
  read -r name sha <<<"$m"
  got=$(sha256sum "$work/$prefix/$name" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "install-cuda-ep: sha256 mismatch for $name: got $got, want $sha" >&2
    exit 1
  fi
done
mkdir -p "$dest_dir"
for m in "${members[@]}"; do
  read -r name _ <<<"$m"
  install -m 0755 "$work/$prefix/$name" "$dest_dir/$name"
done
echo "installed the CUDA execution provider ($package@$version) in $dest_dir"
