// options.cpp — checking `dontpanic app`'s options.
#include "app/options.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp::app {

std::string to_string(LogMode mode) {
  switch (mode) {
    case LogMode::off: return "off";
    case LogMode::ring: return "ring";
    case LogMode::sync: return "sync";
  }
  return "?";
}

namespace {

bool on_off(const std::string& option, const std::string& value) {
  if (value == "on") return true;
  if (value == "off") return false;
  throw Error(fmt::format("{} must be on or off, not '{}'", option, value));
}

void check_writable_parent(const std::string& option, const std::string& path) {
  if (path.empty()) return;
  const auto parent = std::filesystem::absolute(path).parent_path();
  if (!std::filesystem::is_directory(parent))
    throw Error(fmt::format("{} {}: the folder {} does not exist", option, path, parent.string()));
}

}  // namespace

AppOptions check_options(const RawOptions& raw, int max_threads) {
  AppOptions o;
  if (raw.frames < 0) throw Error(fmt::format("--frames must be 0 (until the window is closed) or more, not {}", raw.frames));
  o.frames = raw.frames;
  if (raw.particles < 1 || raw.particles > static_cast<long long>(kMaxParticles))
    throw Error(fmt::format("--particles must be between 1 and {}, not {}", kMaxParticles, raw.particles));
  o.particles = static_cast<std::size_t>(raw.particles);
  if (raw.threads < 1 || raw.threads > max_threads)
    throw Error(fmt::format("--threads must be between 1 and {} (this machine's hardware threads), not {}",
                            max_threads, raw.threads));
  o.threads = raw.threads;
  if (raw.layout == "aos") o.layout = Layout::aos;
  else if (raw.layout == "soa") o.layout = Layout::soa;
  else throw Error(fmt::format("--layout must be aos or soa, not '{}'", raw.layout));
  o.vsync = on_off("--vsync", raw.vsync);
  o.simulation = on_off("--simulation", raw.simulation);
  o.alloc_per_frame = on_off("--alloc-per-frame", raw.alloc);
  if (raw.log == "off") o.log = LogMode::off;
  else if (raw.log == "ring") o.log = LogMode::ring;
  else if (raw.log == "sync") o.log = LogMode::sync;
  else throw Error(fmt::format("--log must be off, ring or sync, not '{}'", raw.log));
  o.gpu = raw.gpu;
  if (raw.screenshot.size() > 0 && std::filesystem::path(raw.screenshot).extension() != ".png")
    throw Error(fmt::format("--screenshot {}: the picture is written as PNG; give a file name ending in .png", raw.screenshot));
  check_writable_parent("--screenshot", raw.screenshot);
  check_writable_parent("--json", raw.json);
  o.screenshot = raw.screenshot;
  o.json = raw.json;
  return o;
}

}  // namespace dp::app
