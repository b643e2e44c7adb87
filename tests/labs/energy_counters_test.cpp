// The energy lab's counters (src/labs/m3/energy_counters.hpp) on fakes: a powercap tree in a
// scratch folder (zones, a wrap-around, unreadable and garbled files) and nvidia-smi's answers.
// Then the lab itself, run against a fake powercap tree whose counters a thread advances at a
// known power, and (where there is a Vulkan device) against a fake nvidia-smi: the paths this VM's
// missing counters would otherwise never exercise.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/runner.hpp"
#include "labs/m3/energy_counters.hpp"
#include "support.hpp"

#if defined(DP_HAVE_GPU)
#include "gpu/devices.hpp"
#endif

namespace dp::energy {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  const fs::path tmp = file.string() + ".tmp";
  std::ofstream(tmp) << text;
  fs::rename(tmp, file);  // atomic: a reader never sees half a number
}

void zone(const fs::path& root, const std::string& dir, const std::string& name, std::uint64_t energy, std::uint64_t range) {
  write(root / dir / "name", name + "\n");
  write(root / dir / "energy_uj", std::to_string(energy) + "\n");
  write(root / dir / "max_energy_range_uj", std::to_string(range) + "\n");
}

// Sets an environment variable for one test, and puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_, old_->c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(EnergyCounters, DeltaAcrossAWrapAround) {
  EXPECT_EQ(energy_delta_uj(100, 250, 1000), 150u);
  EXPECT_EQ(energy_delta_uj(900, 100, 1000), 201u);  // 900 -> 1000, then 0 -> 100
  EXPECT_EQ(energy_delta_uj(1000, 0, 1000), 1u);
  EXPECT_EQ(energy_delta_uj(5, 5, 1000), 0u);
}

TEST(EnergyCounters, ZoneNames) {
  EXPECT_EQ(zone_kind("intel-rapl:0"), ZoneKind::top);
  EXPECT_EQ(zone_kind("intel-rapl:12"), ZoneKind::top);
  EXPECT_EQ(zone_kind("intel-rapl:0:1"), ZoneKind::sub);
  for (const char* other : {"intel-rapl", "intel-rapl:", "intel-rapl:0:", "intel-rapl:0:1:2", "intel-rapl:a",
                            "intel-rapl-mmio:0", "intel-rapl:0x", "dtpm"})
    EXPECT_EQ(zone_kind(other), ZoneKind::none) << other;
}

TEST(EnergyCounters, ScansAFakePowercapTree) {
  test::ScratchDir dir;
  const fs::path root = dir.path();
  zone(root, "intel-rapl:0", "package-0", 262143000000, 262143328850);
  zone(root, "intel-rapl:0:0", "core", 1000, 262143328850);
  zone(root, "intel-rapl:0:1", "dram", 2000, 65712999613);
  zone(root, "intel-rapl-mmio:0", "package-0", 5, 262143328850);  // the same package again: left out
  write(root / "README", "not a zone");
  const RaplScan scan = scan_rapl(root);
  ASSERT_TRUE(scan.problem.empty()) << scan.problem;
  ASSERT_EQ(scan.zones.size(), 3u);
  EXPECT_EQ(scan.zones[0].name, "package-0");
  EXPECT_TRUE(scan.zones[0].top_level);
  EXPECT_FALSE(scan.zones[1].top_level);
  EXPECT_EQ(scan.zones[2].max_range_uj, 65712999613u);

  RaplMeter meter(scan.zones);
  ASSERT_TRUE(meter.has_package());
  const auto before = meter.read();
  EXPECT_EQ(before[0], 262143000000u);
  // The package counter wraps: 328,850 uJ to the top, one more to 0, then 1,000,000 uJ.
  zone(root, "intel-rapl:0", "package-0", 1000000, 262143328850);
  zone(root, "intel-rapl:0:0", "core", 501000, 262143328850);
  const auto after = meter.read();
  const auto joules = meter.joules(before, after);
  EXPECT_DOUBLE_EQ(joules[0], 1.328851);
  EXPECT_DOUBLE_EQ(joules[1], 0.5);
  EXPECT_DOUBLE_EQ(joules[2], 0.0);
  EXPECT_DOUBLE_EQ(meter.package_joules(joules), 1.328851);  // the package alone, not core + dram on top
}

