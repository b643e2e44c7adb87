// The real guide under guide/: every page is well formed and agrees with the lab registry, and
// mkdocs builds it with --strict at level 1, for each track, and in full.
//
// The builds here draw placeholder figures, so that they check pages and links in seconds however
// many labs there are. Whether each figure's lab really draws that plot is checked per lab below
// (GuideLabFigures), with one quick run each; the CLI test builds level 1 with real figures.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/plot.hpp"
#include "core/process.hpp"
#include "core/runner.hpp"
#include "guide/site.hpp"
#include "support.hpp"

namespace dp::guide {
namespace {

namespace fs = std::filesystem;

Site real_site(const Selection& selection = parse_selection(5, {"all"})) {
  return load_site(default_guide_dir(), selection, registered_labs());
}

GuideOptions build_options(const test::ScratchDir& dir, const Selection& selection) {
  GuideOptions options;
  options.out_dir = dir / "site";
  options.staging_dir = dir / "stage";
  options.selection = selection;
  options.figures.results_dir = dir / "results";
  options.figures.use_history = false;
  options.figures.placeholders = true;
  return options;
}

// The pages a build must contain: everything whose level and tracks the selection includes.
std::set<std::string> expected_pages(const Selection& selection) {
  std::set<std::string> pages;
  for (const auto& [path, page] : real_site().index.pages)
    if (selection.includes(page.meta)) pages.insert(path);
  return pages;
}

std::string html_of(const std::string& page) {  // use_directory_urls is off: a.md -> a.html
  return page.substr(0, page.size() - 3) + ".html";
}

TEST(GuideSite, EveryPageParsesAndAgreesWithTheRegistry) {
  const Site site = real_site();
  EXPECT_TRUE(site.index.exists("index.md"));
  for (int m = 0; m <= 5; ++m) EXPECT_TRUE(site.index.exists("m" + std::to_string(m) + "/index.md")) << m;
  // Every registered lab has its page (at its level and tracks, naming its source file), and
  // every labs: id on a page is a registered lab.
  const auto problems = consistency_problems(site);
  std::string all;
  for (const auto& p : problems) all += "\n  " + p;
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems:" << all;
}

TEST(GuideSite, EveryFigureNamesARegisteredLabOfItsPage) {
  for (const auto& [path, page] : real_site().index.pages) {
    SCOPED_TRACE(path);
    std::vector<FigureRef> figures;
    EXPECT_NO_THROW(figures = find_figures(page));
    for (const auto& f : figures) EXPECT_NE(find_lab(f.lab), nullptr) << f.file;
  }
}

TEST(GuideSite, EveryModuleListsItsSections) {
  const Site site = real_site();
  for (const auto& module : site.curriculum.modules) {
    SCOPED_TRACE(module.dir);
    EXPECT_FALSE(module.sections.empty());
    const Page& landing = site.index.pages.at(module.dir + "/index.md");
    EXPECT_NE(landing.body.find("<!-- dontpanic:sections -->"), std::string::npos);
    for (const auto& s : module.sections)
      for (const auto& p : s.pages) EXPECT_TRUE(site.index.exists(p)) << s.title << ": " << p;
  }
}

void expect_built(const test::ScratchDir& dir, const StagedSite& staged, const Selection& selection) {
  const auto want = expected_pages(selection);
  EXPECT_EQ(std::set<std::string>(staged.pages.begin(), staged.pages.end()), want);
  for (const auto& [path, page] : real_site().index.pages) {
    const bool built = fs::exists(fs::path(dir / "site") / html_of(path));
    EXPECT_EQ(built, want.count(path) > 0) << path << " (level " << page.meta.level << ")";
  }
  for (const auto& figure : staged.figures) EXPECT_TRUE(fs::exists(fs::path(dir / "site") / figure)) << figure;
}

TEST(GuideBuild, FullSiteBuildsStrictWithEveryFigure) {
  ASSERT_TRUE(find_program("mkdocs")) << "mkdocs is missing: run tools/setup (Debian packages "
                                         "mkdocs, mkdocs-material, python3-pymdownx)";
  test::ScratchDir dir;
  const Selection all = parse_selection(5, {"all"});
  std::ostringstream log;
  const StagedSite staged = build_site(build_options(dir, all), log);  // throws on any mkdocs warning
  expect_built(dir, staged, all);
  EXPECT_TRUE(fs::exists(fs::path(dir / "site") / "stylesheets/dontpanic.css"));
}

TEST(GuideBuild, LevelOneBuildHasEveryLevelOnePageAndNothingAbove) {
  ASSERT_TRUE(find_program("mkdocs")) << "mkdocs is missing: run tools/setup";
  test::ScratchDir dir;
  const Selection first = parse_selection(1, {});
  std::ostringstream log;
  const StagedSite staged = build_site(build_options(dir, first), log);
  expect_built(dir, staged, first);
  const Site site = real_site();  // a local: a reference into real_site().index.pages.at(p) would dangle
  for (const auto& p : staged.pages) {
    const Page& page = site.index.pages.at(p);
    EXPECT_EQ(page.meta.level, 1) << p;
    EXPECT_TRUE(page.meta.tracks.empty()) << p;
  }
}

// Staging is what decides the pages; one mkdocs build per track would only repeat the full one.
TEST(GuideBuild, EachTrackBuildHasItsTracksPages) {
  for (const auto& track : kTracks) {
    SCOPED_TRACE(track);
    test::ScratchDir dir;
    const Selection selection = parse_selection(5, {track});
    std::ostringstream log;
    const StagedSite staged = stage_site(real_site(selection), build_options(dir, selection), log);
    EXPECT_EQ(std::set<std::string>(staged.pages.begin(), staged.pages.end()), expected_pages(selection));
    for (const auto& [path, page] : real_site().index.pages) {
      const bool has_track = std::find(page.meta.tracks.begin(), page.meta.tracks.end(), track) != page.meta.tracks.end();
      const bool only_others = !page.meta.tracks.empty() && !has_track;
      if (has_track || page.meta.tracks.empty()) {
        EXPECT_TRUE(fs::exists(dir.path() / "stage/docs" / path)) << path;
      }
      if (only_others) {
        EXPECT_FALSE(fs::exists(dir.path() / "stage/docs" / path)) << path;
      }
    }
  }
}

// ------------------------------------------------------------------ figures, per lab -------

// Each lab that a page shows a figure of, with the plot names the pages ask for.
std::map<std::string, std::set<std::string>> figure_plots() {
  std::map<std::string, std::set<std::string>> plots;
  try {
    for (const auto& [path, page] : real_site().index.pages)
      for (const auto& f : find_figures(page)) plots[f.lab].insert(f.plot);
  } catch (const std::exception&) {
    // A malformed page: GuideSite.EveryPageParsesAndAgreesWithTheRegistry names it.
  }
  return plots;
}

std::vector<std::string> labs_with_figures() {
  std::vector<std::string> labs;
  for (const auto& [lab, plots] : figure_plots()) labs.push_back(lab);
  return labs;
}

class GuideLabFigures : public ::testing::TestWithParam<std::string> {};

// A quick run of the lab (one repetition) draws every plot that the guide's pages show of it.
TEST_P(GuideLabFigures, LabDrawsThePlotsItsPagesShow) {
  const LabDef* lab = find_lab(GetParam());
  ASSERT_NE(lab, nullptr) << GetParam() << " is shown on a page but not registered";
  test::ScratchDir dir;
  RunOptions options;
  options.quick = true;
  options.repetitions = 1;
  options.out_dir = dir.path().string();
  options.record_history = false;
  std::ostringstream out;
  try {
    const RunOutcome outcome = run_lab(*lab, options, out);
    ASSERT_TRUE(outcome.checks_passed) << out.str();
    const auto shown = figure_plots();  // a local: iterating figure_plots().at(...) would dangle
    for (const auto& plot : shown.at(GetParam())) {
      const bool drawn = std::any_of(outcome.result.plots.begin(), outcome.result.plots.end(),
                                     [&](const PlotSpec& p) { return p.name == plot; });
      EXPECT_TRUE(drawn) << "a page shows " << GetParam() << "-" << plot << ".svg, but the lab draws no plot '" << plot << "'";
      EXPECT_TRUE(fs::exists(dir.path() / (GetParam() + "-" + plot + ".svg"))) << plot;
    }
    // Every plot's axes say their units (issue 12: graph-modes' "time per pass" had none).
    for (const auto& plot : outcome.result.plots)
      for (const auto& problem : plot_problems(outcome.result, plot)) ADD_FAILURE() << problem;
  } catch (const Unavailable& e) {
    GTEST_SKIP() << "unavailable here: " << e.what();
  }
}

std::string lab_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Guide, GuideLabFigures, ::testing::ValuesIn(labs_with_figures()), lab_test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GuideLabFigures);

}  // namespace
}  // namespace dp::guide
