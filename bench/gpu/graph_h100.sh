#!/usr/bin/env bash
# graph_h100.sh — on the NVIDIA GPU machine: graph-modes and graph-compiler, then PyTorch CUDA
# (eager and CUDA graphs) on the same MLP shapes, into one JSON (bench/results/<gpu>-gpu/graph.json;
# the H100 run of 2026-11-25 is bench/results/h100-graph.json).
#
# Uses the GPU helper's bundle (bench/gpu/make_bundle.sh: .gpubundle/ with our binary and its
# libraries, .gl/ with the Vulkan loader packages) and the same loader set-up as
# bench/gpu/run_on_gpu_machine.sh. Writes into ${OUT:-bench-out}:
#   graph-modes.json, graph-compiler.json   the labs' results
#   torch-cuda.json                         bench/peers/torch_graph.py --device cuda
#   graph.json                              the comparison (bench/gpu/graph_compare.py)
#   graph-run.log
#   device run: carry [".gl", ".gpubundle"], command: DP_COMMIT=<sha> bash bench/gpu/graph_h100.sh
#   (DP_BUNDLE=<folder> for a bundle written elsewhere; the steps stay within the 10-minute limit)
set -uo pipefail
out=${OUT:-bench-out}
mkdir -p "$out"
exec > >(tee "$out/graph-run.log") 2>&1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bundle=${DP_BUNDLE:-.gpubundle}  # the folder make_bundle.sh wrote (bin/dontpanic, lib/)

source bench/gpu/vulkan_loader.sh  # the Vulkan loader from .gl/, NVIDIA's ICD
export XDG_CACHE_HOME=/tmp/dp-cache DONTPANIC_HISTORY=/tmp/dp-history.sqlite DONTPANIC_GPU_VALIDATION=0
dp() {  # our binary with our Debian libraries (PyTorch keeps the machine's own); $1 = time limit
  local limit=$1; shift
  timeout "$limit" env LD_LIBRARY_PATH="$root/$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$root/$bundle/bin/dontpanic" "$@"
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv || true

# The MLP sweeps of the issue: widths 4..256 at depth 64, depths 1..256 at width 256. The CPU modes
# run too (this machine's CPU, a generic x86-64 build) but only to width 256; PyTorch CPU is off
# (the CUDA peers below are the point here).
echo "=== graph-modes"
dp 360 run graph-modes --plot none --json "$out/graph-modes.json" --out /tmp/dp-results \
  --param torch=off --param cpu-max-width=256 --param gpu-budget=5 || echo "!!! graph-modes exited with $?"
echo "=== graph-compiler"
dp 180 run graph-compiler --plot none --json "$out/graph-compiler.json" --out /tmp/dp-results \
  --param max-depth=256 --param wide-max-width=1024 || echo "!!! graph-compiler exited with $?"

echo "=== PyTorch CUDA on the same shapes (input from and result to pinned host memory, like ours)"
shapes=""
for w in 4 8 16 32 64 128 256; do shapes="$shapes${shapes:+,}${w}x64x${w}"; done
for d in 1 2 4 8 16 32 128 256; do shapes="$shapes,256x${d}x256"; done
shapes="$shapes,512x64x512,1024x64x1024"  # graph-compiler's wide layers (issue 20's width 1024)
PYTHONUNBUFFERED=1 timeout 120 python3 bench/peers/torch_graph.py --device cuda --modes eager,cudagraph \
  --transfers host --shapes "$shapes" --reps 15 --min-time 0.05 > "$out/torch-cuda.json" \
  || echo "!!! torch_graph.py exited with $?"

PYTHONUNBUFFERED=1 timeout 60 python3 bench/peers/torch_graph.py --device cuda --modes eager,cudagraph \
  --transfers none --shapes "4x64x4,32x64x32,256x64x256" --reps 15 --min-time 0.05 \
  > "$out/torch-cuda-resident.json" || echo "!!! torch_graph.py (resident) exited with $?"

# The code version: the device machine gets the working tree without .git, so DP_COMMIT may say it.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo "${DP_COMMIT:-unknown}")
python3 bench/gpu/graph_compare.py --modes "$out/graph-modes.json" --torch "$out/torch-cuda.json" \
  --compiler "$out/graph-compiler.json" --torch-resident "$out/torch-cuda-resident.json" \
  --note "bench/gpu/graph_h100.sh, bundle from bench/gpu/make_bundle.sh (-march=${DP_BUNDLE_MARCH:-x86-64, generic: the CPU modes use SSE only}); code version: $commit" \
  --out "$out/graph.json" || echo "!!! graph_compare.py exited with $?"
ls -la "$out"
