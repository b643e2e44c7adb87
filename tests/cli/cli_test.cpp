// End-to-end tests of the `dontpanic` binary: good input works, bad input gets a clear error,
// a non-zero exit, no crash (exit >= 128), no hang and no partial file.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/process.hpp"
#include "core/result.hpp"
#include "cli/cli_support.hpp"

namespace dp {
namespace {

using test::cli;
using test::expect_error;
using test::last_json;

TEST(Cli, VersionAndHelp) {
  auto r = cli({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("dontpanic 0."), std::string::npos);
  for (const char* command : {"doctor", "list", "run", "tour", "history"}) {
    r = cli({command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
  }
}

TEST(Cli, UnknownCommandListsTheCommands) {
  expect_error({"frobnicate"}, "unknown command 'frobnicate'; the commands are: doctor, list, run");
  expect_error({}, "A subcommand is required");
}

TEST(Cli, DoctorReportsTheMachine) {
  const auto r = cli({"doctor", "--json"});
  const auto j = last_json(r.output);
  EXPECT_EQ(r.exit_code, j["ready"].get<bool>() ? 0 : 3);
  EXPECT_FALSE(j["machine"]["cpu"].get<std::string>().empty());
  EXPECT_GT(j["machine"]["caches"].size(), 0u);
  bool has_gnuplot_item = false, has_perf_item = false, has_cachegrind_item = false;
  std::string parallel;
  for (const auto& item : j["items"]) {
    has_gnuplot_item |= item["name"] == "gnuplot";
    if (item["name"] == "parallel") parallel = item["detail"];
    // `dontpanic profile`'s tools: where perf runs, whether it sees hardware counters; where not, why.
    has_perf_item |= item["name"] == "perf";
    has_cachegrind_item |= item["name"] == "cachegrind";
    if (item["name"] == "perf" && item["status"] == "ok") {
      EXPECT_NE(item["detail"].get<std::string>().find("hardware counters: yes"), std::string::npos) << item.dump();
    }
  }
  EXPECT_TRUE(has_gnuplot_item);
  EXPECT_TRUE(has_perf_item);
  EXPECT_TRUE(has_cachegrind_item);
  // What module 2 needs: cores, threads per core, and whether TBB and OpenMP are in this build.
  EXPECT_NE(parallel.find(" cores x "), std::string::npos) << parallel;
  EXPECT_NE(parallel.find("TBB"), std::string::npos) << parallel;
  EXPECT_NE(parallel.find("OpenMP"), std::string::npos) << parallel;
  const auto table = cli({"doctor"});
  EXPECT_NE(table.output.find("caches"), std::string::npos);
}

TEST(Cli, ListJsonHasEveryFieldAndFiltersCombine) {
  auto r = cli({"list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto all = nlohmann::json::parse(r.output);
  bool found = false;
  for (const auto& lab : all) {
    for (const char* key : {"id", "title", "module", "level", "tracks", "question", "guide_page"})
      EXPECT_TRUE(lab.contains(key)) << key;
    if (lab["id"] == "access-patterns") {
      found = true;
      EXPECT_EQ(lab["module"], 1);
      EXPECT_EQ(lab["level"], 1);
    }
  }
  EXPECT_TRUE(found);
  const auto level1 = nlohmann::json::parse(cli({"list", "--json", "--level", "1"}).output);
  for (const auto& lab : level1) EXPECT_LE(lab["level"].get<int>(), 1);
  const auto m1 = nlohmann::json::parse(cli({"list", "--json", "--module", "1", "--level", "2"}).output);
  for (const auto& lab : m1) {
    EXPECT_EQ(lab["module"], 1);
    EXPECT_LE(lab["level"].get<int>(), 2);
  }
  const auto m5 = nlohmann::json::parse(cli({"list", "--json", "--module", "5"}).output);
  for (const auto& lab : m5) EXPECT_EQ(lab["module"], 5);
  const auto dl = nlohmann::json::parse(cli({"list", "--json", "--track", "dl"}).output);
  for (const auto& lab : dl) {
    const auto tracks = lab["tracks"].get<std::vector<std::string>>();
    EXPECT_TRUE(tracks.empty() || std::find(tracks.begin(), tracks.end(), "dl") != tracks.end());
  }
  EXPECT_NE(cli({"list"}).output.find("access-patterns"), std::string::npos);
}

TEST(Cli, ListRejectsBadFilters) {
  expect_error({"list", "--level", "9"}, "--level 9 is out of range; levels go from 1");
  expect_error({"list", "--level", "0"}, "levels go from 1 (first read) to 5");
  expect_error({"list", "--level", "abc"}, "level");
  expect_error({"list", "--module", "7"}, "modules go from 0 to 5");
  expect_error({"list", "--track", "xx"}, "unknown track 'xx'; the tracks are dl, cg, cv, sp");
}

TEST(Cli, RunRejectsBadInputBeforeMeasuring) {
  expect_error({"run", "nosuchlab"}, "unknown lab 'nosuchlab'");
  expect_error({"run", "acess-paterns"}, "did you mean 'access-patterns'?");
  expect_error({"run", "access-patterns", "--param", "size=3"}, "unknown parameter 'size'; this lab takes: max-kib");
  expect_error({"run", "access-patterns", "--param", "max-kib=-5"}, "out of range; it must be an integer from 0 to");
  expect_error({"run", "access-patterns", "--param", "max-kib=lots"}, "is not an integer");
  expect_error({"run", "access-patterns", "--param", "max-kib"}, "not of the form name=value");
  expect_error({"run", "access-patterns", "--repetitions", "0"}, "--repetitions '0' is not valid; use a whole number from 1 to 1000");
  expect_error({"run", "access-patterns", "--repetitions", "many"}, "repetitions");
  expect_error({"run", "access-patterns", "--plot", "pdf"}, "--plot 'pdf' is not known; use svg, term or none");
  expect_error({"run"}, "lab is required");
  expect_error({"run", "access-patterns", "--show-kernels"}, "lab 'access-patterns' generates no kernels to show");
}

TEST(Cli, ShowKernelsPrintsTheGeneratedGlsl) {
  test::ScratchDir dir;
  const auto r = cli({"run", "graph-compiler", "--quick", "--show-kernels", "--plot", "none", "--out", dir.path().string()});
  if (r.output.find("none in this build") != std::string::npos) GTEST_SKIP() << "this build has no GPU labs";
  if (r.exit_code == 3) GTEST_SKIP() << "no Vulkan device here:\n" << r.output;
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("void main()"), std::string::npos) << "no GLSL in:\n" << r.output;
  EXPECT_EQ(r.output.find("--show-kernels prints the generated GLSL"), std::string::npos) << r.output;
}

TEST(Cli, UnwritableJsonPathFailsFastAndLeavesNoFile) {
  test::ScratchDir dir;
  const auto start = std::chrono::steady_clock::now();
  expect_error({"run", "access-patterns", "--quick", "--json", dir / "no/such/folder/x.json",
                "--plot", "none"},
               "cannot write the result JSON");
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  if (::geteuid() != 0)  // root may write anywhere, so the permission case only means something for others
    expect_error({"run", "access-patterns", "--quick", "--json", dir / "x.json", "--plot", "none"}, "cannot write");
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_FALSE(std::filesystem::exists(dir / "x.json"));
}

TEST(Cli, RunWritesValidJsonPlotsAndHistory) {
  test::ScratchDir dir;
  const auto r = cli({"run", "access-patterns", "--quick", "--param", "max-kib=256", "--out", dir.path().string()});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("median ns per element"), std::string::npos);
  EXPECT_NE(r.output.find("[pass] sum agrees: random"), std::string::npos);
  std::ifstream in(dir / "access-patterns.json");
  const auto j = nlohmann::json::parse(in);
  EXPECT_TRUE(validate_result_json(j).empty());
  EXPECT_EQ(j["params"]["max-kib"], 256);
  if (find_program("gnuplot")) {
    EXPECT_TRUE(std::filesystem::exists(dir / "access-patterns-time.svg"));
    EXPECT_TRUE(std::filesystem::exists(dir / "access-patterns-bandwidth.svg"));
  }
  const auto h = cli({"history", "access-patterns", "--json"});
  ASSERT_EQ(h.exit_code, 0) << h.output;
  const auto rows = last_json(h.output);
  ASSERT_GE(rows.size(), 1u);
  EXPECT_EQ(rows[0]["lab"], "access-patterns");
  EXPECT_TRUE(rows[0]["passed"].get<bool>());
}

TEST(Cli, HistoryOfUnknownLabSuggests) {
  expect_error({"history", "acces-patterns"}, "did you mean 'access-patterns'?");
  expect_error({"history", "access-patterns", "--limit", "0"}, "--limit 0 is out of range");
}

TEST(Cli, RunSeveralLabsNeedsOutNotJson) {
  expect_error({"run", "access-patterns", "access-patterns", "--json", "x.json"}, "--json FILE takes a single lab");
}

}  // namespace
}  // namespace dp
