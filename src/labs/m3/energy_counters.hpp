// energy_counters.hpp — the energy counters the energy lab reads: RAPL through Linux's powercap
// files, and an NVIDIA GPU's counter through nvidia-smi. Both count joules the hardware itself
// measured (or modelled, on older Intel parts); nothing here estimates anything.
//
// RAPL (Intel since Sandy Bridge, AMD since Zen) appears as a tree of "zones":
//   /sys/class/powercap/intel-rapl:0/       name "package-0"   the whole socket
//   /sys/class/powercap/intel-rapl:0:0/     name "core"        the cores (a part of the package)
//   /sys/class/powercap/intel-rapl:0:1/     name "uncore" or "dram" ...
// Each zone has energy_uj (microjoules since some moment, wrapping around at max_energy_range_uj)
// and is updated about every millisecond. Since Linux 5.10 (CVE-2020-8694, "Platypus": the counter
// leaks what another process computes) energy_uj is readable by root only.
//
// Index
//   RaplZone, RaplScan    a zone (path, name, range); what a scan found, or why there is nothing
//   scan_rapl()           the zones under a powercap root that this process can read
//   energy_delta_uj()     after - before, across one wrap-around
//   RaplMeter             read every zone at once; joules per zone between two readings
//   GpuEnergy             one line of nvidia-smi's answer
//   parse_nvidia_smi_energy()  "NVIDIA H200, 123456" lines -> GpuEnergy (dp::Error on garbage)
//   find_nvidia_smi()     the program, or why there is none
//   NvidiaSmiCounter      the counter of the GPU of a given name, read by running nvidia-smi
#pragma once

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/process.hpp"

namespace dp::energy {

// ---------------------------------------------------------------------------------------------
// RAPL through powercap
// ---------------------------------------------------------------------------------------------

struct RaplZone {
  std::filesystem::path dir;        // .../intel-rapl:0:1
  std::string name;                 // "package-0", "core", "uncore", "dram", "psys"
  std::uint64_t max_range_uj = 0;   // energy_uj counts 0 .. max_range_uj, then starts again at 0
  bool top_level = false;           // intel-rapl:N (a package or psys), not intel-rapl:N:M
};

struct RaplScan {
  std::vector<RaplZone> zones;      // readable zones, top-level ones first
  std::string problem;              // empty when zones were found: else why none can be read
};

// The first line of a small sysfs file, or nullopt with errno's message in `why`.
inline std::optional<std::string> read_first_line(const std::filesystem::path& file, std::string& why) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    why = fmt::format("{}: {}", file.string(), std::strerror(errno ? errno : EIO));
    return std::nullopt;
  }
  return line;
}

inline std::uint64_t parse_microjoules(const std::string& text, const std::filesystem::path& file) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || text.find_first_not_of(" \t\r", used) != std::string::npos || text.find('-') != std::string::npos)
    throw Error(fmt::format("{} holds \"{}\", not a count of microjoules", file.string(), text));
  return v;
}

// intel-rapl:N is a top-level zone (a package, psys), intel-rapl:N:M a part of one; anything else none.
enum class ZoneKind { none, top, sub };
inline ZoneKind zone_kind(const std::string& folder) {
  const std::string prefix = "intel-rapl:";
  if (folder.rfind(prefix, 0) != 0) return ZoneKind::none;
  int numbers = 0;
  for (std::size_t i = prefix.size(); i <= folder.size(); ++i) {
    const std::size_t start = i;
    while (i < folder.size() && folder[i] >= '0' && folder[i] <= '9') ++i;
    if (i == start) return ZoneKind::none;  // an empty number: "intel-rapl:", "intel-rapl:0:"
    ++numbers;
    if (i == folder.size()) break;
    if (folder[i] != ':') return ZoneKind::none;
  }
  return numbers == 1 ? ZoneKind::top : numbers == 2 ? ZoneKind::sub : ZoneKind::none;
}