TEST(EnergyCounters, SaysWhyThereIsNoCounter) {
  test::ScratchDir dir;
  const RaplScan none = scan_rapl(dir.path() / "no-such-folder");
  EXPECT_TRUE(none.zones.empty());
  EXPECT_NE(none.problem.find("no powercap interface"), std::string::npos) << none.problem;

  EXPECT_NE(scan_rapl(dir.path()).problem.find("no RAPL zones"), std::string::npos);

  // A zone whose energy_uj cannot be read (as for a user on Linux >= 5.10; here a folder, since
  // these tests may run as root, whom file modes do not stop): the message says what to do.
  zone(dir.path(), "intel-rapl:0", "package-0", 1, 100);
  fs::remove(dir.path() / "intel-rapl:0" / "energy_uj");
  fs::create_directory(dir.path() / "intel-rapl:0" / "energy_uj");
  const RaplScan locked = scan_rapl(dir.path());
  EXPECT_TRUE(locked.zones.empty());
  EXPECT_NE(locked.problem.find("cannot be read"), std::string::npos) << locked.problem;
  EXPECT_NE(locked.problem.find("CVE-2020-8694"), std::string::npos) << locked.problem;
}

TEST(EnergyCounters, GarbledCounterIsAnError) {
  test::ScratchDir dir;
  zone(dir.path(), "intel-rapl:0", "package-0", 1, 100);
  write(dir.path() / "intel-rapl:0" / "energy_uj", "12abc\n");
  EXPECT_THROW(scan_rapl(dir.path()), Error);
  write(dir.path() / "intel-rapl:0" / "energy_uj", "-5\n");
  EXPECT_THROW(scan_rapl(dir.path()), Error);
}

TEST(EnergyCounters, ParsesNvidiaSmi) {
  const auto one = parse_nvidia_smi_energy("NVIDIA H200, 123456789\n");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].name, "NVIDIA H200");
  ASSERT_TRUE(one[0].millijoules.has_value());
  EXPECT_DOUBLE_EQ(*one[0].millijoules, 123456789.0);

  const auto two = parse_nvidia_smi_energy("llvmpipe (LLVM 15.0.6, 256 bits), 12.5\r\nTesla K80, [N/A]\n\n");
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].name, "llvmpipe (LLVM 15.0.6, 256 bits)");  // a comma inside the name
  EXPECT_DOUBLE_EQ(*two[0].millijoules, 12.5);
  EXPECT_FALSE(two[1].millijoules.has_value());
  EXPECT_EQ(two[1].value_text, "[N/A]");
}

TEST(EnergyCounters, GarbageFromNvidiaSmiIsAnError) {
  EXPECT_THROW(parse_nvidia_smi_energy(""), Error);
  EXPECT_THROW(parse_nvidia_smi_energy("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."), Error);
  EXPECT_THROW(parse_nvidia_smi_energy("NVIDIA H200, 12 mJ"), Error);
  EXPECT_THROW(parse_nvidia_smi_energy("NVIDIA H200, -3"), Error);
  EXPECT_THROW(parse_nvidia_smi_energy(", 42"), Error);
  try {
    parse_nvidia_smi_energy("NVIDIA H200, lots");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lots"), std::string::npos) << e.what();  // quotes what it got
  }
}

// The whole lab, quick, with the result it returns.
RunOutcome run_energy(const std::vector<std::string>& params, test::ScratchDir& out) {
  RunOptions options;
  options.quick = true;
  options.repetitions = 1;
  options.out_dir = out.path().string();
  options.plot = PlotMode::svg;
  options.record_history = false;
  options.assignments = params;
  std::ostringstream log;
  const LabDef* lab = find_lab("energy");
  EXPECT_NE(lab, nullptr);
  return run_lab(*lab, options, log);
}

const Series* series(const Result& r, const std::string& name) {
  const Series* s = r.find_series(name);
  EXPECT_NE(s, nullptr) << "no series " << name;
  return s;
}

