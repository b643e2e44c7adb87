#!/usr/bin/env bash
# m4_h200.sh — on the NVIDIA GPU machine: the train-mlp lab in full, in one call. One run trains
# the same network five ways: our CPU trainer on the machine's cores, our Vulkan trainer (the step
# recorded once and replayed) on the GPU, PyTorch CPU eager, PyTorch CUDA eager and PyTorch CUDA
# with the step captured as a CUDA graph (bench/peers/torch_train_cuda.py). Then two short
# Vulkan-only runs: 16 steps per submission (fewer waits) and 2 x 2 outputs per GEMM thread.
#
# Expects, in the working tree (all git-ignored, named in the device run's carry):
#   .gpubundle/ .gl/   DP_BUNDLE_MARCH=x86-64-v4 bench/gpu/make_bundle.sh (AVX-512 for our CPU GEMM)
#   .fmnist/           the Fashion-MNIST IDX files, xz-compressed (27 MB: the machine reaches no
#                      network, and tools/get-data needs one). Here, once:
#       mkdir -p .fmnist && grep -qx '/.fmnist/' .git/info/exclude || echo /.fmnist/ >> .git/info/exclude
#       for f in ~/.local/share/dontpanic/data/fashion-mnist/*-ubyte; do xz -9 -c "$f" > .fmnist/$(basename "$f").xz; done
#   device run: carry [".gl", ".gpubundle", ".fmnist"], command: bash bench/gpu/m4_h200.sh
# Writes into ${OUT:-bench-out}: train-mlp.json (the full run), train-mlp-16-per-submit.json,
# train-mlp-block-2.json, lscpu.txt, m4-h200.log. Tables for the page: bench/gpu/m4_tables.py <that folder>.
set -uo pipefail
out=${OUT:-bench-out}
mkdir -p "$out"
exec > >(tee "$out/m4-h200.log") 2>&1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

export DONTPANIC_SOURCE_DIR=$root  # the peers' scripts, from the tree that travelled
source bench/gpu/vulkan_loader.sh  # the Vulkan loader from .gl/, NVIDIA's ICD
export XDG_CACHE_HOME=/tmp/dp-cache XDG_DATA_HOME=/tmp/dp-data DONTPANIC_HISTORY=/tmp/dp-history.sqlite DONTPANIC_GPU_VALIDATION=0
echo "code version: $(git rev-parse --short HEAD 2>/dev/null || echo "${DP_COMMIT:-unknown}")"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv || true
lscpu > "$out/lscpu.txt" 2>&1

# The data, where data_dir() looks with XDG_DATA_HOME set.
data=$XDG_DATA_HOME/dontpanic/data/fashion-mnist
mkdir -p "$data"
python3 - "$data" .fmnist/*.xz <<'PY' || { echo "!!! no Fashion-MNIST in .fmnist/ (see the top of this script)"; exit 3; }
import lzma, os, shutil, sys
if len(sys.argv) < 6: sys.exit("want the four IDX files in .fmnist/")
for f in sys.argv[2:]:
    with lzma.open(f) as src, open(os.path.join(sys.argv[1], os.path.basename(f)[:-3]), "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
ls -la "$data"

dp() {
  env LD_LIBRARY_PATH="$root/.gpubundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$root/.gpubundle/bin/dontpanic" "$@"
}
run_lab() {  # json name, limit in seconds, args...
  local name=$1 limit=$2; shift 2
  echo "=== train-mlp $*"
  local start=$(date +%s)
  timeout "$limit" env LD_LIBRARY_PATH="$root/.gpubundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$root/.gpubundle/bin/dontpanic" run train-mlp --plot none --json "$out/$name.json" --out /tmp/dp-results "$@" \
    || echo "!!! train-mlp $* exited with $? (124: it passed ${limit} s)"
  echo "=== took $(( $(date +%s) - start )) s"
}
dp doctor || true
run_lab train-mlp "${DP_LIMIT:-420}" ${DP_ARGS:-}
run_lab train-mlp-16-per-submit 120 --param epochs=3 --param torch=off --param gpu-steps-per-submit=16
run_lab train-mlp-block-2 120 --param epochs=3 --param torch=off --param gpu-block=2
ls -la "$out"
