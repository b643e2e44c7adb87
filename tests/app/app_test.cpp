// app_test.cpp — `dontpanic app` (src/app): the simulation gives the same positions in every layout
// and thread count; bad options are clear errors; a headless run of 600 frames (under Xvfb: ./test
// starts one and exports DISPLAY) writes a picture with the particles in it and 600 frame times.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "app/gpu_particles.hpp"
#include "app/options.hpp"
#include "app/particles.hpp"
#include "cli/cli_support.hpp"
#include "core/error.hpp"

#if defined(DP_HAVE_STB)
#include <stb_image.h>
#endif

namespace dp::app {
namespace {

constexpr std::size_t kN = 10007;  // not a multiple of any thread count: shares of unequal size
constexpr int kSteps = 200;        // long enough for many particles to bounce off a wall

Particles stepped(Layout layout, int threads) {
  Particles p(kN, layout);
  for (int s = 0; s < kSteps; ++s) p.step(1.0f / 60.0f, threads);
  return p;
}

// The update of a particle reads only that particle, written once for both layouts, and
// compiled without contraction (-ffp-contract=off on particles.cpp): every variant must agree to the bit.
TEST(AppParticles, AosSoaAndThreadsGiveTheSamePositions) {
  const Particles reference = stepped(Layout::aos, 1);
  const Particles start(kN, Layout::aos);
  std::size_t moved = 0;
  for (std::size_t i = 0; i < kN; ++i) {
    const Particle a = start.get(i), b = reference.get(i);
    moved += a.x != b.x;
    ASSERT_LE(std::abs(b.x), 1.0f);
    ASSERT_LE(std::abs(b.y), 1.0f);
  }
  EXPECT_GT(moved, kN * 9 / 10) << "the simulation should move the particles";
  for (Layout layout : {Layout::aos, Layout::soa})
    for (int threads : {1, 2}) {
      const Particles p = stepped(layout, threads);
      for (std::size_t i = 0; i < kN; ++i) {
        const Particle a = reference.get(i), b = p.get(i);
        ASSERT_TRUE(a.x == b.x && a.y == b.y && a.vx == b.vx && a.vy == b.vy)
            << to_string(layout) << ", " << threads << " threads: particle " << i << " differs: (" << a.x << ", " << a.y
            << ") vs (" << b.x << ", " << b.y << ")";
      }
    }
}

// The GPU step (shaders/app/particles.comp) does the same float operations in the same order,
// with `precise` so nothing is fused into an FMA: add, subtract and multiply are correctly rounded
// in Vulkan as on the CPU, so the positions must agree to the bit after every step.
TEST(AppParticles, GpuStepGivesTheCpuPositionsBitForBit) {
  const Particles start(kN, Layout::aos);
  std::unique_ptr<GpuParticles> gpu;
  try {
    gpu = std::make_unique<GpuParticles>(start.all());
  } catch (const Error& e) {
    GTEST_SKIP() << "no Vulkan device here: " << e.what();
  }
  const Particles reference = stepped(Layout::aos, 1);
  for (int s = 0; s < kSteps; ++s) gpu->step(1.0f / 60.0f);
  const auto got = gpu->particles();
  ASSERT_EQ(got.size(), kN);
  for (std::size_t i = 0; i < kN; ++i) {
    const Particle a = reference.get(i), b = got[i];
    ASSERT_TRUE(a.x == b.x && a.y == b.y && a.vx == b.vx && a.vy == b.vy)
        << gpu->device_name() << ": particle " << i << " differs: (" << a.x << ", " << a.y << ") vs (" << b.x << ", "
        << b.y << ")";
  }
  // And assign() hands them to either layout unchanged.
  Particles soa(kN, Layout::soa);
  soa.assign(got);
  EXPECT_EQ(soa.get(kN - 1).vy, got[kN - 1].vy);
  EXPECT_THROW(soa.assign(got.subspan(1)), std::invalid_argument);
}

TEST(AppParticles, StepRejectsZeroThreads) {
  Particles p(10, Layout::soa);
  EXPECT_THROW(p.step(0.01f, 0), std::invalid_argument);
}

TEST(AppOptions, BadValuesAreClearErrors) {
  const auto message = [](RawOptions raw) -> std::string {
    try {
      check_options(raw, 2);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  RawOptions r;
  EXPECT_NO_THROW(check_options(r, 2));
  r.layout = "aso";
  EXPECT_EQ(message(r), "--layout must be aos or soa, not 'aso'");
  r = {};
  r.threads = 3;
  EXPECT_NE(message(r).find("--threads must be between 1 and 2"), std::string::npos) << message(r);
  r = {};
  r.particles = 0;
  EXPECT_NE(message(r).find("--particles must be between 1 and"), std::string::npos) << message(r);
  r = {};
  r.frames = -1;
  EXPECT_NE(message(r).find("--frames must be 0"), std::string::npos) << message(r);
  r = {};
  r.vsync = "yes";
  EXPECT_EQ(message(r), "--vsync must be on or off, not 'yes'");
  r = {};
  r.log = "async";
  EXPECT_EQ(message(r), "--log must be off, ring or sync, not 'async'");
  r = {};
  r.screenshot = "shot.jpg";
  EXPECT_NE(message(r).find("ending in .png"), std::string::npos) << message(r);
  r = {};
  r.json = "/no/such/folder/app.json";
  EXPECT_NE(message(r).find("does not exist"), std::string::npos) << message(r);
}

// Through the command line: the same checks, exit code 2, and the option named.
TEST(AppCli, BadOptionsFailWithTheirNames) {
  dp::test::expect_error({"app", "--layout", "diagonal"}, "--layout must be aos or soa");
  dp::test::expect_error({"app", "--simulation", "maybe"}, "--simulation must be on or off");
  dp::test::expect_error({"app", "--threads", "0"}, "--threads must be between 1 and");
}

// Under AddressSanitizer the app's child process runs without the leak check: Mesa, libX11 and
// GLFW keep allocations to the end, and the driver Mesa loads with dlopen is unloaded before the
// leak report, so its stacks cannot be named (tests/lsan.supp cannot match them). ASan's checks
// of every read and write stay on; our own code's leaks are checked in-process by the other tests.
class ChildWithoutLeakCheck {
 public:
  ChildWithoutLeakCheck() {
    if (const char* old = std::getenv("ASAN_OPTIONS")) saved_ = old;
    ::setenv("ASAN_OPTIONS", (saved_.empty() ? std::string("detect_leaks=0") : saved_ + ":detect_leaks=0").c_str(), 1);
  }
  ~ChildWithoutLeakCheck() {
    if (saved_.empty()) ::unsetenv("ASAN_OPTIONS");
    else ::setenv("ASAN_OPTIONS", saved_.c_str(), 1);
  }

 private:
  std::string saved_;
};

bool has_display() {
  const char* d = std::getenv("DISPLAY");
  return d && *d;
}

// 600 frames under the display ./test provides (Xvfb): a picture with the particles in it, and
// the JSON with one time per frame.
TEST(AppHeadless, SixHundredFramesWriteAPictureAndTheFrameTimes) {
#if !defined(DP_HAVE_APP)
  GTEST_SKIP() << "this build has no `dontpanic app` (GLFW, Dear ImGui, OpenGL or stb missing at build time)";
#else
  if (!has_display())
    GTEST_SKIP() << "DISPLAY is not set: run under Xvfb (./test starts one; by hand: xvfb-run -a -s '-screen 0 1280x720x24' ...)";
  dp::test::ScratchDir dir;
  const std::string png = dir / "app.png", json = dir / "app.json";
  const ChildWithoutLeakCheck no_leak_check;
  const auto r = dp::test::cli({"app", "--frames", "600", "--particles", "20000", "--vsync", "off", "--screenshot", png,
                                "--json", json});
  if (r.exit_code == 3) GTEST_SKIP() << "no OpenGL 3.3 context here: " << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;

  std::ifstream in(json);
  const auto j = nlohmann::json::parse(in);
  ASSERT_EQ(j.at("frame_ms").size(), 600u);
  for (const auto& ms : j["frame_ms"]) EXPECT_GT(ms.get<double>(), 0.0);
  EXPECT_EQ(j["settings"]["particles"], 20000);
  EXPECT_TRUE(j.contains("machine"));
  EXPECT_GT(j["summary"]["p99_ms"].get<double>(), 0.0);

  int w = 0, h = 0, channels = 0;
  unsigned char* pixels = stbi_load(png.c_str(), &w, &h, &channels, 3);
  ASSERT_NE(pixels, nullptr) << "cannot read " << png;
  // Particles are orange (red well above blue) on a dark blue-grey background; the panel on the
  // left is grey and blue. Count orange pixels in the particle area (right of the panel).
  std::size_t orange = 0, total = 0;
  bool all_same = true;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const unsigned char* p = pixels + (static_cast<std::size_t>(y) * w + x) * 3;
      all_same = all_same && p[0] == pixels[0] && p[1] == pixels[1] && p[2] == pixels[2];
      if (x < 400) continue;
      ++total;
      orange += p[0] > 80 && p[0] > p[2] + 40;
    }
  stbi_image_free(pixels);
  EXPECT_FALSE(all_same) << "the picture is one colour";
  EXPECT_GT(orange, total / 100) << orange << " of " << total << " pixels right of the panel are particle-coloured";
#endif
}

// The same run with the simulation on the GPU (lavapipe where there is no GPU): it starts, says
// which device stepped the particles, and draws them.
TEST(AppHeadless, GpuSimulationRunsAndSaysWhere) {
#if !defined(DP_HAVE_APP) || !defined(DP_HAVE_GPU)
  GTEST_SKIP() << "this build has no `dontpanic app` or no Vulkan";
#else
  if (!has_display()) GTEST_SKIP() << "DISPLAY is not set: run under Xvfb";
  try {
    const Particles one(1, Layout::aos);
    GpuParticles probe(one.all());
  } catch (const Error& e) {
    GTEST_SKIP() << "no Vulkan device here: " << e.what();
  }
  dp::test::ScratchDir dir;
  const std::string json = dir / "app.json";
  const ChildWithoutLeakCheck no_leak_check;
  const auto r = dp::test::cli({"app", "--frames", "30", "--particles", "5000", "--gpu", "--vsync", "off", "--json", json});
  if (r.exit_code == 3) GTEST_SKIP() << "no OpenGL 3.3 context here: " << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(json);
  const auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j.at("frame_ms").size(), 30u);
  EXPECT_EQ(j["settings"]["gpu"], true);
  EXPECT_NE(j["simulation_device"], "cpu");
#endif
}

}  // namespace
}  // namespace dp::app
