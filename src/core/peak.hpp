// peak.hpp — machine facts about speed: the CPU's clock now, and the peak FLOP rates a lab
// compares its own GFLOP/s with ("achieved vs peak").
//
// Index
//   cpu_mhz_now()         the fastest CPU's current clock, from /proc/cpuinfo (0: not reported)
//   PeakFlops             fp32 and fp16 GFLOP/s, and where the numbers come from
//   known_gpu_peak()      vendor datasheet peaks for the GPUs the project has measured on
//   estimated_cpu_peak()  threads x clock x 32 FLOP/cycle (two AVX2 FMA units)
#pragma once

#include <optional>
#include <string>

#include "core/machine.hpp"

namespace dp {

// The highest "cpu MHz" in /proc/cpuinfo: the clock of the fastest CPU right now (it changes with
// load and power state). 0 where the kernel reports none (some virtual machines, non-Linux).
double cpu_mhz_now();

struct PeakFlops {
  double fp32_gflops = 0;
  double fp16_gflops = 0;  // dense tensor-core rate where the device has tensor cores
  std::string source;      // "NVIDIA A100 datasheet", "estimate: 2 threads x 3.00 GHz x ..."
};

// Datasheet peaks by (part of) the device name: H100 PCIe, H100/H200 SXM, A100. Empty otherwise.
std::optional<PeakFlops> known_gpu_peak(const std::string& device_name);

// A CPU's fp32 peak if every thread retired two 8-lane FMAs a cycle at the current clock: the
// ceiling for a CPU Vulkan device such as lavapipe. Empty without a reported clock.
std::optional<PeakFlops> estimated_cpu_peak(const MachineInfo& machine);

}  // namespace dp
