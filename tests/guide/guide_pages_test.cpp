// The guide builder's parts, on small made-up pages: front matter, links, figures, selection,
// the sections table, and staging a tiny guide (no mkdocs needed).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "guide/page.hpp"
#include "guide/sections.hpp"
#include "guide/selection.hpp"
#include "guide/site.hpp"
#include "support.hpp"

namespace dp::guide {
namespace {

namespace fs = std::filesystem;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// ------------------------------------------------------------------ front matter ----------

TEST(GuidePage, ParsesFrontMatterAndTitle) {
  const Page p = parse_page("m1/x.md",
                            "---\nlevel: 2\ntracks: [dl, sp]\nlabs:\n  - access-patterns\n---\n"
                            "Intro line\n# The title\n\ntext\n");
  EXPECT_EQ(p.meta.level, 2);
  EXPECT_EQ(p.meta.tracks, (std::vector<std::string>{"dl", "sp"}));
  EXPECT_EQ(p.meta.labs, (std::vector<std::string>{"access-patterns"}));
  EXPECT_EQ(p.title, "The title");
  EXPECT_EQ(p.body_first_line, 7u);
  EXPECT_EQ(p.body.rfind("Intro line", 0), 0u);
}

TEST(GuidePage, TitleInsideCodeIsNotTheTitle) {
  const Page p = parse_page("a.md", "---\nlevel: 1\ntracks: []\nlabs: []\n---\n```sh\n# comment\n```\n# Real\n");
  EXPECT_EQ(p.title, "Real");
}

TEST(GuidePage, RejectsBadFrontMatterWithFileAndLine) {
  const auto bad = [](const std::string& text) { return error_of([&] { parse_page("m1/p.md", text); }); };
  EXPECT_NE(bad("# no front matter\n").find("guide/docs/m1/p.md: line 1"), std::string::npos);
  EXPECT_NE(bad("---\nlevel: 0\ntracks: []\nlabs: []\n---\n# T\n").find("from 1 to 5"), std::string::npos);
  EXPECT_NE(bad("---\nlevel: 6\ntracks: []\nlabs: []\n---\n# T\n").find("line 2"), std::string::npos);
  EXPECT_NE(bad("---\nlevel: two\ntracks: []\nlabs: []\n---\n# T\n").find("'two'"), std::string::npos);
  EXPECT_NE(bad("---\nlevel: 1\ntracks: [ml]\nlabs: []\n---\n# T\n").find("track 'ml' is not known"), std::string::npos);
  EXPECT_NE(bad("---\nlevel: 1\ntrack: [dl]\nlabs: []\n---\n# T\n").find("key 'track' is not known"), std::string::npos);
  EXPECT_NE(bad("---\nlevel: 1\ntracks: []\n---\n# T\n").find("no 'labs'"), std::string::npos);
  EXPECT_NE(bad("---\nlevel: 1\ntracks: []\nlabs: [Bad_Id]\n---\n# T\n").find("not a lab id"), std::string::npos);
  EXPECT_NE(bad("---\nlevel: 1\ntracks: []\nlabs: []\n# T\n").find("never closed"), std::string::npos);
  EXPECT_NE(bad("---\nlevel: 1\ntracks: []\nlabs: []\n---\nno title\n").find("no '# Title'"), std::string::npos);
}

TEST(GuidePage, FrontMatterYamlCarriesAPlainTitle) {
  const Page p = parse_page("a.md", "---\nlevel: 3\ntracks: [cg]\nlabs: [x-y]\n---\n# A: \"quoted\" title\n");
  const std::string yaml = front_matter_yaml(p);
  EXPECT_NE(yaml.find("title: \"A: \\\"quoted\\\" title\"\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("level: 3\ntracks: [cg]\nlabs: [x-y]\n"), std::string::npos) << yaml;
}

// ------------------------------------------------------------------ leveled sub-sections --

const char* const kMixedPage =
    "---\nlevel: 1\ntracks: []\nlabs: []\n---\n# Title\n\nintro\n\n"
    "## Basics\n\nfor everyone\n\n"
    "## Going further: the TLB { data-level=3 }\n\ndeep text\n\n"
    "```sh\n## not a heading { data-level=2 }\n```\n\n"
    "### Huge pages {: data-level=\"4\" }\n\ndeeper text\n\n"
    "## Try this\n\nfor everyone again\n";

TEST(GuidePage, LeveledSubSectionsRunToTheNextHeadingOfTheirRank) {
  const Page p = parse_page("m1/x.md", kMixedPage);
  ASSERT_EQ(p.sections.size(), 2u);  // the marker inside fenced code is not a heading
  EXPECT_EQ(p.sections[0].title, "Going further: the TLB");
  EXPECT_EQ(p.sections[0].level, 3);
  EXPECT_EQ(p.sections[0].rank, 2);
  EXPECT_EQ(p.body.substr(p.sections[0].begin, 3), "## ");
  EXPECT_EQ(p.body.substr(p.sections[0].end).rfind("## Try this", 0), 0u);
  EXPECT_EQ(p.sections[1].title, "Huge pages");
  EXPECT_EQ(p.sections[1].level, 4);
  EXPECT_EQ(p.sections[1].end, p.sections[0].end);  // a '###' ends where its '##' parent ends
  EXPECT_EQ(p.body_first_line + p.sections[0].body_line, 14u);
}

TEST(GuidePage, AtLevelLeavesOutSubSectionsAboveItAndKeepsLineNumbers) {
  const Page p = parse_page("m1/x.md", kMixedPage);
  const auto lines = [](const std::string& s) { return std::count(s.begin(), s.end(), '\n'); };

  const Page first = at_level(p, 1);
  EXPECT_EQ(first.body.find("TLB"), std::string::npos) << first.body;
  EXPECT_EQ(first.body.find("deep"), std::string::npos) << first.body;
  EXPECT_NE(first.body.find("for everyone again"), std::string::npos);
  EXPECT_TRUE(first.sections.empty());
  EXPECT_EQ(lines(first.body), lines(p.body));

  const Page third = at_level(p, 3);  // the level-3 part stays, its level-4 child goes
  EXPECT_NE(third.body.find("deep text"), std::string::npos);
  EXPECT_EQ(third.body.find("deeper text"), std::string::npos) << third.body;
  ASSERT_EQ(third.sections.size(), 1u);
  EXPECT_EQ(third.sections[0].level, 3);

  EXPECT_EQ(at_level(p, 5).body, p.body);
}

TEST(GuidePage, BadSubSectionLevelsAreNamedWithTheirLine) {
  const auto bad = [](const std::string& heading) {
    return error_of([&] { parse_page("m1/p.md", "---\nlevel: 2\ntracks: []\nlabs: []\n---\n# T\n\n" + heading + "\n"); });
  };
  EXPECT_NE(bad("## Deep { data-level=9 }").find("guide/docs/m1/p.md: line 8"), std::string::npos);
  EXPECT_NE(bad("## Deep { data-level=9 }").find("at most 5"), std::string::npos);
  EXPECT_NE(bad("## Deep { data-level=three }").find("data-level=three"), std::string::npos);
  EXPECT_NE(bad("## Same { data-level=2 }").find("above its page's level 2"), std::string::npos);
  EXPECT_NE(bad("## Outer { data-level=4 }\n\n### Inner { data-level=3 }").find("lies inside 'Outer'"),
            std::string::npos);
  EXPECT_EQ(bad("## Deep { data-level=3 }"), "(no error)");
}

// ------------------------------------------------------------------ links and figures ------

TEST(GuideLinks, FindsLinksOutsideCode) {
  const std::string body =
      "See [a](a.md) and `[not](code.md)`.\n```\n[not](fenced.md)\n```\n"
      "[![img](figures/x.svg)](b.md#part \"title\")\n";
  const auto links = find_links(body);
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[0].target, "a.md");
  EXPECT_FALSE(links[0].image);
  EXPECT_EQ(links[1].target, "b.md#part");
  EXPECT_TRUE(links[2].image);
  EXPECT_EQ(links[2].target, "figures/x.svg");
  EXPECT_EQ(body.substr(links[0].begin, links[0].end - links[0].begin), "[a](a.md)");
}

TEST(GuideLinks, ResolvesRelativeToThePage) {
  EXPECT_EQ(resolve_target("m1/a.md", "../m0/b.md#x"), "m0/b.md");
  EXPECT_EQ(resolve_target("m1/a.md", "c.md"), "m1/c.md");
  EXPECT_EQ(resolve_target("index.md", "./m2/index.md"), "m2/index.md");
  EXPECT_EQ(resolve_target("m1/a.md", "https://example.org/x.md"), "");
  EXPECT_EQ(resolve_target("m1/a.md", "#anchor"), "");
  EXPECT_EQ(resolve_target("index.md", "../outside.md"), "../../outside.md");
}

TEST(GuideFigures, NamesComeFromThePagesLabs) {
  const Page p = parse_page("m1/p.md",
                            "---\nlevel: 1\ntracks: []\nlabs: [gpu, gpu-add]\n---\n# T\n\n"
                            "![Caption](../figures/gpu-add-time.svg)\n\n![other](pic.svg)\n");
  const auto figs = find_figures(p);
  ASSERT_EQ(figs.size(), 1u);
  EXPECT_EQ(figs[0].lab, "gpu-add");  // the longest matching id, not "gpu"
  EXPECT_EQ(figs[0].plot, "time");
  EXPECT_EQ(figs[0].file, "gpu-add-time.svg");
}

TEST(GuideFigures, AFigureOfAnUnlistedLabIsAnError) {
  const Page p = parse_page("m1/p.md", "---\nlevel: 1\ntracks: []\nlabs: [a-lab]\n---\n# T\n\n"
                                       "![c](../figures/other-lab-time.svg)\n");
  const std::string e = error_of([&] { find_figures(p); });
  EXPECT_NE(e.find("guide/docs/m1/p.md: line 8"), std::string::npos) << e;
  EXPECT_NE(e.find("labs: [a-lab]"), std::string::npos) << e;
}

// ------------------------------------------------------------------ selection --------------

TEST(GuideSelection, LevelsAndTracks) {
  const Selection common = parse_selection(2, {});
  EXPECT_TRUE(common.includes(1, {}));
  EXPECT_TRUE(common.includes(2, {}));
  EXPECT_FALSE(common.includes(3, {}));
  EXPECT_FALSE(common.includes(1, {"dl"}));

  const Selection dl = parse_selection(2, {"dl"});
  EXPECT_TRUE(dl.includes(1, {"dl"}));
  EXPECT_TRUE(dl.includes(2, {"cg", "dl"}));
  EXPECT_FALSE(dl.includes(1, {"cg"}));
  EXPECT_FALSE(dl.includes(3, {"dl"}));

  const Selection all = parse_selection(5, {"all"});
  EXPECT_TRUE(all.includes(5, {"sp"}));
  EXPECT_EQ(dl.options_to_include(3, {"cg"}), "--level 3 --track cg");
  EXPECT_EQ(dl.options_to_include(1, {"cg"}), "--track cg");
}

TEST(GuideSelection, BadValuesSayWhatIsValid) {
  EXPECT_NE(error_of([] { parse_selection(0, {}); }).find("from 1"), std::string::npos);
  EXPECT_NE(error_of([] { parse_selection(6, {}); }).find("to 5"), std::string::npos);
  const std::string e = error_of([] { parse_selection(1, {"ml"}); });
  EXPECT_NE(e.find("'ml'"), std::string::npos);
  EXPECT_NE(e.find("dl"), std::string::npos);
  EXPECT_NE(e.find("all"), std::string::npos);
}

TEST(GuideSelection, Badges) {
  EXPECT_EQ(badge_text(2, {"dl"}), "L2 · DL");
  EXPECT_EQ(badge_text(1, {}), "L1");
  EXPECT_EQ(badge_text(4, {"dl", "sp"}), "L4 · DL · SP");
}

// ------------------------------------------------------------------ sections ---------------

SiteIndex tiny_index(const Selection& selection) {
  SiteIndex index;
  index.selection = selection;
  const auto add = [&](const std::string& path, const std::string& text) {
    index.pages.emplace(path, parse_page(path, text));
  };
  add("m1/index.md", "---\nlevel: 1\ntracks: []\nlabs: []\n---\n# M1\n");
  add("m1/ready.md", "---\nlevel: 1\ntracks: []\nlabs: [ready-lab]\n---\n# Ready lab\n");
  add("m1/deep.md", "---\nlevel: 3\ntracks: []\nlabs: [deep-lab]\n---\n# Deep lab\n");
  index.labs = {{"ready-lab", "Ready", 1, 1, {}, "m1/ready.md", "src/labs/m1/ready.cpp"},
                {"deep-lab", "Deep", 1, 3, {}, "m1/deep.md", "src/labs/m1/deep.cpp"},
                {"extra-lab", "An unlisted lab", 1, 2, {}, "m1/extra.md", "src/labs/m1/extra.cpp"}};
  return index;
}

const char* const kTinyCurriculum = R"({"modules": [{"dir": "m1", "title": "Memory", "sections": [
  {"title": "Ready one", "level": 1, "labs": ["ready-lab"]},
  {"title": "Deep one", "level": 3, "labs": ["deep-lab"]},
  {"title": "Not yet", "level": 2, "tracks": ["dl"], "labs": ["future-lab"]},
  {"title": "Half", "level": 2, "labs": ["ready-lab", "future-lab"]}]}]})";

