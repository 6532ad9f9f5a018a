#!/usr/bin/env bash
# GPU check (issue 13), one short run on a machine with an NVIDIA GPU (< 8 min):
#   1. what Vulkan/WebGPU sees: the Vulkan ICDs, the loader, the adapters Dawn offers;
#   2. the webgpu parity tests (test/engine/webgpu) on that adapter;
#   3. the WebGPU bench at mini (4/256) and BERT-base size (12/768) (wasm at mini beside it);
#   4. the PyTorch peer on CUDA in the same call: the FISH reference's batch-1 Fisher loop and dense AdamW;
#   5. a summary table with the goals: Fisher ≥ 1× the batch-1 loop, masked training ≥ 0.3× dense.
# Everything goes to $OUT (the device tool's folder) when set, else .bench/gpu-check/.
# Needs: this checkout with node_modules (npm ci), node ≥ 20, python3 with torch (+ transformers for 4).
# The Vulkan loader: if libvulkan.so.1 is missing, a libvulkan1_*.deb from $IRD_GPU_DEBS, .gpu-debs/ or
# ../shared/debs/ is unpacked (no install, no network): `apt-get download libvulkan1` into .gpu-debs/ on
# a machine with Debian's archive first. If the NVIDIA driver's ICD file is missing but its library is
# there, one is written to a temporary folder. Overrides for a smoke run elsewhere: GPU_CHECK_MODELS
# (default mini,base), GPU_CHECK_MATMUL (4096), GPU_CHECK_BATCH (16), GPU_CHECK_TESTS=0 (skip the tests),
# PYTHON (default python3).
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR="${OUT:-.bench/gpu-check}"
mkdir -p "$OUTDIR"
exec > >(tee "$OUTDIR/gpu-check.log") 2>&1
MODELS="${GPU_CHECK_MODELS:-mini,base}"
MATMUL="${GPU_CHECK_MATMUL:-4096}"
BATCH="${GPU_CHECK_BATCH:-16}"
PY="${PYTHON:-python3}"
start=$(date +%s)
step() { echo; echo "=== $* ($(($(date +%s) - start)) s)"; }

step "machine"
uname -srm
(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not found") | sed 's/^/gpu: /'
echo "node: $(node --version 2>/dev/null || echo missing)"
"$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>&1 | sed 's/^/python: /'
if [ ! -d node_modules/@tensorflow/tfjs-backend-webgpu ] || [ ! -d node_modules/webgpu ]; then
  echo "error: node_modules lacks webgpu / @tensorflow/tfjs-backend-webgpu: run npm ci (or carry node_modules)" >&2
fi

step "Vulkan"
for d in /usr/share/vulkan/icd.d /etc/vulkan/icd.d; do echo "ls $d:"; ls -l "$d" 2>&1 | sed 's/^/  /'; done
tmpvk=$(mktemp -d /tmp/gpu-check-vk.XXXXXX)
if ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  echo "Vulkan loader: $(ldconfig -p | grep 'libvulkan\.so\.1 ' | head -1 | sed 's/.*=> //')"
else
  deb=$(ls ${IRD_GPU_DEBS:-/nonexistent}/libvulkan1_*.deb .gpu-debs/libvulkan1_*.deb ../shared/debs/libvulkan1_*.deb 2>/dev/null | head -1)
  if [ -n "$deb" ]; then
    dpkg -x "$deb" "$tmpvk/root"
    lib=$(dirname "$(find "$tmpvk/root" -name 'libvulkan.so.1' | head -1)")
    export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "Vulkan loader: not installed; unpacked $deb → $lib"
  else
    echo "MISSING: the Vulkan loader libvulkan.so.1 (Debian libvulkan1) and no libvulkan1_*.deb to unpack (.gpu-debs/): Dawn cannot reach any Vulkan driver"
  fi
fi
icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1)
if [ -n "$icd" ]; then
  echo "NVIDIA ICD: $icd → $(grep -o '"library_path"[^,}]*' "$icd")"
