#!/usr/bin/env bash
# The GPU check, run on a machine with an NVIDIA GPU (no network, no Go):
#
#   scripts/gpu-check.sh receive   keep the .gpu/parts/part-NN carried by
#                                  this call in $GPU_STAGE (one call a part)
#   scripts/gpu-check.sh           reassemble and verify the bundle staged by
#                                  scripts/gpu-stage.sh, then check
#
# The check: the golden tests of the packages staged, with
# BERTBENCH_TEST_DEVICE=cuda (every fixture case, CUDA vs the reference
# <= 1e-5, TF32 off; fp16 vs fp32 on CUDA within modelspec.BoundFP16,
# TestPrecisionFidelity*); then the mBERT-size synthetic model (built there with
# `models synth`) scores the same pairs on the CPU and on CUDA (strict fp32,
# then TF32), and the largest |dF| against the CPU is taken. One JSON
# summary goes to $OUT/gpu-check.json (or ./gpu-check.json), the logs beside
# it. docs/gpu.md has the whole sequence; it finishes in a few minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
stage=${GPU_STAGE:-/tmp/bertbench-gpu}
out=${OUT:-$repo/gpu-out}
mkdir -p "$stage" "$out"

if [ "${1:-}" = receive ]; then
  shopt -s nullglob
  got=(.gpu/parts/part-* .gpu/parts/bundle.sha256)
  [ ${#got[@]} -gt 0 ] || { echo "gpu-check receive: no .gpu/parts carried (name them in the call's carry)" >&2; exit 2; }
  cp "${got[@]}" "$stage/"
  ls -l "$stage"
  exit 0
fi

log() { printf '%s %s\n' "$(date +%T)" "$*" | tee -a "$out/gpu-check.log" >&2; }
fail() { log "FAILED: $*"; exit 1; }

# 1. The bundle.
root=$stage/root
if [ ! -x "$root/bin/bertbench" ]; then
  [ -f "$stage/bundle.sha256" ] || fail "no bundle.sha256 in $stage: carry the parts first (scripts/gpu-check.sh receive)"
  (cd "$stage" && cat part-* >bundle.tar.gz && sha256sum -c bundle.sha256) || fail "the parts in $stage do not make the staged bundle (a part missing or from another staging)"
  mkdir -p "$root" && tar -C "$root" -xzf "$stage/bundle.tar.gz" || fail "cannot unpack the bundle"
  rm -f "$stage/bundle.tar.gz"
fi
bb=$root/bin/bertbench
export BERTBENCH_ORT_LIB=$root/deps/ort/libonnxruntime.so.1
export BERTBENCH_CUDA_EP=$root/deps/cuda-ep/libonnxruntime_providers_cuda.so

# 2. CUDA 13's libraries, wherever this machine has them: the loader's
# cache, CUDA toolkits, or the nvidia-* wheels of a Python environment.
libdirs=()
for lib in libcublas.so.13 libcublasLt.so.13 libcudart.so.13 libcurand.so.10; do
  found=$(ldconfig -p 2>/dev/null | awk -v l="$lib" '$1 == l {print $NF; exit}')
  [ -n "$found" ] || found=$(find /usr/local/cuda* /usr/lib/x86_64-linux-gnu /opt /usr/local/lib -name "$lib" 2>/dev/null | head -1)
  [ -n "$found" ] || fail "$lib not found on this machine: install CUDA 13 (or the nvidia-* wheels) and put its folder on LD_LIBRARY_PATH"
  libdirs+=("$(dirname "$found")")
done
LD_LIBRARY_PATH=$(printf '%s\n' "${libdirs[@]}" | sort -u | paste -sd:)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LD_LIBRARY_PATH
log "CUDA libraries from: $LD_LIBRARY_PATH"
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
log "GPU: ${gpu:-none seen by nvidia-smi}"

# 3. Golden tests on CUDA, package by package, in the carried working tree.
golden=pass
while read -r pkg bin; do
  log "golden tests of $pkg on CUDA"
  if ! (cd "$repo/$pkg" && BERTBENCH_TEST_DEVICE=cuda "$root/tests/$bin" -test.run "${GPU_TEST_RUN:-Golden|TwoScorers|HiddenStates|PaddingInvariance|CUDADevice|PrecisionFidelity}" -test.count 1 -test.v) >"$out/golden-${bin%.test}.log" 2>&1; then
    golden=fail
    log "golden tests of $pkg FAILED on CUDA (see golden-${bin%.test}.log)"
  fi
done <"$root/tests/index"

# 4. mBERT size on both devices: the same 2,000 EN/ZH-length pairs.
model=$stage/mbert-synth
if [ ! -f "$model/model.onnx" ]; then
  "$bb" models synth --hidden 768 --layers 12 --heads 12 --intermediate 3072 --vocab 119547 --keep 9 --seed 1 -o "$model" >>"$out/gpu-check.log" 2>&1 || fail "models synth"
fi
pairs=${GPU_CHECK_PAIRS:-2000}
awk -v n="$pairs" 'BEGIN { srand(7); for (i = 0; i < n; i++) { s = ""; w = 12 + int(rand() * 20); for (j = 0; j < w; j++) s = s sprintf("w%d ", int(rand() * 5000)); print s } }' >"$stage/cands.txt"
awk -v n="$pairs" 'BEGIN { srand(8); for (i = 0; i < n; i++) { s = ""; w = 12 + int(rand() * 20); for (j = 0; j < w; j++) s = s sprintf("w%d ", int(rand() * 5000)); print s } }' >"$stage/refs.txt"
run() { # name, then score flags
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  "$bb" score --model "$model" -c "$stage/cands.txt" -r "$stage/refs.txt" --format json -o "$out/$name.json" "$@" 2>"$out/$name.log" || { log "score $name FAILED: $(tail -1 "$out/$name.log")"; echo "null"; return; }
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
}
cpu_s=$(run cpu --device cpu --threads "$(nproc)")
cuda_s=$(run cuda --device cuda)
tf32_s=$(run cuda-tf32 --device cuda --tf32)

# 5. The summary.
python3 - "$out" "$pairs" "$cpu_s" "$cuda_s" "$tf32_s" "$golden" "$gpu" <<'PY' | tee "$out/gpu-check.json"
import json, math, sys
out, pairs, cpu_s, cuda_s, tf32_s, golden, gpu = sys.argv[1:]
def load(name):
    try:
        return json.load(open(f"{out}/{name}.json"))
    except Exception:
        return None
def maxdiff(a, b):
    if not a or not b:
        return None
    return max(abs(x[k] - y[k]) for x, y in zip(a["pairs"], b["pairs"]) for k in "PRF"
               if x[k] is not None and y[k] is not None)
def rate(s):
    return None if s == "null" else round(int(pairs) / float(s), 1)
cpu, cuda, tf32 = load("cpu"), load("cuda"), load("cuda-tf32")
print(json.dumps({
    "gpu": gpu, "pairs": int(pairs), "golden_on_cuda": golden,
    "cpu": {"seconds": None if cpu_s == "null" else float(cpu_s), "pairs_per_s": rate(cpu_s), "hash": cpu and cpu["hash"]},
    "cuda_fp32": {"seconds": None if cuda_s == "null" else float(cuda_s), "pairs_per_s": rate(cuda_s), "hash": cuda and cuda["hash"], "max_abs_dF_vs_cpu": maxdiff(cpu, cuda)},
    "cuda_tf32": {"seconds": None if tf32_s == "null" else float(tf32_s), "pairs_per_s": rate(tf32_s), "hash": tf32 and tf32["hash"], "max_abs_dF_vs_cpu": maxdiff(cpu, tf32)},
}, indent=2))
PY
[ "$golden" = pass ] || exit 1
