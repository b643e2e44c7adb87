// run.cpp — the app's frame loop.
#include "app/run.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/frame_history.hpp"
#include "app/frame_log.hpp"
#include "app/gpu_particles.hpp"
#include "app/gl.hpp"
#include "app/particles.hpp"
#include "app/renderer.hpp"
#include "app/screenshot.hpp"
#include "app/ui.hpp"
#include "app/window.hpp"
#include "core/error.hpp"
#include "core/machine.hpp"

namespace dp::app {

namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

constexpr float kStep = 1.0f / 60.0f;  // a fixed simulation step: the same picture on any machine

nlohmann::json settings_json(const AppOptions& s) {
  return {{"particles", s.particles}, {"threads", s.threads}, {"layout", to_string(s.layout)}, {"gpu", s.gpu},
          {"vsync", s.vsync}, {"simulation", s.simulation}, {"alloc_per_frame", s.alloc_per_frame},
          {"log", to_string(s.log)}, {"width", s.width}, {"height", s.height}};
}

void write_json(const std::string& path, const AppOptions& start, const AppOptions& end, const std::string& renderer,
                const std::vector<double>& frame_ms, const std::vector<double>& sim_ms, const std::string& gpu_device) {
  nlohmann::json j;
  j["app"] = "dontpanic app";
  j["settings"] = settings_json(start);
  j["settings_at_end"] = settings_json(end);
  j["machine"] = MachineInfo::detect();
  j["renderer"] = renderer;
  j["simulation_device"] = gpu_device.empty() ? "cpu" : gpu_device;
  const char* display = std::getenv("DISPLAY");
  j["display"] = display ? display : "";
  j["frames"] = frame_ms.size();
  j["frame_ms"] = frame_ms;
  j["simulation_ms"] = sim_ms;
  if (!frame_ms.empty())
    j["summary"] = {{"p50_ms", frame_loop::tail_percentile(frame_ms, 0.5)},
                    {"p99_ms", frame_loop::tail_percentile(frame_ms, 0.99)},
                    {"max_ms", frame_loop::tail_percentile(frame_ms, 1.0)},
                    {"simulation_p50_ms", frame_loop::tail_percentile(sim_ms, 0.5)},
                    {"simulation_p99_ms", frame_loop::tail_percentile(sim_ms, 0.99)}};
  std::ofstream out(path);
  out << j.dump(1) << '\n';
  if (!out) throw Error(fmt::format("cannot write {}", path));
}

}  // namespace