else
  nvlib=$(ldconfig -p 2>/dev/null | grep -o '/[^ ]*libGLX_nvidia\.so\.0' | head -1)
  if [ -n "$nvlib" ]; then
    mkdir -p "$tmpvk/icd.d"
    printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$nvlib" >"$tmpvk/icd.d/nvidia_icd.json"
    export VK_DRIVER_FILES="$tmpvk/icd.d/nvidia_icd.json" VK_ICD_FILENAMES="$tmpvk/icd.d/nvidia_icd.json"
    echo "NVIDIA ICD: no nvidia_icd.json; wrote one for $nvlib ($VK_DRIVER_FILES)"
  else
    echo "MISSING: the NVIDIA Vulkan driver (no nvidia_icd.json and no libGLX_nvidia.so.0; in a container it needs NVIDIA_DRIVER_CAPABILITIES to include graphics)"
  fi
fi

step "WebGPU adapters (Dawn)"
timeout 90 node scripts/gpu-check/adapter.mjs 2>&1 | grep -v 'artificially reduced' | tee "$OUTDIR/adapters.jsonl"

if [ "${GPU_CHECK_TESTS:-1}" != 0 ]; then
  step "webgpu parity tests"
  CI= timeout 240 npx vitest run test/engine/webgpu 2>&1 | grep -v 'artificially reduced' | tail -40
fi

step "bench: webgpu at $MODELS, wasm at the first"
timeout 240 npx tsx scripts/bench-webgpu.ts --models "$MODELS" --backends webgpu --batch "$BATCH" --matmul "$MATMUL" --seconds 3 --out "$OUTDIR/bench-webgpu.json" 2>&1 | grep -v 'artificially reduced'
timeout 90 npx tsx scripts/bench-webgpu.ts --models "${MODELS%%,*}" --backends wasm --batch "$BATCH" --matmul 1024 --seconds 2 --steps 2 --out "$OUTDIR/bench-wasm.json" 2>&1 | grep -v 'artificially reduced' | tail -4

step "PyTorch peer (CUDA when present) at $MODELS"
timeout 150 "$PY" scripts/gpu-check/torch_peer.py --models "$MODELS" --seconds 5 --batch "$BATCH" --out "$OUTDIR/torch-peer.json"

step "summary"
node -e '
const fs = require("fs"), dir = process.argv[1]
const read = (f) => { try { return JSON.parse(fs.readFileSync(`${dir}/${f}`, "utf8")) } catch { return null } }
const wg = read("bench-webgpu.json"), wasm = read("bench-wasm.json"), torch = read("torch-peer.json") || []
const lines = ["| backend | model | matMul GFLOP/s | fwd+bwd GFLOP/s | Fisher/s | vs PyTorch batch-1 Fisher (goal ≥ 1×) | masked train/s | vs PyTorch dense AdamW (goal ≥ 0.3×) |", "|---|---|---|---|---|---|---|---|"]
for (const r of [...(wg?.rows ?? []), ...(wasm?.rows ?? [])]) {
  const t = torch.find((x) => x.model === r.model)
  const f = t ? `${(r.fisher.samplesPerSec / t.fisherBatch1PerSec).toFixed(2)}× of ${t.fisherBatch1PerSec.toFixed(1)}` : "–"
  const d = t ? `${(r.train.samplesPerSec / t.denseTrainPerSec).toFixed(2)}× of ${t.denseTrainPerSec.toFixed(1)}` : "–"
  lines.push(`| ${r.backend} | ${r.model} (${r.layers}/${r.hidden}) | ${r.matmul.gflops.toFixed(1)} | ${r.forwardBackward.gflops.toFixed(1)} | ${r.fisher.samplesPerSec.toFixed(1)} | ${f} | ${r.train.samplesPerSec.toFixed(1)} | ${d} |`)
}
const head = [`adapter: ${wg?.backends?.[0]?.line ?? "none (see above)"}`, `PyTorch: ${torch[0] ? `${torch[0].torch} on ${torch[0].gpu ?? torch[0].device}` : "not run"}`, ""]
fs.writeFileSync(`${dir}/summary.md`, head.concat(lines).join("\n") + "\n")
console.log(head.concat(lines).join("\n"))
' "$OUTDIR"
rm -rf "$tmpvk"
echo "done in $(($(date +%s) - start)) s; results in $OUTDIR"
