#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/history.hpp"
#include "core/runner.hpp"
#include "support.hpp"

namespace dp {
namespace {

Result result_for(const std::string& lab, int i) {
  Result r;
  r.lab = lab;
  r.title = "t";
  r.started_at = now_iso8601();
  r.machine.cpu = "test cpu";
  r.headlines.push_back({"run", std::to_string(i)});
  r.add_check("ok", true, "");
  return r;
}

TEST(History, WritesAndReadsBackNewestFirst) {
  test::ScratchDir dir;
  History h(dir / "h.sqlite");
  h.record(result_for("a", 1), true);
  h.record(result_for("a", 2), false);
  h.record(result_for("b", 3), true);
  const auto rows = h.runs("a");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].headlines.at(0).value, "2");
  EXPECT_FALSE(rows[0].passed);
  EXPECT_EQ(rows[1].cpu, "test cpu");
  const auto latest = h.latest_result("a");  // newest run whose checks passed
  ASSERT_TRUE(latest.has_value());
  EXPECT_EQ(latest->headlines.at(0).value, "1");
  EXPECT_FALSE(h.latest_result("nothing").has_value());
}

TEST(History, SurvivesReopeningAndKeepsTheSchemaVersion) {
  test::ScratchDir dir;
  { History(dir / "h.sqlite").record(result_for("a", 1), true); }
  History again(dir / "h.sqlite");
  EXPECT_EQ(again.runs("a").size(), 1u);
}

TEST(History, TwoProcessesWritingAtOnceLoseNoRow) {
  test::ScratchDir dir;
  const std::string path = dir / "h.sqlite";
  { History init(path); }
  constexpr int kRows = 40;
  std::vector<pid_t> children;
  for (int child = 0; child < 2; ++child) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 0;
      try {
        History h(path);
        for (int i = 0; i < kRows; ++i) h.record(result_for("race", child * 1000 + i), true);
      } catch (...) {
        status = 1;
      }
      _exit(status);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  History h(path);
  EXPECT_EQ(h.runs("race", 1000).size(), 2u * kRows);
}

TEST(History, CorruptFileGivesAClearError) {
  test::ScratchDir dir;
  const std::string path = dir / "h.sqlite";
  {
    std::ofstream out(path);
    for (int i = 0; i < 100; ++i) out << "this is not an SQLite database, just text. ";
  }
  try {
    History h(path);
    FAIL() << "a corrupt file must not open";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("corrupt or not a database"), std::string::npos) << message;
    EXPECT_NE(message.find(path), std::string::npos);
    EXPECT_NE(message.find("move it aside or delete it"), std::string::npos);
  }
}

TEST(History, RunStillWritesItsJsonWhenTheHistoryIsCorrupt) {
  test::ScratchDir dir;
  const std::string db = dir / "bad.sqlite";
  { std::ofstream(db) << std::string(4096, 'x'); }
  const std::string old = getenv("DONTPANIC_HISTORY") ? getenv("DONTPANIC_HISTORY") : "";
  setenv("DONTPANIC_HISTORY", db.c_str(), 1);
  LabDef lab{{.id = "tiny", .title = "tiny"}, {}, [](LabContext& ctx) {
               ctx.result.add_check("trivial", true, "1 == 1");
             }};
  RunOptions options;
  options.out_dir = dir.path().string();
  options.plot = PlotMode::none;
  std::ostringstream out;
  const auto outcome = run_lab(lab, options, out);
  setenv("DONTPANIC_HISTORY", old.c_str(), 1);
  EXPECT_TRUE(std::filesystem::exists(dir / "tiny.json"));
  ASSERT_EQ(outcome.warnings.size(), 1u);
  EXPECT_NE(outcome.warnings[0].find("not added to the history"), std::string::npos);
}

}  // namespace
}  // namespace dp
