// ui.hpp — the panel the reader steers with: the live frame-time plot with its p50/p99 readouts,
// and the toggles (simulation, layout, threads, particles, vsync, an allocation per frame,
// logging per frame). It edits a copy of the settings; the loop applies the changes.
#pragma once

#include "app/frame_history.hpp"
#include "app/options.hpp"

namespace dp::app {

struct PanelFacts {
  const FrameHistory* frames = nullptr;      // frame times (ms)
  const FrameHistory* simulation = nullptr;  // simulation time per frame (ms)
  int max_threads = 1;
  const char* renderer = "";
  unsigned long long log_dropped = 0;
  const char* gpu_error = "";  // why the GPU simulation could not start (empty: it could, or was not asked)
};

inline constexpr float kPanelWidth = 360.0f;

// Draws the panel (between Window::begin_frame and end_frame) and edits `settings`.
void draw_panel(AppOptions& settings, const PanelFacts& facts);

}  // namespace dp::app
