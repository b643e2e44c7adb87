// `dontpanic guide build|serve` end to end: bad input gets the same clear errors as `list`,
// and a level-1 build from the command line produces a site.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support.hpp"

namespace dp {
namespace {

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(GuideCli, BadLevelAndTrackGetTheSameWordsAsList) {
  const auto level = test::run_cli({"guide", "build", "--level", "0"});
  EXPECT_EQ(level.exit_code, 2) << level.output;
  const auto list_level = test::run_cli({"list", "--level", "0"});
  EXPECT_TRUE(contains(level.output, "--level 0 is out of range")) << level.output;
  EXPECT_TRUE(contains(list_level.output, "--level 0 is out of range")) << list_level.output;

  const auto track = test::run_cli({"guide", "serve", "--track", "ml"});
  EXPECT_EQ(track.exit_code, 2) << track.output;
  EXPECT_TRUE(contains(track.output, "unknown track 'ml'")) << track.output;
  EXPECT_TRUE(contains(track.output, "or all")) << track.output;

  const auto no_verb = test::run_cli({"guide"});
  EXPECT_EQ(no_verb.exit_code, 2) << no_verb.output;
  const auto port = test::run_cli({"guide", "serve", "--port", "70000"});
  EXPECT_EQ(port.exit_code, 2) << port.output;
  EXPECT_TRUE(contains(port.output, "--port 70000")) << port.output;
  const auto reps = test::run_cli({"guide", "build", "--repetitions", "0"});
  EXPECT_EQ(reps.exit_code, 2) << reps.output;
  EXPECT_TRUE(contains(reps.output, "from 1 to 1000")) << reps.output;
}

TEST(GuideCli, RefusesToEmptyAFolderThatIsNotASite) {
  test::ScratchDir dir;
  std::ofstream(dir / "precious.txt") << "keep me\n";
  const auto r = test::run_cli({"guide", "build", "--level", "1", "--out", dir.path().string()});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "is not an earlier build of the guide")) << r.output;
  EXPECT_TRUE(fs::exists(dir / "precious.txt"));
}

TEST(GuideCli, LevelOneBuildWritesASite) {
  test::ScratchDir dir;
  const std::string results = (fs::path(DP_CLI_PATH).parent_path() / "guide-test-results").string();
  const auto r = test::run_cli(
      {"guide", "build", "--level", "1", "--out", dir / "site", "--results", results, "--repetitions", "1"}, 600);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "checked by mkdocs build --strict")) << r.output;
  EXPECT_TRUE(fs::exists(dir.path() / "site/index.html"));
  EXPECT_TRUE(fs::exists(dir.path() / "site/m1/access-patterns.html"));
  EXPECT_TRUE(fs::exists(dir.path() / "site/figures/access-patterns-time.svg"));
  // A second build into the same folder is allowed: it is an earlier build.
  const auto again = test::run_cli(
      {"guide", "build", "--level", "1", "--out", dir / "site", "--results", results, "--repetitions", "1"}, 600);
  EXPECT_EQ(again.exit_code, 0) << again.output;
}

}  // namespace
}  // namespace dp
