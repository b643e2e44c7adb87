// peak.cpp — the clock from /proc/cpuinfo, and the datasheet table.
#include "core/peak.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

namespace dp {

double cpu_mhz_now() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  double mhz = 0;
  while (std::getline(in, line))
    if (line.rfind("cpu MHz", 0) == 0) mhz = std::max(mhz, std::strtod(line.c_str() + line.find(':') + 1, nullptr));
  return mhz;
}

std::optional<PeakFlops> known_gpu_peak(const std::string& name) {
  const auto has = [&](const char* part) { return name.find(part) != std::string::npos; };
  if (has("H100") && has("PCIe")) return PeakFlops{51200, 756000, "NVIDIA H100 PCIe datasheet (fp16: dense tensor core)"};
  if (has("H100") || has("H200"))
    return PeakFlops{66900, 989400, "NVIDIA H100/H200 SXM datasheet (fp16: dense tensor core)"};
  if (has("A100")) return PeakFlops{19500, 312000, "NVIDIA A100 datasheet"};
  return std::nullopt;
}

std::optional<PeakFlops> estimated_cpu_peak(const MachineInfo& machine) {
  const double mhz = cpu_mhz_now();
  if (mhz <= 0) return std::nullopt;
  const double gflops = machine.threads * mhz / 1000.0 * 32;  // 2 FMA units x 8 lanes x 2 FLOPs
  return PeakFlops{gflops, gflops, fmt::format("estimate: {} threads x {:.2f} GHz x 32 FLOP/cycle (AVX2 FMA)",
                                               machine.threads, mhz / 1000.0)};
}

}  // namespace dp