int run_app(const AppOptions& options) {
  AppOptions settings = options;  // the panel edits these; `applied` is what the loop runs with
  AppOptions applied = settings;
  Window window(settings.width, settings.height, "dontpanic app", settings.vsync);
  const std::string renderer_name = window.renderer();
  ParticleRenderer renderer;
  auto particles = std::make_unique<Particles>(settings.particles, settings.layout);
  // The GPU simulation, while the panel (or --gpu) asks for it: it starts from the particles'
  // current state, and after each step hands the new state back to `particles` for drawing.
  std::unique_ptr<GpuParticles> gpu;
  std::string gpu_error, gpu_device;
  const auto start_gpu = [&] {
    try {
      gpu = std::make_unique<GpuParticles>(particles->all());
      gpu_device = gpu->device_name();
      gpu_error.clear();
    } catch (const Error& e) {
      gpu.reset();
      gpu_error = e.what();
      settings.gpu = false;  // the checkbox goes back off, with the reason under it
    }
  };
  if (settings.gpu) {
    start_gpu();
    if (!gpu) throw Error(fmt::format("--gpu: {}", gpu_error));
  }
  FrameLog log((std::filesystem::temp_directory_path() / fmt::format("dontpanic-app-{}.log", ::getpid())).string());
  log.set_mode(settings.log);
  const int max_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

  FrameHistory frame_plot(240), sim_plot(240);
  std::vector<double> frame_ms, sim_ms;  // every frame, for the JSON
  frame_ms.reserve(static_cast<std::size_t>(options.frames));
  sim_ms.reserve(static_cast<std::size_t>(options.frames));
  std::vector<Particle> scratch;  // alloc-per-frame off: reused, so no allocation per frame

  auto frame_start = Clock::now();
  for (std::uint64_t frame = 0; !window.should_close() && (options.frames == 0 || frame < static_cast<std::uint64_t>(options.frames)); ++frame) {
    window.begin_frame();
    // Apply what the panel changed last frame.
    const bool rebuilt = settings.particles != applied.particles || settings.layout != applied.layout;
    if (rebuilt) particles = std::make_unique<Particles>(settings.particles, settings.layout);
    if (settings.gpu && (rebuilt || !gpu)) start_gpu();
    if (!settings.gpu) gpu.reset();
    if (settings.vsync != applied.vsync) window.set_vsync(settings.vsync);
    if (settings.log != applied.log) log.set_mode(settings.log);
    applied = settings;

    const auto sim_start = Clock::now();
    if (applied.simulation) {
      if (applied.alloc_per_frame) {
        // The M1 lesson: a fresh buffer the size of the state each frame (as a snapshot for a
        // second consumer would be) pays the allocator, and the kernel's page faults as the
        // zeroing touches it, every frame; the old one is freed as it is replaced.
        std::vector<Particle> snapshot(particles->size());
        scratch.swap(snapshot);
      }
      if (gpu) {
        gpu->step(kStep);
        particles->assign(gpu->particles());
      } else {
        particles->step(kStep, applied.threads);
      }
    }
    const double sim = ms_between(sim_start, Clock::now());

    draw_panel(settings, {&frame_plot, &sim_plot, max_threads, renderer_name.c_str(), log.dropped(), gpu_error.c_str()});
    int w = 0, h = 0;
    window.framebuffer_size(w, h);
    glViewport(0, 0, w, h);
    glClearColor(0.06f, 0.07f, 0.09f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    const int panel = static_cast<int>(kPanelWidth);
    if (applied.simulation) renderer.draw(*particles, panel, 0, w - panel, h);
    glViewport(0, 0, w, h);
    window.end_frame();
    const bool last = options.frames > 0 && frame + 1 == static_cast<std::uint64_t>(options.frames);
    if (last && !options.screenshot.empty()) save_screenshot(options.screenshot, w, h);
    window.swap();
    if (!applied.alloc_per_frame && !scratch.empty()) std::vector<Particle>().swap(scratch);

    const auto now = Clock::now();
    const double ms = ms_between(frame_start, now);  // this frame, start to start of the next
    frame_start = now;
    log.frame(frame, ms, sim);
    frame_plot.push(static_cast<float>(ms));
    sim_plot.push(static_cast<float>(sim));
    frame_ms.push_back(ms);
    sim_ms.push_back(sim);
  }
  log.set_mode(LogMode::off);

  if (!frame_ms.empty())
    std::cout << fmt::format("{} frames ({} particles, {}, {} thread{}, simulation {}, vsync {}) on {}:\n"
                             "  frame time p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms; simulation p50 {:.3f} ms\n",
                             frame_ms.size(), options.particles, to_string(options.layout), options.threads,
                             options.threads > 1 ? "s" : "", options.simulation ? "on" : "off", options.vsync ? "on" : "off",
                             renderer_name, frame_loop::tail_percentile(frame_ms, 0.5),
                             frame_loop::tail_percentile(frame_ms, 0.99), frame_loop::tail_percentile(frame_ms, 1.0),
                             frame_loop::tail_percentile(sim_ms, 0.5));
  if (!options.json.empty()) {
    write_json(options.json, options, applied, renderer_name, frame_ms, sim_ms, gpu_device);
    std::cout << "wrote " << options.json << '\n';
  }
  if (!options.screenshot.empty()) std::cout << "wrote " << options.screenshot << '\n';
  return 0;
}

}  // namespace dp::app
