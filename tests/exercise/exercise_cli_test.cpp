// End-to-end tests of `dontpanic exercise`: for every registered exercise, the baseline, our
// solution, a wrong file, and code that crashes, hangs, allocates 64 GiB or does not compile; then
// the commands around a check (start, reset, hint, solution, list, status) and progress.
//
// Each test has its own workspace, history database and build cache (environment variables), so
// tests run in parallel and never touch the reader's own progress.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "cli/cli_support.hpp"
#include "core/history.hpp"
#include "exercise/check.hpp"
#include "exercise/exercise.hpp"

namespace fs = std::filesystem;

namespace dp::test {
namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

// A private place for one test: workspace, history, build cache.
class ExerciseEnv {
 public:
  // Runs `dontpanic <args>` with this test's environment.
  ProcessResult run(const std::string& args, double timeout = 300) const {
    return shell(fmt::format("export DONTPANIC_WORKSPACE='{}' DONTPANIC_HISTORY='{}' DONTPANIC_EXERCISE_CACHE='{}'\n"
                             "\"$DP\" {}", workspace(), history(), dir_ / "cache", args),
                 timeout);
  }
  std::string workspace() const { return dir_ / "work"; }
  std::string history() const { return dir_ / "history.sqlite"; }
  fs::path file(const ex::ExerciseInfo& info) const { return fs::path(workspace()) / info.id / info.file; }
  std::string path(const std::string& name) const { return dir_ / name; }

