// options.hpp — what `dontpanic app` is asked to do, and the checks that turn a bad value into a
// message a reader can act on (what was wrong, what would be right).
#pragma once

#include <cstddef>
#include <string>

#include "app/particles.hpp"

namespace dp::app {

enum class LogMode { off, ring, sync };  // per-frame logging: none, the lock-free ring, write() per line
std::string to_string(LogMode mode);

struct AppOptions {
  int frames = 0;                 // 0: until the window is closed
  std::size_t particles = 100000;
  int threads = 1;
  Layout layout = Layout::aos;
  bool gpu = false;
  bool vsync = true;
  bool simulation = true;         // off: only the UI and the plot (the app's own overhead)
  bool alloc_per_frame = false;   // a fresh buffer per frame (the M1 allocation lesson)
  LogMode log = LogMode::off;
  std::string screenshot;         // PNG written after the last frame
  std::string json;               // frame times, settings, machine
  int width = 1024, height = 640;
};

// The text the command line gives, before it is checked.
struct RawOptions {
  int frames = 0;
  long long particles = 100000;
  int threads = 1;
  std::string layout = "aos";
  bool gpu = false;
  std::string vsync = "on";
  std::string simulation = "on";
  std::string alloc = "off";
  std::string log = "off";
  std::string screenshot, json;
};

// Throws dp::Error naming the option, the bad value and the valid ones.
AppOptions check_options(const RawOptions& raw, int max_threads);

inline constexpr std::size_t kMaxParticles = 10'000'000;

}  // namespace dp::app
