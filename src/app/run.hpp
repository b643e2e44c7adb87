// run.hpp — `dontpanic app`: the window, the loop, and what it writes at the end.
//
// Who owns what: run_app owns the Window (GLFW, the GL context, Dear ImGui), the Particles, the
// ParticleRenderer, the FrameLog and the frame records; the panel only edits a copy of the
// settings, and the loop applies changes at the top of the next frame. One frame:
//   poll input -> apply settings -> [allocate] -> step the simulation (1..n threads) -> panel
//   -> draw particles -> draw the panel -> [screenshot] -> swap -> log the frame -> record time
#pragma once

#include "app/options.hpp"

namespace dp::app {

// Runs until `frames` frames were shown (0: until the window closes), then writes the screenshot
// and the JSON if asked and prints the frame-time summary. Throws dp::Unavailable without a
// display or OpenGL 3.3, dp::Error for anything the reader can fix.
int run_app(const AppOptions& options);

}  // namespace dp::app
