#!/usr/bin/env bash
# cg_h200.sh — on the NVIDIA GPU machine, in one call: the measurements issues 18 and 20 left open.
#   1. path-tracer at 1920 x 1080, 256 spp in Vulkan; the CPU on 1, 2, 4 ... every core at 1 spp
#      (issue 18's target: Vulkan >= 50x the 2-thread CPU path, both in this one JSON).
#   2. graph-compiler's sweeps, with the register-blocked LINEAR (RB rows per work item) that no
#      GPU had run yet: depths 1..16 at width 32, and the wide layers 4..1024 at depth 64.
#   3. PyTorch CUDA (eager and CUDA graphs) on the wide layers' shapes, input from and result to
#      pinned host memory like ours (bench/peers/torch_graph.py).
#   4. integral-images (the GPU scan beside the CPU's on this machine's cores), at DP_II_SCALE
#      (default 4: 2048 x 2048; 8 makes its box sweep take about 10 minutes there).
#   5. sparse on this machine's idle cores (its 2-thread figures elsewhere come from a loaded VM).
# DP_STEPS picks some of them (default: "path-tracer graph-compiler torch integral-images sparse").
#
# Expects, in the working tree (git-ignored, named in the device run's carry):
#   .gpubundle.tar.xz  DP_BUNDLE_MARCH=x86-64-v4 bench/gpu/make_bundle.sh, then
#                      tar -cf - .gpubundle | xz -T2 -6 > .gpubundle.tar.xz  (the folder is 77 MB,
#                      over the carry limit; OpenCV brings OpenBLAS and LAPACK)
#   .gl/               the Vulkan loader packages (make_bundle.sh fetches them)
#   .photos/           camera.png and astronaut.png from python3-skimage's data folder, which the
#                      image labs read from its Debian path (the machine has no python3-skimage):
#       mkdir -p .photos && cp /usr/lib/python3/dist-packages/skimage/data/{camera,astronaut}.png .photos/
#   device run: carry [".gl", ".gpubundle.tar.xz", ".photos"], command: DP_COMMIT=<sha> bash bench/gpu/cg_h200.sh
# Writes into ${OUT:-bench-out}: path-tracer.json, path-tracer.png, graph-compiler.json,
# torch-cuda-wide.json, integral-images.json, lscpu.txt, cg-h200.log.
set -uo pipefail
out=${OUT:-bench-out}
mkdir -p "$out"
exec > >(tee "$out/cg-h200.log") 2>&1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

[[ -d .gpubundle ]] || xz -dc .gpubundle.tar.xz | tar -xf - || { echo "!!! no .gpubundle.tar.xz (see the top of this script)"; exit 3; }
source bench/gpu/vulkan_loader.sh  # the Vulkan loader from .gl/, NVIDIA's ICD
export DONTPANIC_SOURCE_DIR=$root XDG_CACHE_HOME=/tmp/dp-cache DONTPANIC_HISTORY=/tmp/dp-history.sqlite DONTPANIC_GPU_VALIDATION=0
echo "code version: $(git rev-parse --short HEAD 2>/dev/null || echo "${DP_COMMIT:-unknown}")"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv || true
lscpu > "$out/lscpu.txt" 2>&1
photos=/usr/lib/python3/dist-packages/skimage/data  # labs/m4/image_io.hpp: kPhotoDir
if [[ ! -f $photos/camera.png && -d .photos ]]; then mkdir -p "$photos" && cp .photos/*.png "$photos/"; fi
steps=" ${DP_STEPS:-path-tracer graph-compiler torch integral-images sparse} "
want() { [[ $steps == *" $1 "* ]]; }

run_lab() {  # time limit in seconds, lab, args...
  local limit=$1 lab=$2; shift 2
  echo "=== $lab $*"
  local start=$(date +%s)
  timeout "$limit" env LD_LIBRARY_PATH="$root/.gpubundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$root/.gpubundle/bin/dontpanic" run "$lab" --plot none --json "$out/$lab.json" --out /tmp/dp-results "$@" \
    || echo "!!! $lab exited with $? (124: it passed ${limit} s)"
  echo "=== took $(( $(date +%s) - start )) s"
}

if want path-tracer; then
  run_lab 200 path-tracer --param width=1920 --param height=1080 --param spp=256 --param cpu-spp=1
  cp /tmp/dp-results/path-tracer.png "$out/" 2>/dev/null || echo "(no path-tracer.png)"
fi
want graph-compiler && run_lab 150 graph-compiler --param max-depth=16 --param wide-max-width=1024
if want torch; then
  echo "=== PyTorch CUDA on the wide layers' shapes"
  shapes=""
  for w in 4 8 16 32 64 128 256 512 1024; do shapes="$shapes${shapes:+,}${w}x64x${w}"; done
  PYTHONUNBUFFERED=1 timeout 90 python3 bench/peers/torch_graph.py --device cuda --modes eager,cudagraph \
    --transfers host --shapes "$shapes" --reps 15 --min-time 0.05 > "$out/torch-cuda-wide.json" \
    || echo "!!! torch_graph.py exited with $?"
fi
want integral-images && run_lab 240 integral-images --param scale="${DP_II_SCALE:-4}"
want sparse && run_lab 150 sparse
ls -la "$out"
