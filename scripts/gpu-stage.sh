#!/usr/bin/env bash
# Prepares, on this (networked, GPU-less) machine, everything the GPU check
# (scripts/gpu-check.sh) needs on a GPU machine that has no network and no
# Go: the bertbench binary, the test binaries of the packages whose golden
# tests run on CUDA, the ONNX Runtime core and its CUDA provider. They are
# bundled into one tar.gz, cut into parts of under 40 MiB (a device call
# carries at most 64 MiB with the working tree) in the git-ignored .gpu/,
# with the bundle's sha256. docs/gpu.md gives the sequence of device calls.
set -euo pipefail
cd "$(dirname "$0")/.."

part_size=${GPU_PART_SIZE:-38m}
# Packages whose tests gpu-check.sh runs with BERTBENCH_TEST_DEVICE=cuda.
test_pkgs=${GPU_TEST_PKGS:-./cmd/bertbench ./scorer ./onnxrt ./bertscore ./models ./models/onnxgraph}

make -s ort cuda-ep build
stage=.gpu/stage
rm -rf .gpu
mkdir -p "$stage/bin" "$stage/tests" "$stage/deps/ort" "$stage/deps/cuda-ep" .gpu/parts
cp bin/bertbench "$stage/bin/"
for pkg in $test_pkgs; do
  name=$(echo "${pkg#./}" | tr / _)
  go test -c -o "$stage/tests/$name.test" "$pkg"
  echo "${pkg#./} $name.test" >>"$stage/tests/index"
done
cp .deps/ort/libonnxruntime.so.1 "$stage/deps/ort/"
cp .deps/cuda-ep/*.so "$stage/deps/cuda-ep/"
# ONNX Runtime may look for the provider's shared helper beside the core.
cp .deps/cuda-ep/libonnxruntime_providers_shared.so "$stage/deps/ort/"
# The reference bert_score for the race (read from its public repository,
# carried for the run, never committed): BERT_SCORE_SRC names a checkout of
# github.com/Tiiiger/bert_score (0.3.13), a work tree or a bare git folder.
if [ -n "${BERT_SCORE_SRC:-}" ]; then
  mkdir -p "$stage/ref"
  if [ -d "$BERT_SCORE_SRC/bert_score" ]; then
    cp -r "$BERT_SCORE_SRC/bert_score" "$stage/ref/"
  else
    git --git-dir="$BERT_SCORE_SRC" archive HEAD bert_score | tar -x -C "$stage/ref"
  fi
  rm -rf "$stage/ref/bert_score/rescale_baseline"
else
  echo "BERT_SCORE_SRC not set: the race runs without the reference bert_score"
fi
tar -C "$stage" -czf .gpu/bundle.tar.gz .
(cd .gpu && sha256sum bundle.tar.gz >parts/bundle.sha256)
split -b "$part_size" -d -a 2 .gpu/bundle.tar.gz .gpu/parts/part-
rm -rf "$stage" .gpu/bundle.tar.gz
ls -l .gpu/parts
n=$(ls .gpu/parts/part-* | wc -l)
echo "staged $n parts in .gpu/parts: carry each in its own device call (docs/gpu.md), then run scripts/gpu-check.sh"
