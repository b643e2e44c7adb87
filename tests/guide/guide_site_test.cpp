// The real guide under guide/: every page is well formed and agrees with the lab registry, and
// mkdocs builds it with --strict at level 1, for each track, and in full.
//
// The builds here draw placeholder figures, so that they check pages and links in seconds however
// many labs there are. Whether each figure's lab really draws that plot is checked per lab below
// (GuideLabFigures), with one quick run each; the CLI test builds level 1 with real figures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

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

  // Search: the index that `guide serve` hands the browser holds the pages of this build and
  // none of their deeper parts, and the home page tells the reader to serve the site for it.
  std::ifstream in(dir.path() / "site/search/search_index.json");
  ASSERT_TRUE(in) << "the build wrote no search index";
  const auto index = nlohmann::json::parse(in);
  std::string home_text, all_titles;
  for (const auto& doc : index.at("docs")) {
    const std::string location = doc.value("location", "");
    all_titles += doc.value("title", "") + "\n";
    if (location == "index.html" || location.rfind("index.html#", 0) == 0) home_text += doc.value("text", "");
  }
  EXPECT_NE(home_text.find("dontpanic guide serve"), std::string::npos) << home_text.substr(0, 2000);
  EXPECT_NE(all_titles.find("The latency ladder"), std::string::npos) << all_titles;
  EXPECT_EQ(all_titles.find("Going further: the TLB"), std::string::npos) << all_titles;
}

// Pages that mix levels mark their deeper parts ("## Going further: the TLB { data-level=3 }");
// a level-1 copy of the guide must not show any of them, and a level-5 copy shows them all.
TEST(GuideBuild, LevelOneBuildLeavesOutEveryDeeperSubSection) {
  const Site site = real_site();
  std::size_t deeper = 0;
  for (const auto& [path, page] : site.index.pages) deeper += page.sections.size();
  ASSERT_GT(deeper, 0u) << "no page marks a sub-section's level: cache-latency's TLB part should";

  for (const int level : {1, 5}) {
    SCOPED_TRACE(level);
    test::ScratchDir dir;
    const Selection selection = parse_selection(level, {"all"});
    std::ostringstream log;
    const StagedSite staged = stage_site(real_site(selection), build_options(dir, selection), log);
    for (const auto& path : staged.pages) {
      std::ifstream in(dir.path() / "stage/docs" / path);
      std::stringstream text;
      text << in.rdbuf();
      for (const auto& s : site.index.pages.at(path).sections) {
        const bool shown = text.str().find(std::string(static_cast<std::size_t>(s.rank), '#') + " " + s.title) != std::string::npos;
        EXPECT_EQ(shown, s.level <= level) << path << ": '" << s.title << "' is level " << s.level;
      }
    }
  }
}

// Every item of a "Try this" list has a folded answer (`??? note "Answer"`) under it.
TEST(GuideSite, EveryTryThisItemHasAnAnswer) {
  std::size_t sections = 0;
  for (const auto& [path, page] : real_site().index.pages) {
    std::istringstream in(page.body);
    std::string line;
    int items = 0, answers = 0;
    bool inside = false;
    const auto finish = [&, path = path] {
      if (inside) {
        EXPECT_EQ(answers, items) << path << ": " << items << " Try-this items, " << answers << " answers";
      }
    };
    while (std::getline(in, line)) {
      if (line.rfind("## ", 0) == 0 || line.rfind("### ", 0) == 0 || line.rfind("# ", 0) == 0) {
        finish();
        inside = line.find("Try this") != std::string::npos;
        sections += inside;
        items = answers = 0;
        continue;
      }
      if (!inside) continue;
      const bool numbered = !line.empty() && std::isdigit(static_cast<unsigned char>(line[0])) &&
                            line.find(". ") != std::string::npos && line.find(". ") < 4;
      if (numbered || line.rfind("- ", 0) == 0) ++items;
      if (line.find("??? note \"Answer\"") != std::string::npos) ++answers;
    }
    finish();
  }
  EXPECT_GT(sections, 10u);
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

// `guide build --track T` is the build without a track plus exactly the pages tagged T: nothing
// of the common guide goes missing, and no other track's page comes along.
TEST(GuideBuild, ATrackAddsExactlyItsOwnPagesToTheCommonBuild) {
  const Selection common = parse_selection(5, {});
  test::ScratchDir base_dir;
  std::ostringstream log;
  const StagedSite base = stage_site(real_site(common), build_options(base_dir, common), log);
  const std::set<std::string> base_pages(base.pages.begin(), base.pages.end());
  for (const auto& track : kTracks) {
    SCOPED_TRACE(track);
    test::ScratchDir dir;
    const Selection selection = parse_selection(5, {track});
    const StagedSite staged = stage_site(real_site(selection), build_options(dir, selection), log);
    std::set<std::string> added;
    for (const auto& p : staged.pages)
      if (!base_pages.count(p)) added.insert(p);
    for (const auto& p : base_pages) {
      EXPECT_TRUE(std::find(staged.pages.begin(), staged.pages.end(), p) != staged.pages.end()) << p << " missing";
    }
    std::set<std::string> tagged;
    for (const auto& [path, page] : real_site().index.pages)
      if (std::find(page.meta.tracks.begin(), page.meta.tracks.end(), track) != page.meta.tracks.end())
        tagged.insert(path);
    EXPECT_EQ(added, tagged);
  }
}

// Each lab's plots that pages show are checked by the lab's one quick run per build:
// tests/labs/labs_quick_test.cpp (LabQuickRun) draws its SVGs and checks them against the pages.

}  // namespace
}  // namespace dp::guide