 private:
  ScratchDir dir_;
};

// The baseline with `statements` run at the start of its first extern "C" function: a way to make
// every exercise crash, hang or allocate without knowing its signature.
std::string sabotaged_baseline(const ex::ExerciseInfo& info, const std::string& statements) {
  std::string text = read(ex::baseline_path(info));
  const bool shader = info.language == ex::Language::glsl;
  const auto fn = shader ? text.find("void main()") : text.find("extern \"C\"", text.find("#include"));
  const auto body = text.find('{', fn);
  EXPECT_NE(body, std::string::npos) << "no extern \"C\" function (or main()) with a body in the baseline";
  text.insert(body + 1, "\n" + statements + "\n");
  return shader ? text : "#include <vector>\n" + text;
}

// A loop that never ends (C++ only: see EndlessLoopIsStoppedAtTheTimeLimit).
std::string endless_loop() { return "for (volatile int spin = 0;; spin = spin + 1) {}"; }

fs::path wrong_file(const ex::ExerciseInfo& info) {
  return fs::path(DP_TEST_SOURCE_DIR) / "exercise" / "wrong" / (info.id + fs::path(info.file).extension().string());
}

class EveryExercise : public ::testing::TestWithParam<std::string> {
 protected:
  const ex::ExerciseInfo& info() const { return ex::find_exercise(GetParam())->info; }
  // Starts the exercise, puts `source` in the reader's file, checks it; returns the JSON report.
  nlohmann::json check_with(const std::string& source, ProcessResult* out, const std::string& extra = "--quick") {
    EXPECT_EQ(env_.run("exercise start " + info().id).exit_code, 0);
    write(env_.file(info()), source);
    const std::string json = env_.path("check.json");
    fs::remove(json);
    *out = env_.run(fmt::format("exercise check {} --seed 7 --json '{}' {}", info().id, json, extra));
    EXPECT_LT(out->exit_code, 128) << out->output;  // dontpanic itself never crashes
    EXPECT_TRUE(fs::exists(json)) << out->output;
    return fs::exists(json) ? nlohmann::json::parse(read(json)) : nlohmann::json::object();
  }
  ExerciseEnv env_;
};

TEST_P(EveryExercise, FolderHasEveryPart) {
  for (const fs::path& part : {ex::exercise_dir(info()) / "README.md", ex::baseline_path(info()),
                               ex::solution_path(info()), ex::exercise_dir(info()) / "hints.md"})
    EXPECT_TRUE(fs::exists(part)) << part;
  if (info().language == ex::Language::cpp) {
    EXPECT_TRUE(fs::exists(ex::exercise_dir(info()) / info().header));
  }
  EXPECT_TRUE(fs::exists(wrong_file(info()))) << "every exercise needs a deliberately wrong file for these tests";
  EXPECT_GE(info().check_sizes.size(), 3u);
  EXPECT_FALSE(info().timed_sizes.empty());
}

TEST_P(EveryExercise, BaselineIsCorrectAtAboutOneTimesItself) {
  ProcessResult r;
  const auto j = check_with(read(ex::baseline_path(info())), &r);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(j.value("outcome", ""), "correct") << r.output;
  EXPECT_GT(j.value("points", 0), 0);
  // The same code against itself: ~1x. A wide band: this is a behaviour test on a busy machine.
  EXPECT_GT(j.value("speedup", 0.0), 0.5) << r.output;
  EXPECT_LT(j.value("speedup", 9.0), 2.0) << r.output;
}

TEST_P(EveryExercise, SolutionIsCorrect) {
  ProcessResult r;
  const auto j = check_with(read(ex::solution_path(info())), &r);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(j.value("outcome", ""), "correct") << r.output;
  EXPECT_GT(j.value("speedup", 0.0), 0.0);
}

TEST_P(EveryExercise, WrongFileFailsWithTheMismatch) {
  ProcessResult r;
  const auto j = check_with(read(wrong_file(info())), &r);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(j.value("outcome", ""), "wrong") << r.output;
  EXPECT_EQ(j.value("points", -1), 0);
  EXPECT_NE(r.output.find("✗ wrong at " + info().size_name + " = "), std::string::npos) << r.output;
  // The check's own words: which indices differ, or (accuracy exercises) how large the error is.
  EXPECT_TRUE(r.output.find("differ") != std::string::npos || r.output.find("error") != std::string::npos) << r.output;
}

TEST_P(EveryExercise, SegfaultIsReportedWithWhere) {
  if (info().language == ex::Language::glsl) GTEST_SKIP() << "a shader cannot touch the host's memory";
  ProcessResult r;
  const auto j = check_with(sabotaged_baseline(info(), "{ volatile int* p = nullptr; *p = 1; }"), &r);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(j.value("outcome", ""), "crashed") << r.output;
  EXPECT_NE(r.output.find(fmt::format("at {} = {}", info().size_name, info().check_sizes.front())), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("SEGV"), std::string::npos) << r.output;
}

TEST_P(EveryExercise, EndlessLoopIsStoppedAtTheTimeLimit) {
  // Shader compilers may assume that a loop ends (Vulkan promises no forward progress): a planted
  // endless loop came out of lavapipe's compiler as a finite, wrong shader. The time limit is the
  // same code for both languages, and the C++ exercises test it.
  if (info().language == ex::Language::glsl) GTEST_SKIP() << "an endless loop cannot be planted reliably in a shader";
  ProcessResult r;
  const auto j = check_with(sabotaged_baseline(info(), endless_loop()), &r, "--quick --time-limit 2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(j.value("outcome", ""), "timed_out") << r.output;
  EXPECT_NE(r.output.find("time limit (2 s)"), std::string::npos) << r.output;
}

TEST_P(EveryExercise, AllocatingSixtyFourGigabytesHitsTheMemoryLimit) {
  if (info().language == ex::Language::glsl) GTEST_SKIP() << "a shader allocates nothing on the host";
  ProcessResult r;
  const auto j = check_with(
      sabotaged_baseline(info(), "{ std::vector<char> big(64ull << 30, 1); asm volatile(\"\" : : \"r\"(big.data()) : \"memory\"); }"),
      &r, "--quick --memory-limit 1024");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(j.value("outcome", ""), "correct") << r.output;
  EXPECT_NE(r.output.find("memory"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 GiB"), std::string::npos) << r.output;  // the limit, in the message
}

TEST_P(EveryExercise, CompileErrorIsShownAsTheCompilerSaidIt) {
  ProcessResult r;
  const auto j = check_with(read(ex::baseline_path(info())) + "\nthis is not valid code;\n", &r);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(j.value("outcome", ""), "compile_error") << r.output;
  // The path as the reader knows it (relative to the workspace folder), with a line number.
  EXPECT_NE(r.output.find(info().file + ":"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("error"), std::string::npos) << r.output;
  // The workspace's path appears once, in "checking <path>": the compiler's messages do not repeat it.
  const auto first = r.output.find(env_.workspace());
  EXPECT_EQ(r.output.find(env_.workspace(), first + 1), std::string::npos) << r.output;
}

std::vector<std::string> exercise_ids() {
  std::vector<std::string> ids;
  for (const auto& e : ex::exercises()) ids.push_back(e.info.id);
  return ids;
}

INSTANTIATE_TEST_SUITE_P(Exercises, EveryExercise, ::testing::ValuesIn(exercise_ids()),
                         [](const auto& p) {
                           std::string name = p.param;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

// ---- the commands around a check, on one exercise -------------------------------------------------

TEST(ExerciseCommands, StartNeverOverwritesAndResetKeepsTheReadersFile) {
  ExerciseEnv env;
  const auto& info = ex::find_exercise("transpose")->info;
  EXPECT_EQ(env.run("exercise start transpose").exit_code, 0);
  write(env.file(info), "// my edits\n");
  const auto again = env.run("exercise start transpose");
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.output.find("already started"), std::string::npos) << again.output;
  EXPECT_EQ(read(env.file(info)), "// my edits\n");
  const auto reset = env.run("exercise reset transpose");
  EXPECT_EQ(reset.exit_code, 0) << reset.output;
  EXPECT_EQ(read(env.file(info)), read(ex::exercise_dir(info) / "baseline.cpp"));
  fs::path kept = env.file(info);
  kept += ".bak";
  EXPECT_EQ(read(kept), "// my edits\n");
  EXPECT_NE(reset.output.find(kept.string()), std::string::npos) << reset.output;
}

TEST(ExerciseCommands, UnknownIdsAndBadOptionsAreClearErrors) {
  ExerciseEnv env;
  auto r = env.run("exercise check no-such-thing");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("no exercise 'no-such-thing'; the exercises are: "), std::string::npos) << r.output;
  r = env.run("exercise check transpose");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("first: dontpanic exercise start transpose"), std::string::npos) << r.output;
  r = env.run("exercise hint transpose 9");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("hints 1 to 3"), std::string::npos) << r.output;
  r = env.run("exercise list --level 9");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = env.run("exercise start transpose && \"$DP\" exercise check transpose --time-limit 0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--time-limit 0 is out of range"), std::string::npos) << r.output;
}

TEST(ExerciseCommands, HintsComeOneAtATime) {
  ExerciseEnv env;
  for (int n : {1, 2, 3, 3}) {
    const auto r = env.run("exercise hint transpose");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(fmt::format("Hint {} of 3", n)), std::string::npos) << r.output;
  }
  const auto first = env.run("exercise hint transpose 1");
  EXPECT_NE(first.output.find("Hint 1 of 3"), std::string::npos) << first.output;
}

TEST(ExerciseCommands, SolutionOpensAfterAPassAndProgressIsKept) {
  ExerciseEnv env;
  const auto& info = ex::find_exercise("transpose")->info;
  auto r = env.run("exercise solution transpose");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("opens once your file passes"), std::string::npos) << r.output;
  r = env.run("exercise solution transpose --force");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("extern \"C\" void transpose"), std::string::npos) << r.output;

  // A pass, recorded in the history database, opens the solution; list and status show it.
  ASSERT_EQ(env.run("exercise start transpose").exit_code, 0);
  {
    History db(env.history());
    db.record_exercise_check({.exercise = "transpose", .checked_at = "2026-01-01T00:00:00Z", .source_hash = "0",
                              .mode = "timed", .correct = true, .passed = true, .speedup = 5.5, .points = info.points});
  }
  r = env.run("exercise solution transpose");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = env.run("exercise list --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  bool found = false;
  for (const auto& e : last_json(r.output))
    if (e["id"] == "transpose") {
      found = true;
      EXPECT_EQ(e["status"], "passed");
      EXPECT_DOUBLE_EQ(e["best_speedup"].get<double>(), 5.5);
      EXPECT_EQ(e["points"], info.points);
    }
  EXPECT_TRUE(found);
  r = env.run("exercise status");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find(fmt::format("{}/", info.points)), std::string::npos) << r.output;
}

