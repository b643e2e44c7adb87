#!/usr/bin/env bash
# transfer_h200.sh — on the NVIDIA GPU machine: gpu-transfer and gpu-add at full size, then
# PyTorch CUDA's copies at gpu-transfer's sizes, all in one call (the time limits below add up to
# 580 s, inside the device tool's 10 minutes).
#
# Uses the bundle of bench/gpu/make_bundle.sh (.gpubundle/: our binary and its libraries; .gl/: the
# Vulkan loader packages) and the loader set-up of bench/gpu/run_on_gpu_machine.sh. Writes into
# ${OUT:-bench-out}:
#   gpu-transfer.json, gpu-add.json   the labs' results (full sizes, validation off)
#   torch-transfer.json               bench/gpu/torch_transfer.py: the same copies in PyTorch CUDA
#   transfer-run.log
#   here:        bench/gpu/make_bundle.sh
#   device run:  carry [".gl", ".gpubundle"], command: DP_COMMIT=<sha> bash bench/gpu/transfer_h200.sh
set -uo pipefail
out=${OUT:-bench-out}
mkdir -p "$out"
exec > >(tee "$out/transfer-run.log") 2>&1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bundle=${DP_BUNDLE:-.gpubundle}

source bench/gpu/vulkan_loader.sh  # the Vulkan loader from .gl/, NVIDIA's ICD
export XDG_CACHE_HOME=/tmp/dp-cache DONTPANIC_HISTORY=/tmp/dp-history.sqlite DONTPANIC_GPU_VALIDATION=0
dp() {  # our binary with our Debian libraries (PyTorch keeps the machine's own); $1 = time limit
  local limit=$1; shift
  timeout "$limit" env LD_LIBRARY_PATH="$root/$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$root/$bundle/bin/dontpanic" "$@"
}
echo "code version: $(git rev-parse --short HEAD 2>/dev/null || echo "${DP_COMMIT:-unknown}")"
nvidia-smi --query-gpu=name,driver_version,pcie.link.gen.current,pcie.link.width.current --format=csv || true
dp 30 doctor --json > "$out/doctor.json" || true

for lab in gpu-transfer gpu-add; do
  echo "=== $lab"
  start=$(date +%s)
  dp 200 run "$lab" --plot none --json "$out/$lab.json" --out /tmp/dp-results || echo "!!! $lab exited with $?"
  echo "=== $lab took $(( $(date +%s) - start )) s"
done

echo "=== PyTorch CUDA, the same copies"
PYTHONUNBUFFERED=1 timeout 150 python3 bench/gpu/torch_transfer.py --lab "$out/gpu-transfer.json" \
  --out "$out/torch-transfer.json" || echo "!!! torch_transfer.py exited with $?"
ls -la "$out"
