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
# TestPrecisionFidelity*); then the GPU race: the mBERT-size synthetic model
# (built there with `models synth`, fp32 and fp16) scores the same pairs on
# the CPU, on CUDA in strict fp32, TF32 and fp16, and with the reference
# bert_score where the machine has torch; pairs/s, the speed-up over the
# reference and the largest |dP|, |dR|, |dF| between them. One JSON
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

# 4. The race: the same synthetic mBERT-size weights (seed 1, cut at layer
# 9) and the same 2,000 EN/ZH-length pairs, scored end to end as a user
# runs it (load included): bertbench CPU fp32 (all cores), CUDA strict
# fp32, CUDA TF32, CUDA fp16 (the same checkpoint built with --precision
# fp16), and, where this machine has Python with torch and transformers and
# the bundle carries bert_score's source, the reference bert_score 0.3.13 on
# the GPU (batch 256) over the very same Hugging Face folder.
model=$stage/mbert-synth
model16=$stage/mbert-synth-fp16
synth=(models synth --hidden 768 --layers 12 --heads 12 --intermediate 3072 --vocab 119547 --keep 9 --seed 1)
if [ ! -f "$model/model.onnx" ]; then
  "$bb" "${synth[@]}" -o "$model" >>"$out/gpu-check.log" 2>&1 || fail "models synth"
fi
if [ ! -f "$model16/model.onnx" ]; then
  "$bb" "${synth[@]}" --precision fp16 -o "$model16" >>"$out/gpu-check.log" 2>&1 || log "models synth --precision fp16 FAILED (see gpu-check.log)"
fi
pairs=${GPU_CHECK_PAIRS:-2000}
awk -v n="$pairs" 'BEGIN { srand(7); for (i = 0; i < n; i++) { s = ""; w = 12 + int(rand() * 20); for (j = 0; j < w; j++) s = s sprintf("w%d ", int(rand() * 5000)); print s } }' >"$stage/cands.txt"
awk -v n="$pairs" 'BEGIN { srand(8); for (i = 0; i < n; i++) { s = ""; w = 12 + int(rand() * 20); for (j = 0; j < w; j++) s = s sprintf("w%d ", int(rand() * 5000)); print s } }' >"$stage/refs.txt"
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
run() { # name, model folder, then score flags
  local name=$1 dir=$2; shift 2
  local start end
  start=$(date +%s.%N)
  "$bb" score --model "$dir" -c "$stage/cands.txt" -r "$stage/refs.txt" --format json -o "$out/$name.json" "$@" 2>"$out/$name.log" || { log "score $name FAILED: $(tail -1 "$out/$name.log")"; echo "null"; return; }
  end=$(date +%s.%N)
  seconds "$start" "$end"
}
log "race: $pairs pairs, CPU fp32 ($(nproc) threads)"
cpu_s=$(run cpu "$model" --device cpu --threads "$(nproc)")
log "race: CUDA strict fp32"
cuda_s=$(run cuda "$model" --device cuda)
log "race: CUDA TF32"
tf32_s=$(run cuda-tf32 "$model" --device cuda --tf32)
fp16_s=null
if [ -f "$model16/model.onnx" ]; then
  log "race: CUDA fp16"
  fp16_s=$(run cuda-fp16 "$model16" --device cuda)
fi
ref_s=null
if [ -d "$root/ref/bert_score" ] && python3 -c 'import torch, transformers; assert torch.cuda.is_available()' >>"$out/gpu-check.log" 2>&1; then
  log "race: reference bert_score on the GPU (batch 256)"
  start=$(date +%s.%N)
  if PYTHONPATH=$root/ref python3 - "$model" "$stage/cands.txt" "$stage/refs.txt" "$out/reference.json" >"$out/reference.log" 2>&1 <<'PY'
import json, sys
from bert_score import score
model, cands, refs, out = sys.argv[1:]
c = open(cands, encoding="utf-8").read().splitlines()
r = open(refs, encoding="utf-8").read().splitlines()
P, R, F = score(c, r, model_type=model, num_layers=9, batch_size=256, device="cuda", use_fast_tokenizer=True)
json.dump({"pairs": [{"P": p, "R": q, "F": f} for p, q, f in zip(P.tolist(), R.tolist(), F.tolist())]}, open(out, "w"))
PY
  then
    ref_s=$(seconds "$start" "$(date +%s.%N)")
  else
    log "reference bert_score FAILED: $(tail -1 "$out/reference.log")"
  fi
else
  log "race: no reference run (needs python3 with torch + transformers and a CUDA device, and bert_score's source staged: BERT_SCORE_SRC for scripts/gpu-stage.sh)"
fi

# 5. The summary.
python3 - "$out" "$pairs" "$golden" "$gpu" "cpu=$cpu_s" "cuda_fp32=$cuda_s" "cuda_tf32=$tf32_s" "cuda_fp16=$fp16_s" "reference=$ref_s" <<'PY' | tee "$out/gpu-check.json"
import json, sys
out, pairs, golden, gpu = sys.argv[1:5]
runs = [a.split("=", 1) for a in sys.argv[5:]]
files = {"cpu": "cpu", "cuda_fp32": "cuda", "cuda_tf32": "cuda-tf32", "cuda_fp16": "cuda-fp16", "reference": "reference"}
def load(name):
    try:
        return json.load(open(f"{out}/{files[name]}.json"))
    except Exception:
        return None
def maxdiff(a, b):
    if not a or not b:
        return None
    return {k: max(abs(x[k] - y[k]) for x, y in zip(a["pairs"], b["pairs"]) if x[k] is not None and y[k] is not None) for k in "PRF"}
cpu = load("cpu")
ref = load("reference")
summary = {"gpu": gpu, "pairs": int(pairs), "golden_on_cuda": golden}
for name, s in runs:
    doc = load(name)
    secs = None if s == "null" else float(s)
    entry = {"seconds": secs, "pairs_per_s": secs and round(int(pairs) / secs, 1),
             "hash": doc and doc.get("hash"), "max_abs_d_vs_cpu_fp32": maxdiff(cpu, doc) if name != "cpu" else None}
    if name != "reference":
        entry["max_abs_d_vs_reference"] = maxdiff(ref, doc)
    summary[name] = entry
ref_s = summary["reference"]["seconds"]
for name, _ in runs:
    s = summary[name]["seconds"]
    summary[name]["speedup_vs_reference"] = round(ref_s / s, 2) if ref_s and s else None
print(json.dumps(summary, indent=2))
PY
[ "$golden" = pass ] || exit 1