TEST(GuideSections, TableMarksReadyAndComingFromTheRegistry) {
  const Curriculum c = load_curriculum(kTinyCurriculum, "sections.json");
  const std::string table = section_table(c.modules.at(0), tiny_index(parse_selection(1, {})));
  EXPECT_NE(table.find("[Ready one](ready.md) | L1 | `ready-lab`<br><span class=\"dp-status dp-status--ready\">ready</span>"),
            std::string::npos) << table;
  // Written but above this build's level: not linked, and the status says how to include it.
  EXPECT_NE(table.find("| Deep one | L3 |"), std::string::npos) << table;
  EXPECT_NE(table.find("ready — build with `--level 3`"), std::string::npos) << table;
  EXPECT_NE(table.find("| Not yet | L2 · DL | `future-lab`<br><span class=\"dp-status dp-status--coming\">coming</span>"),
            std::string::npos) << table;
  EXPECT_NE(table.find("1 of 2 labs ready"), std::string::npos) << table;
  // A registered lab that sections.json does not list still gets its row.
  EXPECT_NE(table.find("An unlisted lab"), std::string::npos) << table;
  EXPECT_NE(table.find("(page coming)"), std::string::npos) << table;
}

TEST(GuideSections, BadCurriculumIsNamed) {
  EXPECT_NE(error_of([] { load_curriculum("{", "sections.json"); }).find("sections.json: not valid JSON"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              load_curriculum(R"({"modules": [{"dir": "m1", "title": "T", "sections": [{"title": "S", "level": 9}]}]})",
                              "sections.json");
            }).find("section 'S'"),
            std::string::npos);
}