// Zones are the folders named intel-rapl:N or intel-rapl:N:M (AMD's kernels use the same names);
// intel-rapl-mmio:* repeats a package's counter through another path and is left out.
inline RaplScan scan_rapl(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  RaplScan scan;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    scan.problem = fmt::format("no powercap interface ({} does not exist: a VM, or a kernel without "
                               "CONFIG_POWERCAP / intel_rapl)", root.string());
    return scan;
  }
  std::vector<std::string> unreadable;
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(root, ec)) dirs.push_back(entry.path());
  std::sort(dirs.begin(), dirs.end());
  for (const fs::path& dir : dirs) {
    const auto kind = zone_kind(dir.filename().string());
    if (kind == ZoneKind::none) continue;
    std::string why;
    const auto name = read_first_line(dir / "name", why);
    const auto range = name ? read_first_line(dir / "max_energy_range_uj", why) : std::nullopt;
    const auto energy = range ? read_first_line(dir / "energy_uj", why) : std::nullopt;
    if (!energy) {
      unreadable.push_back(why);
      continue;
    }
    RaplZone zone{dir, *name, parse_microjoules(*range, dir / "max_energy_range_uj"), kind == ZoneKind::top};
    parse_microjoules(*energy, dir / "energy_uj");  // garbage is an error now, not mid-measurement
    scan.zones.push_back(zone);
  }
  std::stable_sort(scan.zones.begin(), scan.zones.end(), [](const RaplZone& a, const RaplZone& b) { return a.top_level > b.top_level; });
  if (scan.zones.empty())
    scan.problem = unreadable.empty()
                       ? fmt::format("no RAPL zones (no intel-rapl:* under {})", root.string())
                       : fmt::format("RAPL zones exist but cannot be read ({}{}); since Linux 5.10 "
                                     "(CVE-2020-8694) energy_uj is root's only: run as root, or "
                                     "`sudo chmod a+r {}/intel-rapl:*/energy_uj {}/intel-rapl:*:*/energy_uj` "
                                     "until the next boot",
                                     unreadable.front(), unreadable.size() > 1 ? fmt::format(" and {} more", unreadable.size() - 1) : "",
                                     root.string(), root.string());
  return scan;
}

// The energy between two readings of one counter that counts 0 .. max_range and starts again at 0.
// One wrap-around is seen (after < before); more than one in a window cannot be (at 100 W, a wrap
// every ~45 minutes on a typical 262 kJ range), so windows are kept far shorter.
inline std::uint64_t energy_delta_uj(std::uint64_t before, std::uint64_t after, std::uint64_t max_range) {
  if (after >= before) return after - before;
  return (max_range - before) + after + 1;  // up to max_range, then 0 .. after
}

class RaplMeter {
 public:
  explicit RaplMeter(std::vector<RaplZone> zones) : zones_(std::move(zones)) {}
  using Reading = std::vector<std::uint64_t>;  // microjoules, one per zone

  const std::vector<RaplZone>& zones() const { return zones_; }

  Reading read() const {
    Reading r;
    for (const RaplZone& z : zones_) {
      std::string why;
      const auto line = read_first_line(z.dir / "energy_uj", why);
      if (!line) throw Error("reading a RAPL counter failed: " + why);
      r.push_back(parse_microjoules(*line, z.dir / "energy_uj"));
    }
    return r;
  }

  // Joules per zone between two readings, in the order of zones().
  std::vector<double> joules(const Reading& before, const Reading& after) const {
    std::vector<double> j;
    for (std::size_t i = 0; i < zones_.size(); ++i)
      j.push_back(1e-6 * static_cast<double>(energy_delta_uj(before.at(i), after.at(i), zones_[i].max_range_uj)));
    return j;
  }

  // The packages' energy: the sum over zones named package-N (the socket or sockets). Zero, with
  // has_package() false, where the tree has none (then the lab reports the zones it has).
  bool has_package() const {
    return std::any_of(zones_.begin(), zones_.end(), [](const RaplZone& z) { return is_package(z); });
  }
  double package_joules(const std::vector<double>& per_zone) const {
    double sum = 0;
    for (std::size_t i = 0; i < zones_.size(); ++i)
      if (is_package(zones_[i])) sum += per_zone.at(i);
    return sum;
  }
  static bool is_package(const RaplZone& z) { return z.top_level && z.name.rfind("package", 0) == 0; }

 private:
  std::vector<RaplZone> zones_;
};

// Where the lab looks: $DONTPANIC_POWERCAP (tests point it at a fake tree), else the kernel's.
inline std::filesystem::path powercap_root() {
  const char* env = std::getenv("DONTPANIC_POWERCAP");
  return env && *env ? std::filesystem::path(env) : std::filesystem::path("/sys/class/powercap");
}

// ---------------------------------------------------------------------------------------------
// NVIDIA: nvidia-smi --query-gpu=name,total_energy_consumption --format=csv,noheader,nounits
// ---------------------------------------------------------------------------------------------

struct GpuEnergy {
  std::string name;                     // "NVIDIA H200"
  std::optional<double> millijoules;    // since the driver was loaded; nullopt: not supported
  std::string value_text;               // what nvidia-smi said, e.g. "[N/A]" or "[Not Supported]"
};

inline std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return {};
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

