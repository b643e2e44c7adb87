#!/usr/bin/env bash
# run_on_gpu_machine.sh — on the NVIDIA GPU machine: our GPU labs, then PyTorch on the same shapes.
#
# Expects .gpubundle/ (bench/gpu/make_bundle.sh) and .gl/ (the Vulkan loader packages) in the
# working tree, and writes into ${OUT:-bench-out}: doctor.json, the labs' JSON (labs.tar.gz),
# gpu-labs.json (the comparison; commit it as bench/results/<gpu>-gpu/gpu-labs.json) and run.log.
# DP_GPU_LABS picks labs; DP_GPU_LAB_ARGS adds arguments to every lab, DP_ARGS_<lab with _ for ->
# to one (DP_ARGS_gpu_conv="--param study=on").
#   device run: carry [".gl", ".gpubundle"], command: bash bench/gpu/run_on_gpu_machine.sh
set -uo pipefail
out=${OUT:-bench-out}
mkdir -p "$out/labs"
exec > >(tee "$out/run.log") 2>&1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

export DONTPANIC_SOURCE_DIR=$root  # the peers' scripts, from the tree that travelled
source bench/gpu/vulkan_loader.sh  # the Vulkan loader from .gl/, NVIDIA's ICD
[ -f "$VK_DRIVER_FILES" ] || ls -R /usr/local/nvidia/share 2>/dev/null | head -20
export XDG_CACHE_HOME=/tmp/dp-cache DONTPANIC_HISTORY=/tmp/dp-history.sqlite DONTPANIC_GPU_VALIDATION=0
# Our Debian libraries for our binary only (PyTorch keeps the machine's own).
dp() { LD_LIBRARY_PATH="$root/.gpubundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$root/.gpubundle/bin/dontpanic" "$@"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv || true

dp doctor --json > "$out/doctor.json" || true
dp doctor || true

lab_args() { local v="DP_ARGS_${1//-/_}"; echo "${!v:-}"; }
echo "code version: $(git rev-parse --short HEAD 2>/dev/null || echo "${DP_COMMIT:-unknown}")"
for lab in ${DP_GPU_LABS:-gpu-add gpu-matmul gpu-coopmat gpu-reduce gpu-histogram gpu-conv gpu-dispatch-overhead}; do
  echo "=== $lab"
  start=$(date +%s)
  timeout 240 env LD_LIBRARY_PATH="$root/.gpubundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$root/.gpubundle/bin/dontpanic" run "$lab" --plot none --json "$out/labs/$lab.json" --out /tmp/dp-results \
    ${DP_GPU_LAB_ARGS:-} $(lab_args "$lab") || echo "!!! $lab exited with $?"
  echo "=== $lab took $(( $(date +%s) - start )) s"
done

echo "=== PyTorch on the same shapes"
PYTHONUNBUFFERED=1 python3 "$root/bench/gpu/compare_torch.py" --labs "$out/labs" --doctor "$out/doctor.json" \
  --out "$out/gpu-labs.json" || echo "!!! compare_torch.py exited with $?"
tar -C "$out" -czf "$out/labs.tar.gz" labs && rm -rf "$out/labs"
ls -la "$out"
