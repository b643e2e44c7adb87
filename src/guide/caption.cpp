#include "guide/caption.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/lab.hpp"
#include "core/measure.hpp"

namespace dp::guide {

std::string machine_summary(const MachineInfo& m) {
  std::string cores = m.cores > 0 ? fmt::format("{} core{}", m.cores, m.cores == 1 ? "" : "s") : "";
  if (m.threads > m.cores && m.cores > 0) cores += fmt::format(", {} threads", m.threads);
  std::vector<std::string> caches;
  for (int level = 1; level <= 4; ++level)
    if (const auto bytes = m.cache_bytes(level); bytes > 0)
      caches.push_back(fmt::format("L{} {}", level, format_bytes(bytes)));
  std::string inside = cores;
  if (!caches.empty()) inside += fmt::format("{}{}", inside.empty() ? "" : "; ", fmt::join(caches, ", "));
  std::string text = m.cpu.empty() ? "an unnamed CPU" : m.cpu;
  if (!inside.empty()) text += " (" + inside + ")";
  if (!m.compiler.empty()) text += ", " + m.compiler;
  if (!m.build.empty()) text += " " + m.build + " build";
  return text;
}

std::string gpu_summary(const GpuInfo& gpu) {
  const std::string name = gpu.name.empty() ? "an unnamed Vulkan device" : gpu.name;
  if (gpu.type == "cpu") return name + ", Vulkan on the CPU";  // Mesa's lavapipe
  return gpu.type.empty() ? name : fmt::format("{} ({})", name, gpu.type);
}

std::vector<std::string> changed_params(const Result& result, const std::vector<ParamSpec>& specs) {
  nlohmann::json defaults = Params::resolve(specs, result.quick, {}).to_json();
  defaults["repetitions"] = (result.quick ? MeasureConfig::quick() : MeasureConfig::full()).repetitions;
  std::vector<std::string> changed;
  for (const auto& [name, value] : result.params.items()) {
    const ParamSpec* spec = find_param(specs, name);
    const std::string key = spec ? spec->name : name;
    if (defaults.contains(key) && defaults[key] == value) continue;
    changed.push_back(fmt::format("{}={}", key, value.is_string() ? value.get<std::string>() : value.dump()));
  }
  return changed;  // result.params is an object: already in name order
}

std::string caption_note(const Result& result) {
  const LabDef* lab = find_lab(result.lab);
  const auto changed = changed_params(result, lab ? lab->params : std::vector<ParamSpec>{});
  std::string text = "Measured on " + machine_summary(result.machine);
  if (result.machine.gpu) text += "; GPU series on " + gpu_summary(*result.machine.gpu);
  text += result.quick ? "; quick run" : "; full run";
  text += changed.empty() ? ", default parameters" : fmt::format(", {}", fmt::join(changed, ", "));
  const std::string date = result.started_at.substr(0, 10);
  if (!date.empty()) text += "; " + date;
  return text + ".";
}

}  // namespace dp::guide