TEST(GuideSections, NavigationOrderFollowsTheCurriculum) {
  const Curriculum c = load_curriculum(kTinyCurriculum, "sections.json");
  const auto order = module_page_order(c.find("m1"), "m1", tiny_index(parse_selection(5, {})));
  EXPECT_EQ(order, (std::vector<std::string>{"m1/index.md", "m1/ready.md", "m1/deep.md"}));
}

// ------------------------------------------------------------------ staging ----------------

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A guide of four pages and a lab result on disk, staged at level 1 without running mkdocs.
TEST(GuideStage, FiltersPagesWritesBadgesLocksLinksAndCaptionsFigures) {
  test::ScratchDir dir;
  const fs::path guide = dir.path() / "guide";
  write(guide / "mkdocs.yml", "site_name: test\n");
  write(guide / "sections.json", R"({"modules": [{"dir": "m1", "title": "Memory", "sections": [
      {"title": "Ready one", "level": 1, "labs": ["ready-lab"]}]}]})");
  write(guide / "docs/index.md", "---\nlevel: 1\ntracks: []\nlabs: []\n---\n# Home\n\n<!-- dontpanic:build -->\n\n"
                                 "Read [ready](m1/ready.md), later [deep](m1/deep.md) and [graphics](m1/cg.md).\n");
  write(guide / "docs/m1/index.md", "---\nlevel: 1\ntracks: []\nlabs: []\n---\n# M1\n\n<!-- dontpanic:sections -->\n");
  write(guide / "docs/m1/ready.md", "---\nlevel: 1\ntracks: []\nlabs: [ready-lab]\n---\n# Ready\n\n"
                                    "![Time per element](../figures/ready-lab-time.svg)\n");
  write(guide / "docs/m1/deep.md", "---\nlevel: 3\ntracks: []\nlabs: []\n---\n# Deep\n");
  write(guide / "docs/m1/cg.md", "---\nlevel: 1\ntracks: [cg]\nlabs: []\n---\n# Graphics\n");
  write(guide / "docs/stylesheets/x.css", "p {}\n");

  // A result as `dontpanic run` writes it, with its SVG beside it.
  Result r;
  r.lab = "ready-lab";
  r.title = "Ready";
  r.started_at = "2025-01-02T03:04:05Z";
  r.machine.cpu = "Test CPU 9000";
  r.quick = true;
  r.add_check("sums agree", true, "ok");
  PlotSpec plot;
  plot.name = "time";
  r.plots.push_back(plot);
  Stats s;
  s.median_ns = s.p10_ns = s.p90_ns = 1;
  s.reps = 1;
  for (double x : {4096, 8192, 16384}) r.add_point("sequential", "bytes", x, s, 1, "GB/s");  // 3: a curve
  write(dir.path() / "results/ready-lab.json", nlohmann::json(r).dump());
  write(dir.path() / "results/ready-lab-time.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");

  GuideOptions options;
  options.guide_dir = guide.string();
  options.out_dir = (dir.path() / "site").string();
  options.staging_dir = (dir.path() / "stage").string();
  options.selection = parse_selection(1, {});
  options.figures.results_dir = (dir.path() / "results").string();
  options.figures.use_history = false;
  options.figures.run_missing = false;
  const std::vector<LabEntry> labs = {{"ready-lab", "Ready", 1, 1, {}, "m1/ready.md", "src/labs/m1/ready.cpp"}};
  std::ostringstream log;
  const StagedSite staged = stage_site(load_site(options.guide_dir, options.selection, labs), options, log);

  EXPECT_EQ(staged.pages, (std::vector<std::string>{"index.md", "m1/index.md", "m1/ready.md"}));
  EXPECT_EQ(staged.figures, (std::vector<std::string>{"figures/ready-lab-time.svg", "figures/ready-lab.json"}));
  EXPECT_TRUE(fs::exists(dir.path() / "stage/docs/figures/ready-lab-time.svg"));
  EXPECT_TRUE(fs::exists(dir.path() / "stage/docs/stylesheets/x.css"));
  EXPECT_FALSE(fs::exists(dir.path() / "stage/docs/m1/deep.md"));

  const std::string home = read(dir.path() / "stage/docs/index.md");
  EXPECT_NE(home.find("[ready](m1/ready.md)"), std::string::npos) << home;
  EXPECT_NE(home.find("deep <span class=\"dp-locked\""), std::string::npos) << home;
  EXPECT_NE(home.find(">L3</span>"), std::string::npos) << home;
  EXPECT_NE(home.find("add --track cg to"), std::string::npos) << home;
  EXPECT_NE(home.find("This copy of the guide holds <strong>level 1"), std::string::npos) << home;
  EXPECT_NE(home.find("Search works in the copy that <code>dontpanic guide serve</code> shows"),
            std::string::npos) << home;
  EXPECT_NE(home.find("<p class=\"dp-badges\"><span class=\"dp-badge dp-badge--level\""), std::string::npos) << home;

  const std::string page = read(dir.path() / "stage/docs/m1/ready.md");
  EXPECT_NE(page.find("<figcaption>Time per element. Measured on Test CPU 9000; quick run, default parameters; "
                      "2025-01-02. <a href=\"../figures/ready-lab.json\">The numbers (ready-lab.json)</a></figcaption>"),
            std::string::npos) << page;
  EXPECT_NE(read(dir.path() / "stage/docs/m1/index.md").find("[Ready one](ready.md)"), std::string::npos);

  const std::string config = read(staged.config_path);
  EXPECT_NE(config.find("INHERIT: "), std::string::npos) << config;
  EXPECT_NE(config.find("\"Ready <span class=\\\"dp-nav-badge\\\" title=\\\"Level 1\\\">L1</span>\": m1/ready.md"),
            std::string::npos) << config;
  EXPECT_EQ(config.find("deep.md"), std::string::npos) << config;
}

