// Plots: the labels carry their units, markers stay inside the data, bytes read KiB/MiB, and a
// drawn SVG says what the script says.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/plot.hpp"
#include "core/process.hpp"
#include "support.hpp"

namespace dp {
namespace {

// Three working sets, 4 KiB to 1 MiB, of one series timed in ns per element.
Result bytes_result() {
  Result r;
  r.lab = "access-patterns";
  for (double x : {4096.0, 65536.0, 1048576.0})
    r.add_point("sequential", "bytes", x, Stats{.median_ns = 2, .p10_ns = 1.5, .p90_ns = 3, .min_ns = 1, .reps = 5},
                x / 2, "GB/s");
  return r;
}

PlotSpec time_plot() {
  return PlotSpec{.name = "time", .title = "Summing", .xlabel = "working set", .ylabel = "ns per element",
                  .y = PlotSpec::Y::time, .logx = true, .logy = true};
}

bool mentions(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems)
    if (p.find(text) != std::string::npos) return true;
  return false;
}

TEST(PlotProblems, AnAxisWithItsUnitPasses) {
  const Result r = bytes_result();
  EXPECT_TRUE(plot_problems(r, time_plot()).empty());
  PlotSpec gbs = time_plot();
  gbs.y = PlotSpec::Y::throughput;
  gbs.ylabel = "GB/s (array bytes / time)";
  EXPECT_TRUE(plot_problems(r, gbs).empty());
}

TEST(PlotProblems, AnAxisWithoutItsUnitIsNamed) {
  const Result r = bytes_result();
  PlotSpec p = time_plot();
  p.ylabel = "time per pass";  // graph-modes' label before issue 12: which unit?
  EXPECT_TRUE(mentions(plot_problems(r, p), "\"time per pass\" does not say its unit"));
  p.ylabel = "transfers";  // "ns" inside a word is not the unit
  EXPECT_FALSE(plot_problems(r, p).empty());

  PlotSpec gbs = time_plot();
  gbs.y = PlotSpec::Y::throughput;
  gbs.ylabel = "bandwidth";
  EXPECT_TRUE(mentions(plot_problems(r, gbs), "GB/s"));

  PlotSpec no_x = time_plot();
  no_x.xlabel.clear();
  EXPECT_TRUE(mentions(plot_problems(r, no_x), "x axis has no label"));
}

TEST(PlotProblems, BinaryUnitsAreSpelledKiB) {
  PlotSpec p = time_plot();
  p.markers = {{32768, "L1 32 kiB"}};
  EXPECT_TRUE(mentions(plot_problems(bytes_result(), p), "KiB, MiB, GiB"));
  p.markers = {{32768, "L1 32 KiB"}};
  EXPECT_TRUE(plot_problems(bytes_result(), p).empty());
}

TEST(PlotScript, MarkersOutsideTheDataAreNotDrawn) {
  PlotSpec p = time_plot();
  p.markers = {{32768, "L1 32 KiB"}, {33554432, "L3 32 MiB"}, {1024, "too small"}};
  const std::string s = gnuplot_script(bytes_result(), p, "dumb", "");
  EXPECT_NE(s.find("L1 32 KiB"), std::string::npos) << s;
  EXPECT_EQ(s.find("L3 32 MiB"), std::string::npos) << s;  // beyond the largest working set
  EXPECT_EQ(s.find("too small"), std::string::npos) << s;
  EXPECT_EQ(s.find("first 3.35544e+07"), std::string::npos) << s;
}

TEST(PlotScript, LegendBelowAndBytesInKiB) {
  const std::string s = gnuplot_script(bytes_result(), time_plot(), "dumb", "");
  EXPECT_NE(s.find("set key below"), std::string::npos) << s;
  EXPECT_NE(s.find("\"4 KiB\" 4096"), std::string::npos) << s;
  EXPECT_NE(s.find("\"1 MiB\" 1048576"), std::string::npos) << s;
  EXPECT_EQ(s.find("%B"), std::string::npos) << "gnuplot's binary prefix writes kiB: " << s;
  // The x range is the data's, with a little room: from below 4 KiB to above 1 MiB, not to 32 MiB.
  const auto at = s.find("set xrange [");
  ASSERT_NE(at, std::string::npos);
  double lo = 0, hi = 0;
  ASSERT_EQ(std::sscanf(s.c_str() + at, "set xrange [%lf:%lf]", &lo, &hi), 2) << s;
  EXPECT_LT(lo, 4096);
  EXPECT_GT(lo, 2048);
  EXPECT_GT(hi, 1048576);
  EXPECT_LT(hi, 2 * 1048576);
}

TEST(PlotScript, NothingToDrawGivesNoScript) {
  PlotSpec p = time_plot();
  p.variants = {"no such series"};
  EXPECT_TRUE(gnuplot_script(bytes_result(), p, "dumb", "").empty());
  EXPECT_EQ(distinct_x_count(bytes_result(), p), 0u);
}

TEST(PlotScript, DistinctXCountsAcrossSeries) {
  Result r = bytes_result();
  r.add_point("random", "bytes", 4096, Stats{.median_ns = 9, .p10_ns = 8, .p90_ns = 10, .min_ns = 8, .reps = 5}, 1, "GB/s");
  r.add_point("random", "bytes", 8192, Stats{.median_ns = 9, .p10_ns = 8, .p90_ns = 10, .min_ns = 8, .reps = 5}, 1, "GB/s");
  EXPECT_EQ(distinct_x_count(r, time_plot()), 4u);  // 4 KiB, 8 KiB, 64 KiB, 1 MiB
  PlotSpec only_random = time_plot();
  only_random.variants = {"random"};
  EXPECT_EQ(distinct_x_count(r, only_random), 2u);
}

TEST(PlotSvg, DrawsWhatTheScriptSays) {
  ASSERT_TRUE(find_program("gnuplot")) << "gnuplot is missing: run tools/setup (Debian package gnuplot-nox)";
  test::ScratchDir dir;
  PlotSpec p = time_plot();
  p.markers = {{32768, "L1 32 KiB"}, {33554432, "L3 32 MiB"}};
  const std::string path = dir / "t.svg";
  const PlotOutcome out = render_svg_plot(bytes_result(), p, path);
  ASSERT_EQ(out.files, std::vector<std::string>{path}) << (out.warnings.empty() ? "" : out.warnings.front());
  std::ifstream in(path);
  std::stringstream svg;
  svg << in.rdbuf();
  const std::string text = svg.str();
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_NE(text.find("ns per element"), std::string::npos);
  EXPECT_NE(text.find("64 KiB"), std::string::npos);
  EXPECT_NE(text.find("L1 32 KiB"), std::string::npos);
  EXPECT_EQ(text.find("L3 32 MiB"), std::string::npos);
  EXPECT_EQ(text.find("kiB"), std::string::npos);
}

TEST(PlotSvg, RenderWarnsAboutAnAxisWithoutUnit) {
  ASSERT_TRUE(find_program("gnuplot")) << "gnuplot is missing: run tools/setup";
  test::ScratchDir dir;
  Result r = bytes_result();
  PlotSpec p = time_plot();
  p.ylabel = "time per pass";
  r.plots.push_back(p);
  const PlotOutcome out = render_svg(r, dir.path().string());
  EXPECT_EQ(out.files.size(), 1u);  // drawn all the same
  EXPECT_TRUE(mentions(out.warnings, "does not say its unit"));
}

}  // namespace
}  // namespace dp
