#include <gtest/gtest.h>

#include <fstream>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/result.hpp"
#include "core/runner.hpp"
#include "support.hpp"

namespace dp {
namespace {

Result sample_result() {
  Result r;
  r.lab = "access-patterns";
  r.title = "Access patterns";
  r.started_at = now_iso8601();
  r.machine = MachineInfo::detect();
  r.params = {{"max-kib", 64}};
  Stats s{12.5, 11.0, 14.0, 10.0, 7};
  r.add_point("sequential", "bytes", 4096, s, 3.2, "GB/s", "element");
  r.add_point("sequential", "bytes", 8192, s, 3.1, "GB/s", "element");
  r.add_point("random", "bytes", 4096, s, 1.2, "GB/s", "element");
  r.add_check("sums agree", true, "all equal");
  r.headlines.push_back({"L1", "3.2 GB/s"});
  r.notes.push_back("a note");
  r.plots.push_back(PlotSpec{.name = "time", .title = "t", .xlabel = "x", .ylabel = "y", .y = PlotSpec::Y::time,
                             .logx = true, .logy = false, .markers = {{32768, "L1"}}});
  return r;
}

TEST(ResultJson, RoundTripKeepsEverything) {
  const Result r = sample_result();
  const nlohmann::json j = r;
  EXPECT_TRUE(validate_result_json(j).empty());
  const Result back = nlohmann::json::parse(j.dump()).get<Result>();
  EXPECT_EQ(nlohmann::json(back), j);
  ASSERT_EQ(back.series.size(), 2u);
  EXPECT_EQ(back.series[0].points.size(), 2u);
  EXPECT_EQ(back.series[0].time_per, "element");
  EXPECT_EQ(back.machine.cpu, r.machine.cpu);
  EXPECT_EQ(back.plots.at(0).markers.at(0).label, "L1");
}

TEST(ResultJson, ValidatorCatchesSchemaViolations) {
  nlohmann::json j = sample_result();
  j["schema"] = 2;
  j["series"][0]["points"][0].erase("median_ns");
  j["checks"][0]["passed"] = "yes";
  j["machine"].erase("cpu");
  const auto problems = validate_result_json(j);
  ASSERT_EQ(problems.size(), 4u) << nlohmann::json(problems).dump();
  EXPECT_TRUE(validate_result_json(nlohmann::json::array()).size() == 1);
}

TEST(ResultJson, WriteIsAtomicAndFailsClearly) {
  test::ScratchDir dir;
  const std::string path = dir / "r.json";
  write_file_atomically(path, "{}\n");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "{}\n");
  EXPECT_THROW(write_file_atomically(dir / "missing/folder/r.json", "{}"), Error);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1);  // no temp file left
}

TEST(Compare, ReportsMismatchesWithIndices) {
  const std::vector<float> want{1, 2, 3, 4};
  const std::vector<float> got{1, 2.5f, 3, 4.0001f};
  auto r = compare<float, float>(got, want, {1e-3, 0});
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.mismatches, 1u);
  EXPECT_NE(r.detail.find("[1] got 2.5 want 2"), std::string::npos);
  EXPECT_TRUE((compare<float, float>(want, want).passed));
  EXPECT_FALSE((compare<float, float>(std::vector<float>{1}, want).passed));
  EXPECT_FALSE(close_enough(std::nan(""), 1.0, {1, 1}));
}

}  // namespace
}  // namespace dp