// One GpuEnergy per line "name, millijoules". A GPU without the counter answers "[N/A]" or
// "[Not Supported]" (pre-Volta parts, some vGPUs): that GPU gets no value. Anything else (an
// error message, a line without a comma, a negative or non-numeric value, no line at all) throws
// dp::Error quoting the line.
inline std::vector<GpuEnergy> parse_nvidia_smi_energy(const std::string& output) {
  std::vector<GpuEnergy> gpus;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    if (trim(line).empty()) continue;
    const auto comma = line.rfind(',');
    if (comma == std::string::npos)
      throw Error(fmt::format("nvidia-smi's answer \"{}\" is not \"name, millijoules\"", trim(line)));
    GpuEnergy g{trim(line.substr(0, comma)), std::nullopt, trim(line.substr(comma + 1))};
    if (g.name.empty()) throw Error(fmt::format("nvidia-smi's line \"{}\" names no GPU", trim(line)));
    if (!g.value_text.empty() && g.value_text.front() == '[') {
      gpus.push_back(g);  // [N/A], [Not Supported]: no counter on this GPU
      continue;
    }
    char* end = nullptr;
    const double mj = std::strtod(g.value_text.c_str(), &end);
    if (g.value_text.empty() || end != g.value_text.c_str() + g.value_text.size() || !std::isfinite(mj) || mj < 0)
      throw Error(fmt::format("nvidia-smi's energy \"{}\" (line \"{}\") is not a number of millijoules",
                              g.value_text, trim(line)));
    g.millijoules = mj;
    gpus.push_back(g);
  }
  if (gpus.empty()) throw Error("nvidia-smi answered nothing (no GPU listed)");
  return gpus;
}

// nvidia-smi's full path, or nullopt with `why` = "no NVIDIA energy counter (nvidia-smi not found)".
// $DONTPANIC_NVIDIA_SMI names another program (the tests use a fake one).
inline std::optional<std::string> find_nvidia_smi(std::string& why) {
  const char* env = std::getenv("DONTPANIC_NVIDIA_SMI");
  const std::string program = env && *env ? env : "nvidia-smi";
  auto path = find_program(program);
  if (!path) why = fmt::format("no NVIDIA energy counter ({} not found)", program);
  return path;
}

// The energy counter of one GPU, read by running nvidia-smi (tens of milliseconds a call, so
// readings bracket windows of seconds).
class NvidiaSmiCounter {
 public:
  // The GPU nvidia-smi names `gpu_name` (the Vulkan device's name: the driver gives both the same
  // one), or, where no name matches, the only GPU it lists if the Vulkan device is an NVIDIA one.
  // Where that fails, available() is false and why() says what nvidia-smi answered.
  NvidiaSmiCounter(std::string program, const std::string& gpu_name, bool vulkan_device_is_nvidia)
      : program_(std::move(program)) {
    try {
      const auto gpus = query();
      std::vector<std::size_t> named;
      for (std::size_t i = 0; i < gpus.size(); ++i)
        if (gpus[i].name == gpu_name) named.push_back(i);
      if (named.empty() && gpus.size() == 1 && vulkan_device_is_nvidia) named.push_back(0);
      if (named.size() != 1) {
        why_ = named.empty() ? fmt::format("no NVIDIA energy counter for '{}' (nvidia-smi lists {} other GPU(s): {})",
                                           gpu_name, gpus.size(), gpus.front().name)
                             : fmt::format("no NVIDIA energy counter for '{}': nvidia-smi lists {} GPUs of that name, and "
                                           "the lab cannot tell which one Vulkan opened", gpu_name, named.size());
        return;
      }
      line_ = named.front();
      name_ = gpus[line_].name;
      if (!gpus[line_].millijoules)
        why_ = fmt::format("no NVIDIA energy counter ('{}' answers total_energy_consumption with {})", name_,
                           gpus[line_].value_text);
    } catch (const Error& e) {
      why_ = fmt::format("no NVIDIA energy counter ({})", e.what());
    }
  }

  bool available() const { return why_.empty(); }
  const std::string& why() const { return why_; }
  const std::string& gpu_name() const { return name_; }  // as nvidia-smi names it

  // Millijoules since the driver was loaded. Throws dp::Error if nvidia-smi fails now.
  double read_millijoules() const {
    const auto gpus = query();
    if (line_ >= gpus.size() || !gpus[line_].millijoules)
      throw Error("nvidia-smi stopped reporting the GPU's energy mid-run");
    return *gpus[line_].millijoules;
  }

 private:
  std::vector<GpuEnergy> query() const {
    const auto r = run_process({program_, "--query-gpu=name,total_energy_consumption", "--format=csv,noheader,nounits"}, {}, 30);
    if (r.exit_code != 0)
      throw Error(fmt::format("{} exited with {}: {}", program_, r.exit_code, trim(r.output).substr(0, 200)));
    return parse_nvidia_smi_energy(r.output);
  }

  std::string program_;
  std::size_t line_ = 0;
  std::string name_;
  std::string why_;
};

}  // namespace dp::energy
