// Every registered lab, run once in quick mode (one repetition: the checks are what matter here):
// all its checks against the reference must pass, and it must draw every plot the guide shows.
// This is the build's only quick run of each lab; other tests use small parameters or fakes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/plot.hpp"
#include "core/runner.hpp"
#include "core/source_tree.hpp"
#include "guide/site.hpp"
#include "support.hpp"

namespace dp {
namespace {

// The plots of `lab` that the guide's pages show (figure files named <lab>-<plot>.svg).
std::set<std::string> plots_the_guide_shows(const std::string& lab) {
  static const auto shown = [] {
    std::map<std::string, std::set<std::string>> plots;
    const auto site = guide::load_site(guide::default_guide_dir(), guide::parse_selection(5, {"all"}),
                                       guide::registered_labs());
    for (const auto& [path, page] : site.index.pages)
      for (const auto& f : guide::find_figures(page)) plots[f.lab].insert(f.plot);
    return plots;
  }();
  const auto it = shown.find(lab);
  return it == shown.end() ? std::set<std::string>{} : it->second;
}

std::vector<std::string> lab_ids() {
  std::vector<std::string> ids;
  for (const auto& lab : registry()) ids.push_back(lab.info.id);
  return ids;
}

class LabQuickRun : public ::testing::TestWithParam<std::string> {};

TEST_P(LabQuickRun, AllChecksPass) {
  const LabDef* lab = find_lab(GetParam());
  ASSERT_NE(lab, nullptr);
  test::ScratchDir dir;
  RunOptions options;
  options.quick = true;
  options.repetitions = 1;
  options.out_dir = dir.path().string();
  options.plot = PlotMode::svg;
  options.record_history = false;
  std::ostringstream out;
  try {
    const auto outcome = run_lab(*lab, options, out);
    EXPECT_TRUE(outcome.checks_passed) << out.str();
    EXPECT_FALSE(outcome.result.checks.empty());
    EXPECT_FALSE(outcome.result.series.empty()) << "a lab must measure something";
    EXPECT_TRUE(validate_result_json(nlohmann::json(outcome.result)).empty());
    EXPECT_EQ(outcome.result.code_version, lab->info.code_version);
    EXPECT_EQ(lab->info.code_version.size(), 12u) << "the build gives every lab its source's hash";
    for (const auto& plot : plots_the_guide_shows(GetParam())) {
      const bool drawn = std::any_of(outcome.result.plots.begin(), outcome.result.plots.end(),
                                     [&](const PlotSpec& p) { return p.name == plot; });
      EXPECT_TRUE(drawn) << "a page shows " << GetParam() << "-" << plot << ".svg, but the lab draws no plot '" << plot << "'";
      EXPECT_TRUE(std::filesystem::exists(dir.path() / (GetParam() + "-" + plot + ".svg"))) << plot;
    }
    // A file a lab writes (path-tracer's image) goes to the run's output folder, not the current
    // directory: a headline that names an existing file must name one under --out.
    for (const auto& h : outcome.result.headlines) {
      const std::filesystem::path named(h.value);
      if (named.is_absolute() && std::filesystem::exists(named)) {
        EXPECT_EQ(named.parent_path(), std::filesystem::absolute(dir.path()).lexically_normal()) << h.name << ": " << h.value;
      }
    }
    // Every plot's axes say their units (issue 12: graph-modes' "time per pass" had none).
    for (const auto& plot : outcome.result.plots)
      for (const auto& problem : plot_problems(outcome.result, plot)) ADD_FAILURE() << problem;
  } catch (const Unavailable& e) {
    GTEST_SKIP() << "unavailable here: " << e.what();
  }
}

TEST(Registry, MetadataIsComplete) {
  ASSERT_FALSE(registry().empty());
  for (const auto& lab : registry()) {
    const auto& i = lab.info;
    SCOPED_TRACE(i.id);
    EXPECT_FALSE(i.title.empty());
    EXPECT_FALSE(i.question.empty());
    EXPECT_GE(i.module, 0);
    EXPECT_LE(i.module, 5);
    EXPECT_GE(i.level, 1);
    EXPECT_LE(i.level, 5);
    for (const auto& t : i.tracks) EXPECT_NE(std::find(kTracks.begin(), kTracks.end(), t), kTracks.end()) << t;
    EXPECT_TRUE(std::filesystem::exists(dp::source_dir() / i.source)) << i.source;
    EXPECT_EQ(i.id.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos);
    // Parameter names are kebab-case, like the CLI's own flags (typing max_n still finds max-n).
    for (const auto& p : lab.params)
      EXPECT_EQ(p.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos) << p.name;
    EXPECT_NE(lab.run, nullptr);
    EXPECT_EQ(find_lab(i.id), &lab);
  }
}

TEST(Registry, NearestIdHelpsWithTypos) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(nearest_lab_id("acces-patern"), "access-patterns");
  EXPECT_EQ(nearest_lab_id("patterns"), "access-patterns");
  EXPECT_EQ(find_lab("no-such-lab"), nullptr);
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Labs, LabQuickRun, ::testing::ValuesIn(lab_ids()), test_name);

}  // namespace
}  // namespace dp
