#!/usr/bin/env bash
# m3_h200.sh — on the NVIDIA GPU machine: module 3's measurements that need it, in one call.
#   - the CPU: lscpu (which int8 instructions: AVX512-VNNI, AMX), then a full run of the
#     quantization lab on its cores against the machine's PyTorch (quantize_dynamic);
#   - the GPU: the labs in DP_GPU_LABS (default gpu-coopmat and energy: NVIDIA's energy counter) against PyTorch CUDA, through
#     run_on_gpu_machine.sh.
# Expects the bundle (DP_BUNDLE_MARCH=x86-64-v4 bench/gpu/make_bundle.sh: our fp32 GEMM, compiled
# for the build's SIMD width, then uses AVX-512 as it does on a reader's -march=native build).
#   device run: carry [".gl", ".gpubundle"], command: bash bench/gpu/m3_h200.sh
# Writes into ${OUT:-bench-out}: lscpu.txt, quantization.json, full-runs.log, and
# run_on_gpu_machine.sh's files (doctor.json, labs.tar.gz, h100-gpu-labs.json, run.log).
set -uo pipefail
out=${OUT:-bench-out}
mkdir -p "$out"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
lscpu > "$out/lscpu.txt" 2>&1
if [ "${DP_SKIP_CPU:-0}" != 1 ]; then
  DP_LABS="${DP_CPU_LABS:-quantization}" DP_LIMIT="${DP_CPU_LIMIT:-420}" DP_ARGS="--repetitions 3" bash bench/gpu/full_runs.sh
fi
DP_GPU_LABS="${DP_GPU_LABS:-gpu-coopmat energy}" bash bench/gpu/run_on_gpu_machine.sh