TEST(EnergyLab, MeasuresJoulesFromAPowercapTree) {
  // A package drawing 20 W and its core 5 W, advanced every millisecond, with a 10 J range: the
  // package counter wraps every half second, inside some of the lab's windows.
  test::ScratchDir tree, out;
  constexpr std::uint64_t range = 10'000'000;
  zone(tree.path(), "intel-rapl:0", "package-0", range - 1000, range);
  zone(tree.path(), "intel-rapl:0:0", "core", 0, range);
  std::atomic<bool> stop{false};
  std::thread power([&] {
    const auto t0 = std::chrono::steady_clock::now();
    while (!stop) {
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      write(tree.path() / "intel-rapl:0" / "energy_uj", std::to_string((range - 1000 + static_cast<std::uint64_t>(20e6 * s)) % (range + 1)));
      write(tree.path() / "intel-rapl:0:0" / "energy_uj", std::to_string(static_cast<std::uint64_t>(5e6 * s) % (range + 1)));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  const ScopedEnv env("DONTPANIC_POWERCAP", tree.path().string());
  const RunOutcome outcome = run_energy({"window=0.1", "reps=3", "gpu=off"}, out);
  stop = true;
  power.join();
  ASSERT_TRUE(outcome.checks_passed);
  const Result& r = outcome.result;
  for (const char* name : {"scalar energy", "SIMD energy"})
    if (const Series* s = series(r, name)) {
      ASSERT_EQ(s->points.size(), 3u);
      for (const Point& p : s->points) {
        EXPECT_EQ(p.unit, "nJ/element");
        // 20 W for the window's busy time: nJ per element = 20 W * ns per element, within the
        // fake's millisecond steps and a busy machine's scheduling.
        EXPECT_GT(p.throughput, 0.5 * 20 * p.median_ns) << name << " at " << p.x;
        EXPECT_LT(p.throughput, 1.5 * 20 * p.median_ns) << name << " at " << p.x;
      }
    }
  // An idle window of 0.1 s at 20 W: 2 J, wrap-arounds and all.
  if (const Series* idle = series(r, "race energy: idle (asleep)")) {
    ASSERT_EQ(idle->points.size(), 1u);
    EXPECT_NEAR(idle->points[0].throughput, 2.0, 0.5);
    EXPECT_EQ(idle->points[0].unit, "J");
  }
  EXPECT_TRUE(std::any_of(r.plots.begin(), r.plots.end(), [](const PlotSpec& p) { return p.name == "energy"; }));
  EXPECT_TRUE(fs::exists(out.path() / "energy-energy.svg"));
}

TEST(EnergyLab, WithoutCountersSaysSoAndReportsNoJoules) {
  test::ScratchDir empty, out;
  const ScopedEnv cpu("DONTPANIC_POWERCAP", (empty.path() / "none").string());
  const ScopedEnv gpu("DONTPANIC_NVIDIA_SMI", "no-such-nvidia-smi");
  const RunOutcome outcome = run_energy({}, out);
  ASSERT_TRUE(outcome.checks_passed);
  const Result& r = outcome.result;
  for (const Series& s : r.series) EXPECT_EQ(s.variant.find("energy"), std::string::npos) << s.variant;
  const auto said = [&](const std::string& text) {
    return std::any_of(r.notes.begin(), r.notes.end(), [&](const std::string& n) { return n.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(said("no CPU energy counter: no powercap interface"));
  EXPECT_TRUE(said("no NVIDIA energy counter (no-such-nvidia-smi not found)"));
}

TEST(EnergyLab, BadParametersAreClearErrors) {
  test::ScratchDir out;
  EXPECT_THROW(run_energy({"window=0"}, out), Error);
  EXPECT_THROW(run_energy({"gpu=maybe"}, out), Error);
  EXPECT_THROW(run_energy({"reps=0"}, out), Error);
}

#if defined(DP_HAVE_GPU)
TEST(EnergyLab, GpuPathWithAFakeNvidiaSmi) {
  std::string device_name;
  for (const auto& d : gpu::list_devices())
    if (d.error.empty() && d.chosen) device_name = d.name;
  if (device_name.empty()) GTEST_SKIP() << "no Vulkan device here";
  // A fake nvidia-smi for the device Vulkan opens, at 100 W: millijoules = nanoseconds / 10^4.
  test::ScratchDir dir, out;
  const std::string script = dir / "nvidia-smi";
  std::ofstream(script) << "#!/bin/sh\necho \"" << device_name << ", $(( $(date +%s%N) / 10000 ))\"\n";
  ::chmod(script.c_str(), 0755);
  const ScopedEnv smi("DONTPANIC_NVIDIA_SMI", script);
  const ScopedEnv cpu("DONTPANIC_POWERCAP", (dir.path() / "none").string());
  const RunOutcome outcome = run_energy({"gpu-seconds=0.2", "gpu-n=128"}, out);
  ASSERT_TRUE(outcome.checks_passed);
  const Series* energy = series(outcome.result, "GPU vectorized energy");
  const Series* speed = series(outcome.result, "GPU vectorized");
  ASSERT_TRUE(energy && speed);
  ASSERT_EQ(energy->points.size(), 1u);
  EXPECT_EQ(energy->points[0].unit, "J/GFLOP");
  EXPECT_GT(energy->points[0].throughput, 0);
  EXPECT_EQ(speed->points[0].unit, "GFLOP/s");
  // 100 W for the window, over the GFLOPs done in it; the GPU-clock speed can only be faster than
  // wall-clock work (the window also holds nvidia-smi starting and the submissions' gaps).
  EXPECT_GT(energy->points[0].throughput * speed->points[0].throughput, 100 * 0.9);
}
#endif

}  // namespace
}  // namespace dp::energy