// A level-1 page with a level-3 sub-section: a level-1 build leaves the sub-section out, a
// level-3 build keeps it under a level badge.
TEST(GuideStage, SubSectionsFollowTheBuildsLevel) {
  test::ScratchDir dir;
  const fs::path guide = dir.path() / "guide";
  write(guide / "mkdocs.yml", "site_name: test\n");
  write(guide / "sections.json", R"({"modules": []})");
  write(guide / "docs/index.md", kMixedPage);
  const auto staged_home = [&](int level) {
    GuideOptions options;
    options.guide_dir = guide.string();
    options.out_dir = (dir.path() / "site").string();
    options.staging_dir = (dir.path() / "stage").string();
    options.selection = parse_selection(level, {});
    std::ostringstream log;
    stage_site(load_site(options.guide_dir, options.selection, {}), options, log);
    return read(dir.path() / "stage/docs/index.md");
  };
  const std::string badge = "<span class=\"dp-badge dp-badge--level\" title=\"Level 3 of 5";

  const std::string first = staged_home(1);
  EXPECT_EQ(first.find("Going further"), std::string::npos) << first;
  EXPECT_EQ(first.find(badge), std::string::npos) << first;
  EXPECT_NE(first.find("## Try this"), std::string::npos) << first;

  const std::string third = staged_home(3);
  const auto heading = third.find("## Going further: the TLB { data-level=3 }\n");
  ASSERT_NE(heading, std::string::npos) << third;
  EXPECT_NE(third.find("\n<p class=\"dp-badges\">" + badge, heading), std::string::npos) << third;
  EXPECT_EQ(third.find("Huge pages"), std::string::npos) << third;
}

TEST(GuideStage, MissingResultWithoutRunningIsAClearError) {
  test::ScratchDir dir;
  const fs::path guide = dir.path() / "guide";
  write(guide / "mkdocs.yml", "site_name: test\n");
  write(guide / "sections.json", R"({"modules": []})");
  write(guide / "docs/index.md", "---\nlevel: 1\ntracks: []\nlabs: [some-lab]\n---\n# Home\n\n"
                                 "![c](figures/some-lab-time.svg)\n");
  GuideOptions options;
  options.guide_dir = guide.string();
  options.out_dir = (dir.path() / "site").string();
  options.staging_dir = (dir.path() / "stage").string();
  options.figures.results_dir = (dir.path() / "results").string();
  options.figures.use_history = false;
  options.figures.run_missing = false;
  std::ostringstream log;
  const std::string e = error_of([&] { stage_site(load_site(options.guide_dir, options.selection, {}), options, log); });
  EXPECT_NE(e.find("some-lab"), std::string::npos) << e;
  EXPECT_NE(e.find("not registered"), std::string::npos) << e;
}

}  // namespace
}  // namespace dp::guide