TEST(ExerciseCommands, ARecheckOfAnUnchangedFileReusesItsBuild) {
  ExerciseEnv env;
  ASSERT_EQ(env.run("exercise start transpose").exit_code, 0);
  const std::string json = env.path("r.json");
  for (bool reused : {false, true}) {
    const auto r = env.run(fmt::format("exercise check transpose --quick --json '{}'", json));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_EQ(nlohmann::json::parse(read(json))["build_reused"], reused) << r.output;
  }
}

TEST(ExerciseCommands, ACorruptProgressDatabaseStillPrintsTheCheck) {
  ExerciseEnv env;
  ASSERT_EQ(env.run("exercise start transpose").exit_code, 0);
  write(env.history(), std::string(4096, 'x'));
  const auto r = env.run("exercise check transpose --quick");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("✓ correct"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("was not saved to your progress"), std::string::npos) << r.output;
  const auto list = env.run("exercise list");
  EXPECT_EQ(list.exit_code, 0) << list.output;
  EXPECT_NE(list.output.find("progress could not be read"), std::string::npos) << list.output;
}

TEST(ExerciseCommands, ProgressDatabaseIsIntactAfterCrashesAndTimeouts) {
  ExerciseEnv env;
  const auto& info = ex::find_exercise("transpose")->info;
  ASSERT_EQ(env.run("exercise start transpose").exit_code, 0);
  EXPECT_EQ(env.run("exercise check transpose --quick").exit_code, 0);
  write(env.file(info), sabotaged_baseline(info, "{ volatile int* p = nullptr; *p = 1; }"));
  EXPECT_EQ(env.run("exercise check transpose --quick").exit_code, 1);
  write(env.file(info), sabotaged_baseline(info, endless_loop()));
  EXPECT_EQ(env.run("exercise check transpose --quick --time-limit 1").exit_code, 1);
  History db(env.history(), History::Access::read_only);
  const auto p = db.exercise_progress("transpose");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->checks, 3);
  EXPECT_TRUE(p->correct);
}

}  // namespace
}  // namespace dp::test
