#!/usr/bin/env bash
# full_runs.sh — on the NVIDIA GPU machine: full runs of GPU labs, each saved as its own schema-1
# result JSON, so that the guide can show a committed full-run figure where a reader's quick run
# has too few points to draw a curve (src/guide/figures.cpp looks in bench/results/).
#
# Uses the bundle of bench/gpu/make_bundle.sh (.gpubundle/, .gl/), like run_on_gpu_machine.sh.
#   here:        bench/gpu/make_bundle.sh
#   device run:  carry [".gl", ".gpubundle"],
#                command: DP_LABS="gpu-matmul gpu-conv" DP_LIMIT=120 bash bench/gpu/full_runs.sh
# Writes ${OUT:-bench-out}/<lab>.json for each lab that passed its checks, and full-runs.log.
set -uo pipefail
out=${OUT:-bench-out}
mkdir -p "$out"
exec > >(tee "$out/full-runs.log") 2>&1
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

export DONTPANIC_SOURCE_DIR=$root  # the peers' scripts, from the tree that travelled
source bench/gpu/vulkan_loader.sh  # the Vulkan loader from .gl/, NVIDIA's ICD
export XDG_CACHE_HOME=/tmp/dp-cache XDG_DATA_HOME=/tmp/dp-data DONTPANIC_GPU_VALIDATION=0
echo "code version: $(git rev-parse --short HEAD 2>/dev/null || echo "${DP_COMMIT:-unknown}")"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv || true

# DP_ARGS: more arguments for every run (e.g. --repetitions 5). DP_QUICK_FALLBACK=1: a lab whose
# full run fails or passes DP_LIMIT is run again in quick mode (its JSON says quick: true).
run_lab() {  # lab, extra args...
  local lab=$1; shift
  timeout "${DP_LIMIT:-120}" env LD_LIBRARY_PATH="$root/.gpubundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$root/.gpubundle/bin/dontpanic" run "$lab" --plot none --json "$out/$lab.json" --out /tmp/dp-results \
    ${DP_ARGS:-} "$@"
}
for lab in ${DP_LABS:-gpu-matmul gpu-conv gpu-reduce gpu-histogram}; do
  echo "=== $lab"
  start=$(date +%s)
  run_lab "$lab"
  status=$?
  if [ "$status" -ne 0 ]; then
    echo "!!! $lab exited with $status (124: it passed DP_LIMIT)"
    rm -f "$out/$lab.json"
    if [ "${DP_QUICK_FALLBACK:-0}" = 1 ]; then
      echo "=== $lab again in quick mode"
      run_lab "$lab" --quick
      status=$?
      [ "$status" -eq 0 ] || { echo "!!! $lab --quick exited with $status"; rm -f "$out/$lab.json"; }
    fi
  fi
  echo "=== $lab took $(( $(date +%s) - start )) s"
done
ls -la "$out"
