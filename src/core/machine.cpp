#include "core/machine.hpp"

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

namespace dp {

namespace fs = std::filesystem;

namespace {

std::string read_first_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// "32K" -> 32768, "1024K" -> 1048576, "32M" -> 33554432 (sysfs cache sizes)
std::uint64_t parse_size(const std::string& text) {
  if (text.empty()) return 0;
  std::uint64_t value = std::stoull(text);
  switch (text.back()) {
    case 'K': return value << 10;
    case 'M': return value << 20;
    case 'G': return value << 30;
    default: return value;
  }
}

// Number of CPUs in a sysfs cpu list like "0-3,8".
int count_cpu_list(const std::string& list) {
  int count = 0;
  std::stringstream ss(list);
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (part.empty()) continue;
    auto dash = part.find('-');
    count += dash == std::string::npos ? 1 : std::stoi(part.substr(dash + 1)) - std::stoi(part) + 1;
  }
  return count;
}

// Where the kernel publishes no /sys/.../cache (some VMs do not), glibc still reads the sizes
// from the CPU itself (CPUID) through sysconf. Sharing is not known there: L1 and L2 are taken
// as per core, the L3 as shared by every CPU.
std::vector<CacheInfo> caches_from_sysconf() {
  struct Source {
    int level;
    const char* kind;
    int size_name, line_name;
  };
  const Source sources[] = {{1, "data", _SC_LEVEL1_DCACHE_SIZE, _SC_LEVEL1_DCACHE_LINESIZE},
                            {1, "instruction", _SC_LEVEL1_ICACHE_SIZE, _SC_LEVEL1_ICACHE_LINESIZE},
                            {2, "unified", _SC_LEVEL2_CACHE_SIZE, _SC_LEVEL2_CACHE_LINESIZE},
                            {3, "unified", _SC_LEVEL3_CACHE_SIZE, _SC_LEVEL3_CACHE_LINESIZE}};
  std::vector<CacheInfo> caches;
  for (const Source& s : sources) {
    const long bytes = sysconf(s.size_name);
    if (bytes <= 0) continue;
    const long line = sysconf(s.line_name);
    caches.push_back({.level = s.level, .kind = s.kind, .bytes = static_cast<std::uint64_t>(bytes),
                      .line_bytes = line > 0 ? static_cast<int>(line) : 64,
                      .shared_by_cpus = s.level == 3 ? std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))) : 1});
  }
  return caches;
}

std::vector<CacheInfo> read_caches() {
  std::vector<CacheInfo> caches;
  const fs::path dir = "/sys/devices/system/cpu/cpu0/cache";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind("index", 0) != 0) continue;
    CacheInfo c;
    try {
      c.level = std::stoi(read_first_line(entry.path() / "level"));
      std::string type = read_first_line(entry.path() / "type");
      c.kind = type == "Data" ? "data" : type == "Instruction" ? "instruction" : "unified";
      c.bytes = parse_size(read_first_line(entry.path() / "size"));
      const std::string line = read_first_line(entry.path() / "coherency_line_size");
      if (!line.empty()) c.line_bytes = std::stoi(line);
      c.shared_by_cpus = std::max(1, count_cpu_list(read_first_line(entry.path() / "shared_cpu_list")));
    } catch (const std::exception&) {
      continue;  // an unreadable entry is skipped, not fatal
    }
    caches.push_back(c);
  }
  if (caches.empty()) caches = caches_from_sysconf();
  std::sort(caches.begin(), caches.end(), [](const CacheInfo& a, const CacheInfo& b) {
    return std::tie(a.level, a.kind) < std::tie(b.level, b.kind);
  });
  return caches;
}

std::string read_cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        return value;
      }
    }
  }
  return "unknown CPU";
}

int count_physical_cores(int logical) {
  // Distinct (package, core) pairs from topology; falls back to the logical count.
  std::set<std::pair<std::string, std::string>> cores;
  for (int cpu = 0; cpu < logical; ++cpu) {
    const fs::path topo = fmt::format("/sys/devices/system/cpu/cpu{}/topology", cpu);
    auto package = read_first_line(topo / "physical_package_id");
    auto core = read_first_line(topo / "core_id");
    if (core.empty()) return logical;
    cores.insert({package, core});
  }
  return cores.empty() ? logical : static_cast<int>(cores.size());
}

std::uint64_t read_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemTotal:") return kib * 1024;
  }
  return 0;
}

std::uint64_t read_meminfo(const std::string& wanted) {
  std::ifstream in("/proc/meminfo");
  std::string key, unit;
  std::uint64_t kib = 0;
  while (in >> key >> kib >> unit)
    if (key == wanted) return kib * 1024;
  return 0;
}

std::string read_os_name() {
  std::ifstream in("/etc/os-release");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      auto value = line.substr(12);
      if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
      return value;
    }
  }
  return "Linux";
}

std::string compiler_name() {
#if defined(__clang__)
  return fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("g++ {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown compiler";
#endif
}

}  // namespace

