// `dontpanic profile`: cachegrind names hot lines of the lab's own file, perf counts and samples;
// bad input and a missing or broken perf are errors that say what to do. (`dontpanic doctor`'s
// perf and cachegrind items are checked in cli_test.cpp, with the rest of the doctor.) Each profiled run is matmul-loop-order at n = 64
// (one small size), so the whole file takes seconds, even under valgrind.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "cli/cli_support.hpp"
#include "core/portability.hpp"  // kSanitized
#include "core/process.hpp"

namespace dp {
namespace {

using test::cli;
using test::expect_error;
using test::shell;

constexpr const char* kLab = "matmul-loop-order";
constexpr const char* kLabFile = "src/labs/m1/matmul_loop_order.cpp";

bool tool_runs(const std::vector<std::string>& argv) { return run_process(argv, {}, 60).exit_code == 0; }

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(Profile, CachegrindFindsHotLinesInTheLabsFile) {
  if (dp::kSanitized) {  // valgrind cannot run a sanitizer build: profile says so
    const auto r = cli({"profile", kLab, "--tool", "cachegrind"}, 60);
    EXPECT_EQ(r.exit_code, 3) << r.output;
    EXPECT_NE(r.output.find("sanitizer build"), std::string::npos) << r.output;
    GTEST_SKIP() << "a sanitizer build: valgrind cannot profile it (the refusal was checked)";
  }
  if (!tool_runs({"valgrind", "--tool=cachegrind", "--cachegrind-out-file=/dev/null", "true"}))
    GTEST_SKIP() << "valgrind's cachegrind does not run here";
  const test::ScratchDir dir;
  const auto r = cli({"profile", kLab, "--tool", "cachegrind", "--param", "n=64", "--top", "5", "--json",
                      dir / "p.json"}, 240);
  if (r.exit_code == 3 && r.output.find("AVX-512") != std::string::npos)
    GTEST_SKIP() << "this build has AVX-512 and there is no build/valgrind (cmake --preset valgrind): " << r.output;
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(std::string("== hot lines of ") + kLabFile), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("D1 misses"), std::string::npos) << r.output;
  const auto j = read_json(dir / "p.json");
  EXPECT_EQ(j["tool"], "cachegrind");
  EXPECT_EQ(j["source"], kLabFile);
  int lab_lines = 0;
  bool line_with_text = false;
  for (const auto& l : j["lines"]) {
    if (!l["in_lab"].get<bool>()) continue;
    ++lab_lines;
    EXPECT_EQ(l["file"], kLabFile);
    EXPECT_GT(l["line"].get<int>(), 0);
    line_with_text |= !l["text"].get<std::string>().empty() && l["counts"]["Ir"].get<double>() > 0;
  }
  EXPECT_GT(lab_lines, 0) << "no line of " << kLabFile << " in:\n" << r.output;
  EXPECT_TRUE(line_with_text);
  bool instructions = false;
  for (const auto& c : j["counts"]) instructions |= c["event"] == "instructions (Ir)" && c["value"].get<double>() > 0;
  EXPECT_TRUE(instructions) << j["counts"].dump();
}

TEST(Profile, PerfCountsAndSamplesWhereItRuns) {
  if (!tool_runs({"perf", "stat", "-e", "task-clock", "--", "true"})) GTEST_SKIP() << "perf does not run here";
  const test::ScratchDir dir;
  const auto r = cli({"profile", kLab, "--tool", "perf", "--param", "n=64", "--json", dir / "p.json"}, 240);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = read_json(dir / "p.json");
  bool task_clock = false, cycles_said = false;
  for (const auto& c : j["counts"]) {
    if (c["event"] == "task-clock") task_clock = c["value"].is_number() && c["value"].get<double>() > 0;
    // Counted, or said not to be: never a silent zero.
    if (c["event"] == "cycles")
      cycles_said = c["value"].is_number() || c["note"].get<std::string>().find("not counted here") != std::string::npos;
  }
  EXPECT_TRUE(task_clock) << j["counts"].dump();
  EXPECT_TRUE(cycles_said) << j["counts"].dump();
  EXPECT_GT(j["total_weight"].get<double>(), 0);
  EXPECT_NE(r.output.find("== hot functions"), std::string::npos) << r.output;
  if (!j["hardware_counters"].get<bool>()) {
    EXPECT_NE(r.output.find("no hardware counters here"), std::string::npos) << r.output;
  }
}

TEST(Profile, BadInputIsAClearError) {
  expect_error({"profile", "no-such-lab"}, "unknown lab 'no-such-lab'");
  expect_error({"profile", kLab, "--tool", "vtune"}, "--tool 'vtune' is not known; use perf");
  expect_error({"profile", kLab, "--param", "n=1"}, "n");
  expect_error({"profile", kLab, "--tool", "perf", "--rank", "ll"}, "--rank applies to --tool cachegrind");
  expect_error({"profile", kLab, "--top", "0"}, "--top 0 is out of range");
}

TEST(Profile, MissingPerfSaysWhatToDo) {
  // No perf on PATH (nor valgrind): asked for perf, it says so, with the package and the other tool.
  auto r = shell("PATH=/nonexistent \"$DP\" profile matmul-loop-order --tool perf");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("perf is not installed"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("apt-get install linux-perf"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--tool cachegrind"), std::string::npos) << r.output;
  // Asked for nothing in particular, with neither tool: both reasons.
  r = shell("PATH=/nonexistent \"$DP\" profile matmul-loop-order");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("no profiler works here"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("valgrind is not installed"), std::string::npos) << r.output;
}

TEST(Profile, BrokenPerfIsReportedWithTheKernel) {
  // Debian's perf wrapper on a kernel newer than its package: installed, but it cannot count.
  const test::ScratchDir dir;
  {
    std::ofstream fake(dir / "perf");
    fake << "#!/bin/sh\necho \"WARNING: perf not found for kernel 9.9\" >&2\nexit 1\n";
  }
  ::chmod((dir / "perf").c_str(), 0755);
  const auto r = shell("PATH='" + dir.path().string() + "':/usr/bin:/bin \"$DP\" profile matmul-loop-order --tool perf");
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_NE(r.output.find("perf is installed but cannot count here"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not found for kernel 9.9"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("install the perf that matches this kernel"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace dp
