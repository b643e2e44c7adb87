// dontpanic app — the real-time app: a particle simulation the reader steers, with a live
// frame-time plot (src/app). Headless: `--frames 600 --screenshot F.png --json F.json` under Xvfb.
#include <algorithm>
#include <memory>
#include <thread>

#include "cli/commands.hpp"
#include "core/error.hpp"

#if defined(DP_HAVE_APP)
#include "app/options.hpp"
#include "app/run.hpp"
#endif

namespace dp::cli {

namespace {

#if defined(DP_HAVE_APP)
int run_app_command(const app::RawOptions& raw) {
  const int max_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  return app::run_app(app::check_options(raw, max_threads));
}
#endif

}  // namespace

// Whether this build has the app, and if not, what to install (also for `dontpanic doctor`).
AppCheck check_app() {
#if defined(DP_HAVE_APP)
  return {true, "GLFW + Dear ImGui + OpenGL 3.3 (run it under Xvfb without a display)", ""};
#else
  return {false, "this build has no `dontpanic app`: GLFW, Dear ImGui, OpenGL or stb were missing at build time",
          "sudo apt-get install libglfw3-dev libimgui-dev libgl-dev libgl1-mesa-dri libstb-dev xvfb xauth, then rebuild"};
#endif
}

void add_app_command(CLI::App& cli, CliState& state) {
  struct Raw {
    int frames = 0;
    long long particles = 100000;
    int threads = 1;
    std::string layout = "aos", vsync = "on", simulation = "on", alloc = "off", log = "off", screenshot, json;
    bool gpu = false;
  };
  auto raw = std::make_shared<Raw>();
  auto* cmd = cli.add_subcommand("app", "The real-time app: particles you steer, a live frame-time plot (GLFW + Dear ImGui)");
  cmd->add_option("--frames", raw->frames, "Frames to show, then exit (0: until the window is closed)");
  cmd->add_option("--particles", raw->particles, "How many particles (1 .. 10000000)");
  cmd->add_option("--threads", raw->threads, "Threads for the simulation (1 .. hardware threads)");
  cmd->add_option("--layout", raw->layout, "Particle layout: aos or soa");
  cmd->add_flag("--gpu", raw->gpu, "Step the particles on the GPU (Vulkan compute)");
  cmd->add_option("--vsync", raw->vsync, "on or off");
  cmd->add_option("--simulation", raw->simulation, "on, or off to measure the app's own overhead (UI + plot)");
  cmd->add_option("--alloc-per-frame", raw->alloc, "on: allocate a buffer the size of the particles every frame");
  cmd->add_option("--log", raw->log, "One log line per frame: off, ring (lock-free ring, background writer) or sync (write() per line)");
  cmd->add_option("--screenshot", raw->screenshot, "After the last frame, write the window as this PNG");
  cmd->add_option("--json", raw->json, "Write the frame times, settings and machine as JSON");
  cmd->callback([raw, &state] {
    state.action = [raw]() -> int {
#if defined(DP_HAVE_APP)
      app::RawOptions r;
      r.frames = raw->frames, r.particles = raw->particles, r.threads = raw->threads, r.layout = raw->layout;
      r.gpu = raw->gpu, r.vsync = raw->vsync, r.simulation = raw->simulation, r.alloc = raw->alloc, r.log = raw->log;
      r.screenshot = raw->screenshot, r.json = raw->json;
      return run_app_command(r);
#else
      const AppCheck c = check_app();
      throw Unavailable(c.detail + "; " + c.fix);
#endif
    };
  });
}

}  // namespace dp::cli