std::uint64_t MachineInfo::cache_bytes(int level) const {
  std::uint64_t best = 0;
  for (const auto& c : caches)
    if (c.level == level && c.kind != "instruction") best = std::max(best, c.bytes);
  return best;
}

std::uint64_t MachineInfo::last_level_cache_bytes() const {
  for (int level = 4; level >= 1; --level)
    if (auto bytes = cache_bytes(level)) return bytes;
  return 0;
}

int MachineInfo::cache_line_bytes() const {
  for (const auto& c : caches)
    if (c.level == 1 && c.kind != "instruction") return c.line_bytes;
  return 64;
}

MachineInfo MachineInfo::detect() {
  MachineInfo m;
  m.cpu = read_cpu_model();
  m.threads = static_cast<int>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  m.cores = count_physical_cores(m.threads);
  m.caches = read_caches();
  m.memory_bytes = read_memory_bytes();
  m.os = read_os_name();
  utsname u{};
  if (uname(&u) == 0) {
    m.kernel = fmt::format("{} {} {}", u.sysname, u.release, u.machine);
    m.hostname = u.nodename;
  }
  m.compiler = compiler_name();
  m.build = DP_BUILD_TYPE;
  m.governor = read_first_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
  double load[1] = {0};
  if (getloadavg(load, 1) == 1) m.load_average = load[0];
  return m;
}

std::string format_bytes(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double value = static_cast<double>(bytes);
  while (value >= 1024 && u < 4) {
    value /= 1024;
    ++u;
  }
  if (value == static_cast<double>(static_cast<std::uint64_t>(value)))
    return fmt::format("{} {}", static_cast<std::uint64_t>(value), units[u]);
  return fmt::format("{:.1f} {}", value, units[u]);
}

void to_json(nlohmann::json& j, const MachineInfo& m) {
  j = nlohmann::json{{"cpu", m.cpu},       {"cores", m.cores},     {"threads", m.threads},
                     {"memory_bytes", m.memory_bytes}, {"os", m.os}, {"kernel", m.kernel},
                     {"compiler", m.compiler}, {"build", m.build}, {"governor", m.governor},
                     {"load_average", m.load_average}, {"hostname", m.hostname}};
  j["caches"] = nlohmann::json::array();
  for (const auto& c : m.caches)
    j["caches"].push_back({{"level", c.level}, {"kind", c.kind}, {"bytes", c.bytes},
                           {"line_bytes", c.line_bytes}, {"shared_by_cpus", c.shared_by_cpus}});
  if (m.gpu)
    j["gpu"] = {{"name", m.gpu->name}, {"driver", m.gpu->driver}, {"api", m.gpu->api},
                {"type", m.gpu->type}};
  else
    j["gpu"] = nullptr;
}

void from_json(const nlohmann::json& j, MachineInfo& m) {
  m.cpu = j.value("cpu", "");
  m.cores = j.value("cores", 0);
  m.threads = j.value("threads", 0);
  m.memory_bytes = j.value("memory_bytes", std::uint64_t{0});
  m.os = j.value("os", "");
  m.kernel = j.value("kernel", "");
  m.compiler = j.value("compiler", "");
  m.build = j.value("build", "");
  m.governor = j.value("governor", "");
  m.load_average = j.value("load_average", 0.0);
  m.hostname = j.value("hostname", "");
  m.caches.clear();
  for (const auto& c : j.value("caches", nlohmann::json::array()))
    m.caches.push_back({c.value("level", 0), c.value("kind", ""), c.value("bytes", std::uint64_t{0}),
                        c.value("line_bytes", 64), c.value("shared_by_cpus", 1)});
  if (j.contains("gpu") && j["gpu"].is_object())
    m.gpu = GpuInfo{j["gpu"].value("name", ""), j["gpu"].value("driver", ""),
                    j["gpu"].value("api", ""), j["gpu"].value("type", "")};
  else
    m.gpu.reset();
}

}  // namespace dp

namespace dp {

std::uint64_t available_memory_bytes() {
  std::uint64_t available = read_meminfo("MemAvailable:");
  const auto lower = [&](std::uint64_t limit) {
    if (limit > 0 && (available == 0 || limit < available)) available = limit;
  };
  // cgroup v2: what the group may still take (a container's or a systemd slice's memory.max).
  const std::string max_text = read_first_line("/sys/fs/cgroup/memory.max");
  if (!max_text.empty() && max_text != "max") {
    const std::uint64_t max = std::strtoull(max_text.c_str(), nullptr, 10);
    const std::uint64_t used = std::strtoull(read_first_line("/sys/fs/cgroup/memory.current").c_str(), nullptr, 10);
    lower(max > used ? max - used : 1);
  }
  // ulimit -v: the address space this process may still map.
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    std::uint64_t mapped = 0;
    std::ifstream status("/proc/self/status");
    std::string key, unit;
    std::uint64_t kib = 0;
    while (status >> key) {
      if (key == "VmSize:" && status >> kib >> unit) mapped = kib * 1024;
      status.ignore(1 << 12, '\n');
    }
    lower(limit.rlim_cur > mapped ? limit.rlim_cur - mapped : 1);
  }
  return available;
}

}  // namespace dp
