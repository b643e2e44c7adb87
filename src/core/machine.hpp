// machine.hpp — facts about the machine a measurement ran on.
//
// Every result carries these, because a number without its machine means little.
// Read from /proc, /sys and uname; nothing here needs root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dp {

struct CacheInfo {
  int level = 0;
  std::string kind;          // "data", "instruction", "unified"
  std::uint64_t bytes = 0;
  int line_bytes = 64;
  int shared_by_cpus = 1;    // how many logical CPUs share one instance
};

struct GpuInfo {
  std::string name;
  std::string driver;
  std::string api;           // "Vulkan 1.3"
  std::string type;          // "discrete", "integrated", "cpu" (lavapipe) ...
};

struct MachineInfo {
  std::string cpu;
  int cores = 0;             // physical cores
  int threads = 0;           // logical CPUs online
  std::vector<CacheInfo> caches;
  std::uint64_t memory_bytes = 0;
  std::string os;
  std::string kernel;
  std::string compiler;
  std::string build;
  std::string governor;      // empty when the kernel exposes none (e.g. in a VM)
  double load_average = 0;   // 1-minute load average
  std::optional<GpuInfo> gpu;

  // The largest data or unified cache of each level, in bytes (0 when unknown).
  std::uint64_t cache_bytes(int level) const;
  std::uint64_t last_level_cache_bytes() const;
  int cache_line_bytes() const;
  std::string hostname;

  static MachineInfo detect();
};

void to_json(nlohmann::json& j, const MachineInfo& m);
void from_json(const nlohmann::json& j, MachineInfo& m);

// Memory a new allocation can have now: MemAvailable, lowered by a cgroup limit or an address-space
// limit (ulimit -v) where one is set. 0 if unknown.
std::uint64_t available_memory_bytes();

std::string format_bytes(std::uint64_t bytes);  // 32768 -> "32 KiB"

}  // namespace dp
