// Figures in the guide: captions say where a figure came from (machine, GPU, mode, parameters,
// date, the JSON), and a plot with fewer than three x values is never published: a committed
// full run stands in for it, or the page says to run the lab at full size.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/process.hpp"
#include "guide/caption.hpp"
#include "guide/figures.hpp"
#include "guide/site.hpp"
#include "support.hpp"

namespace dp::guide {
namespace {

namespace fs = std::filesystem;

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

MachineInfo test_machine() {
  MachineInfo m;
  m.cpu = "Test CPU 9000";
  m.cores = 2;
  m.threads = 4;
  m.caches = {{1, "data", 32768}, {1, "instruction", 32768}, {2, "unified", 1 << 20},
              {3, "unified", 32u << 20}};
  m.compiler = "g++ 12.2.0";
  m.build = "Release";
  return m;
}

// A passing result of access-patterns (a registered lab) with its "time" plot over `points`
// working sets, as `dontpanic run` writes it.
Result result_with(int points, bool quick, const std::string& started_at) {
  Result r;
  r.lab = "access-patterns";
  r.title = "Access patterns";
  r.code_version = find_lab("access-patterns")->info.code_version;  // made by this build's lab
  r.started_at = started_at;
  r.machine = test_machine();
  r.quick = quick;
  r.params = {{"max-kib", 0}, {"repetitions", quick ? 5 : 15}};
  r.add_check("sums agree", true, "ok");
  r.plots.push_back(PlotSpec{.name = "time", .title = "Summing", .xlabel = "working set",
                             .ylabel = "ns per element", .y = PlotSpec::Y::time});
  for (int i = 0; i < points; ++i)
    r.add_point("sequential", "bytes", 4096.0 * (1 << i), Stats{.median_ns = 1, .p10_ns = 1, .p90_ns = 1, .min_ns = 1, .reps = 1},
                1, "GB/s");
  return r;
}

void save(const Result& r, const fs::path& path) { write(path, nlohmann::json(r).dump(2)); }

FigureSources sources_in(const test::ScratchDir& dir) {
  FigureSources s;
  s.results_dir = dir / "results";
  s.use_history = false;
  s.run_missing = false;
  s.committed_dir = dir / "committed";
  return s;
}

FigureRef time_figure() {
  FigureRef ref;
  ref.file = "access-patterns-time.svg";
  ref.lab = "access-patterns";
  ref.plot = "time";
  return ref;
}

// ------------------------------------------------------------------ captions ---------------

TEST(FigureCaption, NamesTheMachineItsCachesAndCompiler) {
  EXPECT_EQ(machine_summary(test_machine()),
            "Test CPU 9000 (2 cores, 4 threads; L1 32 KiB, L2 1 MiB, L3 32 MiB), g++ 12.2.0 Release build");
  EXPECT_EQ(machine_summary(MachineInfo{}), "an unnamed CPU");
}

TEST(FigureCaption, NamesTheDeviceOfGpuSeries) {
  EXPECT_EQ(gpu_summary(GpuInfo{"llvmpipe (LLVM 15.0.6, 256 bits)", "Mesa", "Vulkan 1.3", "cpu"}),
            "llvmpipe (LLVM 15.0.6, 256 bits), Vulkan on the CPU");
  EXPECT_EQ(gpu_summary(GpuInfo{"NVIDIA H200", "570.1", "Vulkan 1.4", "discrete"}), "NVIDIA H200 (discrete)");

  Result r = result_with(3, true, "2026-12-01T10:00:00Z");
  EXPECT_EQ(caption_note(r).find("GPU"), std::string::npos) << "a CPU lab names no GPU";
  r.machine.gpu = GpuInfo{"NVIDIA H200", "570.1", "Vulkan 1.4", "discrete"};
  EXPECT_NE(caption_note(r).find("GPU series on NVIDIA H200 (discrete)"), std::string::npos) << caption_note(r);
}

TEST(FigureCaption, ListsEveryParameterThatIsNotTheDefault) {
  const std::vector<ParamSpec> specs = {ParamSpec::integer("n", "size", 4096, 256, 1, 1 << 20),
                                        ParamSpec::choice("mode", "how", {"a", "b"}, "a")};
  Result r;
  r.quick = true;
  r.params = {{"n", 256}, {"mode", "a"}, {"repetitions", 5}};  // the quick defaults
  EXPECT_TRUE(changed_params(r, specs).empty());
  r.params = {{"n", 4096}, {"mode", "b"}, {"repetitions", 1}};
  EXPECT_EQ(changed_params(r, specs), (std::vector<std::string>{"mode=b", "n=4096", "repetitions=1"}));
  r.quick = false;  // 4096 is the full default
  EXPECT_EQ(changed_params(r, specs), (std::vector<std::string>{"mode=b", "repetitions=1"}));
  r.params = {{"old_name", 3}};  // a parameter this build's lab does not know is listed
  EXPECT_EQ(changed_params(r, specs), (std::vector<std::string>{"old_name=3"}));
}

TEST(FigureCaption, SaysQuickOrFullParametersAndDate) {
  Result r = result_with(3, true, "2026-12-01T10:00:00Z");
  EXPECT_EQ(caption_note(r),
            "Measured on Test CPU 9000 (2 cores, 4 threads; L1 32 KiB, L2 1 MiB, L3 32 MiB), g++ 12.2.0 "
            "Release build; quick run, default parameters; 2026-12-01.");
  r.quick = false;
  r.params["max-kib"] = 1024;
  r.params["repetitions"] = 15;
  EXPECT_NE(caption_note(r).find("; full run, max-kib=1024; 2026-12-01."), std::string::npos) << caption_note(r);
}

// ------------------------------------------------------------------ which run is published -

TEST(FigurePublish, ARunWithThreePointsIsPublishedWithItsJson) {
  ASSERT_TRUE(find_program("gnuplot")) << "gnuplot is missing: run tools/setup";
  test::ScratchDir dir;
  save(result_with(3, true, "2026-12-01T10:00:00Z"), dir.path() / "results/access-patterns.json");
  std::ostringstream log;
  FigureProvider provider(sources_in(dir), log);
  const ProvidedFigure f = provider.provide(time_figure(), "m1/access-patterns.md", dir / "out");
  ASSERT_NE(f.result, nullptr);
  EXPECT_TRUE(f.committed_from.empty());
  EXPECT_EQ(f.own_points, 3u);
  EXPECT_EQ(f.json_file, "access-patterns.json");
  EXPECT_TRUE(fs::exists(dir.path() / "out/access-patterns-time.svg"));
  const Result back = nlohmann::json::parse(read(dir.path() / "out/access-patterns.json")).get<Result>();
  EXPECT_EQ(back.started_at, "2026-12-01T10:00:00Z");
}

// A stored result made by another version of the lab's code, or with other --param values than
// the build asks for, is not reused: the build would run the lab (here it may not, so it says so).
TEST(FigurePublish, AResultOfOtherCodeOrOtherParametersIsNotReused) {
  test::ScratchDir dir;
  Result stale = result_with(3, true, "2026-12-01T10:00:00Z");
  stale.code_version = "0123456789ab";
  save(stale, dir.path() / "results/access-patterns.json");
  std::ostringstream log;
  FigureProvider stale_provider(sources_in(dir), log);
  EXPECT_THROW(stale_provider.provide(time_figure(), "m1/access-patterns.md", dir / "out"), Error);

  save(result_with(3, true, "2026-12-01T10:00:00Z"), dir.path() / "results/access-patterns.json");  // max-kib=0
  FigureSources other_params = sources_in(dir);
  other_params.assignments = {"max-kib=256"};
  FigureProvider param_provider(other_params, log);
  EXPECT_THROW(param_provider.provide(time_figure(), "m1/access-patterns.md", dir / "out"), Error);

  FigureSources same_params = sources_in(dir);
  same_params.assignments = {"max_kib=0", "n=7"};  // another spelling; n is some other lab's
  FigureProvider same_provider(same_params, log);
  EXPECT_NE(same_provider.provide(time_figure(), "m1/access-patterns.md", dir / "out").result, nullptr);
}

TEST(FigurePublish, AOnePointRunShowsTheCommittedFullRunInstead) {
  ASSERT_TRUE(find_program("gnuplot")) << "gnuplot is missing: run tools/setup";
  test::ScratchDir dir;
  save(result_with(1, true, "2026-12-01T10:00:00Z"), dir.path() / "results/access-patterns.json");
  // Not usable: a quick run, a run with two points, another lab, a file that is no result.
  save(result_with(5, true, "2026-11-03T00:00:00Z"), dir.path() / "committed/a/quick.json");
  save(result_with(2, false, "2026-11-04T00:00:00Z"), dir.path() / "committed/a/two.json");
  Result other = result_with(5, false, "2026-11-05T00:00:00Z");
  other.lab = "cache-latency";
  save(other, dir.path() / "committed/b/cache-latency.json");
  write(dir.path() / "committed/summary.json", R"({"schema": 1, "labs": {}})");
  // Usable: two full runs; the newer one wins.
  save(result_with(4, false, "2026-11-01T00:00:00Z"), dir.path() / "committed/old/access-patterns.json");
  Result newer = result_with(6, false, "2026-11-02T00:00:00Z");
  newer.plots[0].ylabel = "time per pass";  // kept from before its lab's label said the unit
  save(newer, dir.path() / "committed/new/access-patterns.json");

  std::ostringstream log;
  FigureProvider provider(sources_in(dir), log);
  const ProvidedFigure f = provider.provide(time_figure(), "m1/access-patterns.md", dir / "out");
  ASSERT_NE(f.result, nullptr);
  EXPECT_EQ(f.own_points, 1u);
  EXPECT_FALSE(f.result->quick);
  EXPECT_EQ(f.result->started_at, "2026-11-02T00:00:00Z");
  EXPECT_NE(f.committed_from.find("new/access-patterns.json"), std::string::npos) << f.committed_from;
  EXPECT_EQ(f.json_file, "access-patterns-full-run.json");
  const std::string svg = read(dir.path() / "out/access-patterns-time.svg");
  EXPECT_NE(svg.find("ns per element"), std::string::npos) << "this build's axis label";
  EXPECT_EQ(svg.find("time per pass"), std::string::npos);
  const Result back = nlohmann::json::parse(read(dir.path() / "out/access-patterns-full-run.json")).get<Result>();
  EXPECT_EQ(back.series.at(0).points.size(), 6u);
}

TEST(FigurePublish, AOnePointRunWithoutCommittedRunIsNotPublished) {
  test::ScratchDir dir;
  save(result_with(2, true, "2026-12-01T10:00:00Z"), dir.path() / "results/access-patterns.json");
  std::ostringstream log;
  FigureProvider provider(sources_in(dir), log);
  const ProvidedFigure f = provider.provide(time_figure(), "m1/access-patterns.md", dir / "out");
  EXPECT_EQ(f.result, nullptr);
  EXPECT_EQ(f.own_points, 2u);
  EXPECT_FALSE(fs::exists(dir.path() / "out/access-patterns-time.svg"));
}

// ------------------------------------------------------------------ on the page ------------

// A one-page guide whose page shows access-patterns' "time" plot; `points` in the stored run.
StagedSite stage_one_figure(const test::ScratchDir& dir, int points, bool with_committed) {
  const fs::path guide = dir.path() / "guide";
  write(guide / "mkdocs.yml", "site_name: test\n");
  write(guide / "sections.json", R"({"modules": []})");
  write(guide / "docs/index.md", "---\nlevel: 1\ntracks: []\nlabs: []\n---\n# Home\n\n[lab](m1/lab.md)\n");
  write(guide / "docs/m1/lab.md", "---\nlevel: 1\ntracks: []\nlabs: [access-patterns]\n---\n# Lab\n\n"
                                  "![Time per element](../figures/access-patterns-time.svg)\n");
  save(result_with(points, true, "2026-12-01T10:00:00Z"), dir.path() / "results/access-patterns.json");
  if (with_committed) save(result_with(5, false, "2026-11-02T00:00:00Z"), dir.path() / "committed/x/access-patterns.json");
  GuideOptions options;
  options.guide_dir = guide.string();
  options.out_dir = dir / "site";
  options.staging_dir = dir / "stage";
  options.figures = sources_in(dir);
  std::ostringstream log;
  return stage_site(load_site(options.guide_dir, options.selection, registered_labs()), options, log);
}

TEST(FigurePage, CaptionNamesTheRunAndLinksItsJson) {
  ASSERT_TRUE(find_program("gnuplot")) << "gnuplot is missing: run tools/setup";
  test::ScratchDir dir;
  const StagedSite staged = stage_one_figure(dir, 3, false);
  EXPECT_EQ(staged.figures, (std::vector<std::string>{"figures/access-patterns-time.svg", "figures/access-patterns.json"}));
  EXPECT_TRUE(fs::exists(dir.path() / "stage/docs/figures/access-patterns.json"));
  const std::string page = read(dir.path() / "stage/docs/m1/lab.md");
  EXPECT_NE(page.find("<figcaption>Time per element. Measured on Test CPU 9000 (2 cores, 4 threads; L1 32 KiB, "
                      "L2 1 MiB, L3 32 MiB), g++ 12.2.0 Release build; quick run, default parameters; "
                      "2026-12-01. <a href=\"../figures/access-patterns.json\">The numbers (access-patterns.json)</a>"
                      "</figcaption>"),
            std::string::npos)
      << page;
}

TEST(FigurePage, ACommittedRunSaysSo) {
  ASSERT_TRUE(find_program("gnuplot")) << "gnuplot is missing: run tools/setup";
  test::ScratchDir dir;
  const StagedSite staged = stage_one_figure(dir, 1, true);
  const std::string page = read(dir.path() / "stage/docs/m1/lab.md");
  EXPECT_NE(page.find("Not this machine: the run this guide was built from measured 1 size, too few for a "
                      "curve, so this is the full run kept in <code>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("full run, default parameters; 2026-11-02."), std::string::npos) << page;
  EXPECT_NE(page.find("href=\"../figures/access-patterns-full-run.json\""), std::string::npos) << page;
  EXPECT_TRUE(fs::exists(dir.path() / "stage/docs/figures/access-patterns-full-run.json"));
}

TEST(FigurePage, WithoutAnyCurveThePageSaysToRunAtFullSize) {
  test::ScratchDir dir;
  const StagedSite staged = stage_one_figure(dir, 1, false);
  EXPECT_TRUE(staged.figures.empty());
  const std::string page = read(dir.path() / "stage/docs/m1/lab.md");
  EXPECT_NE(page.find("Run it at full size to see the curve: <code>dontpanic run access-patterns</code>"),
            std::string::npos)
      << page;
  EXPECT_EQ(page.find("<figure"), std::string::npos) << page;
  EXPECT_FALSE(fs::exists(dir.path() / "stage/docs/figures/access-patterns-time.svg"));
}

}  // namespace
}  // namespace dp::guide
