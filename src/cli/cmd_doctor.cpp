// dontpanic doctor — is this machine ready for the labs, and what will limit its numbers?
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/history.hpp"
#include "core/machine.hpp"
#include "core/peak.hpp"
#include "core/process.hpp"
#include "core/table.hpp"

#if defined(DP_HAVE_GPU)
#include "gpu/devices.hpp"
#endif

namespace dp::cli {

namespace {

struct Item {
  std::string name;
  std::string status;  // "ok", "warn" (works, numbers or features limited), "missing"
  std::string detail;
  std::string fix;     // one actionable line when not ok
  bool required = false;
};

// The current clock of the fastest CPU as the kernel reports it (may be absent in virtual machines).
std::string cpu_mhz() {
  const double mhz = cpu_mhz_now();
  return mhz > 0 ? fmt::format(", {:.0f} MHz now", mhz) : "";
}

std::string cache_summary(const MachineInfo& m) {
  std::string s;
  for (const auto& c : m.caches) {
    if (c.kind == "instruction") continue;
    s += fmt::format("{}L{} {}{}", s.empty() ? "" : ", ", c.level, format_bytes(c.bytes),
                     c.shared_by_cpus > 1 ? fmt::format(" (shared by {} CPUs)", c.shared_by_cpus) : "");
  }
  return s;
}

std::vector<Item> gpu_items(nlohmann::json& gpus) {
  std::vector<Item> items;
#if defined(DP_HAVE_GPU)
  const auto devices = gpu::list_devices();
  for (const auto& d : devices) gpus.push_back(gpu::to_json(d));
  if (devices.empty() || !devices.front().error.empty()) {
    const std::string why = devices.empty() ? "no Vulkan device found" : devices.front().error;
    items.push_back({"Vulkan", "warn", why,
                     "GPU labs will be skipped; install lavapipe: sudo apt-get install mesa-vulkan-drivers", false});
  } else {
    for (const auto& d : devices) {
      if (!d.error.empty()) {  // DONTPANIC_GPU names no device: the labs would fail, so say it here
        items.push_back({"GPU choice", "warn", d.error,
                         "unset DONTPANIC_GPU, or set it to an index or name from the devices above", false});
        continue;
      }
      items.push_back({fmt::format("Vulkan device {}", d.index), "ok",
                       fmt::format("{} ({}){}", d.name, d.type, d.chosen ? ", used by GPU labs" : ""), "", false});
    }
  }
#else
  (void)gpus;
  items.push_back({"Vulkan", "warn", "this build has no Vulkan support (libvulkan-dev or shaderc missing at build time)",
                   "install them with tools/setup and rebuild; GPU labs are skipped until then", false});
#endif
  return items;
}

// What parallel runs (module 2) depend on: cores, SMT, and the libraries this build compared.
Item parallel_item(const MachineInfo& m) {
  const int per_core = m.cores > 0 ? std::max(1, m.threads / m.cores) : 1;
#if defined(DP_TBB_VERSION)
  const std::string tbb = std::string("TBB ") + DP_TBB_VERSION;
#else
  const std::string tbb = "no TBB (its variants are left out)";
#endif
#if defined(DP_OPENMP_VERSION)
  const std::string openmp = std::string("OpenMP ") + DP_OPENMP_VERSION;
#else
  const std::string openmp = "no OpenMP in this build (parallel-for leaves it out)";
#endif
  const bool short_curves = m.cores < 4;
  return {"parallel", short_curves ? "warn" : "ok",
          fmt::format("{} cores x {} thread{} per core; {}; {}", m.cores, per_core, per_core > 1 ? "s" : "", tbb, openmp),
          "fewer than 4 cores: the M2 scaling curves are short here; the pages show a 16-core table beside yours",
          false};
}

int doctor(bool json_out) {
  const MachineInfo m = MachineInfo::detect();
  std::vector<Item> items;
  items.push_back({"CPU", m.cpu.empty() ? "missing" : "ok",
                   fmt::format("{} — {} cores, {} threads{}", m.cpu, m.cores, m.threads, cpu_mhz()),
                   "cannot read /proc/cpuinfo; labs cannot describe the machine", true});
  items.push_back({"caches", m.caches.empty() ? "missing" : "ok", cache_summary(m),
                   "cannot read /sys/devices/system/cpu/cpu0/cache; cache labs need the sizes", true});
  items.push_back({"memory", m.memory_bytes ? "ok" : "missing", format_bytes(m.memory_bytes),
                   "cannot read /proc/meminfo", true});
  items.push_back({"OS", "ok", fmt::format("{}, {}", m.os, m.kernel), "", false});
  const bool debug_build = m.build.find("Release") == std::string::npos;
  items.push_back({"build", debug_build ? "warn" : "ok", fmt::format("{}, {}", m.compiler, m.build),
                   "this is not a Release build, so timings mean little; use build/release/dontpanic", false});
  items.push_back(parallel_item(m));
  if (m.governor.empty())
    items.push_back({"CPU governor", "ok", "not exposed by the kernel (common in virtual machines)", "", false});
  else
    items.push_back({"CPU governor", m.governor == "performance" ? "ok" : "warn", m.governor,
                     "a power-saving governor makes numbers noisy; for stable timings: "
                     "sudo cpupower frequency-set -g performance", false});
  const bool busy = m.load_average > 0.5 * m.threads;
  items.push_back({"load", busy ? "warn" : "ok",
                   fmt::format("1-minute load average {:.2f} on {} threads", m.load_average, m.threads),
                   "the machine is busy: close other programs, or expect noisy numbers", false});
  try {
    // Only look: the doctor creates nothing (the first run creates the database).
    const std::string path = History::default_path();
    const bool exists = History::exists(path);
    History history(path, History::Access::read_only);
    items.push_back({"history", "ok", exists ? path : fmt::format("no runs yet; the first run creates {}", path), "", true});
  } catch (const Error& e) {
    items.push_back({"history", "missing", e.what(), "fix the history file, or set XDG_DATA_HOME to a writable folder", true});
  }
  const auto gnuplot = find_program("gnuplot");
  items.push_back({"gnuplot", gnuplot ? "ok" : "warn", gnuplot ? *gnuplot : "not found",
                   "plots are skipped (JSON is still written); install: sudo apt-get install gnuplot-nox", false});
  // `dontpanic profile`: which profilers run here, and whether perf sees hardware counters.
  for (const ProfilerCheck& c : {check_perf(), check_cachegrind()}) {
    const std::string name = c.tool == "perf" ? "perf" : "cachegrind";
    if (!c.usable)
      items.push_back({name, "warn", c.why, "`dontpanic profile --tool " + c.tool + "` cannot run: " + c.fix, false});
    else
      items.push_back({name, c.tool == "perf" && !c.hardware_counters ? "warn" : "ok", c.detail,
                       "perf counts software events only here (task-clock, page faults, context switches) and "
                       "samples with cpu-clock: cache and branch counts need a machine that exposes its PMU "
                       "(bare metal, or a VM with PMU passthrough); cachegrind simulates caches anywhere",
                       false});
  }
  const AppCheck app = check_app();
  items.push_back({"app", app.built ? "ok" : "warn", app.detail, "`dontpanic app` is not in this build: " + app.fix, false});
  nlohmann::json gpus = nlohmann::json::array();
  for (auto& item : gpu_items(gpus)) items.push_back(std::move(item));
  const auto torch = find_python_with_torch();
  items.push_back({"python3 + torch", torch ? "ok" : "warn",
                   torch ? fmt::format("{} (torch {})", torch->interpreter, torch->torch_version) : "no python3 that can import torch",
                   "PyTorch peer comparisons are skipped; install: sudo apt-get install python3-torch libopenblas0-pthread", false});

  bool ready = true;
  for (const auto& item : items)
    if (item.required && item.status == "missing") ready = false;

  if (json_out) {
    nlohmann::json j{{"ready", ready}, {"machine", m}, {"gpus", gpus}, {"items", nlohmann::json::array()}};
    for (const auto& i : items)
      j["items"].push_back({{"name", i.name}, {"status", i.status}, {"detail", i.detail},
                            {"fix", i.status == "ok" ? "" : i.fix}, {"required", i.required}});
    std::cout << j.dump(2) << '\n';
  } else {
    Table table({"part", "status", "detail"});
    for (const auto& i : items) table.add_row({i.name, i.status, i.detail});
    table.print(std::cout);
#if defined(DP_HAVE_GPU)
    for (const auto& d : gpu::list_devices())
      if (d.error.empty()) std::cout << '\n' << gpu::describe(d) << '\n';
#endif
    bool any = false;
    for (const auto& i : items) {
      if (i.status == "ok") continue;
      if (!any) std::cout << "\nwhat to do:\n";
      any = true;
      std::cout << fmt::format("  {} {}: {}\n", i.required ? "[required]" : "[optional]", i.name, i.fix);
    }
    std::cout << (ready ? "\nready: every required part is there.\n"
                        : "\nnot ready: fix the required parts above.\n");
  }
  return ready ? kOk : kNotReady;
}

}  // namespace

void add_doctor_command(CLI::App& app, CliState& state) {
  auto json_out = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("doctor", "Is this machine ready? CPU, caches, memory, GPU, tools, and what adds noise");
  cmd->add_flag("--json", *json_out, "Print JSON instead of a table");
  cmd->callback([json_out, &state] { state.action = [json_out] { return doctor(*json_out); }; });
}

}  // namespace dp::cli
