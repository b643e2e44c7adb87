#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <sqlite3.h>

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

// A database written by the dontpanic of schema 1 (only the runs table), made here statement by
// statement as that version made it.
void make_schema_1_database(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  const char* sql =
      "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, lab TEXT NOT NULL, started_at TEXT NOT NULL,"
      " cpu TEXT, hostname TEXT, build TEXT, quick INTEGER NOT NULL, passed INTEGER NOT NULL,"
      " headlines TEXT NOT NULL, result TEXT NOT NULL);"
      "CREATE INDEX runs_by_lab ON runs(lab, id);"
      "INSERT INTO runs (lab, started_at, cpu, hostname, build, quick, passed, headlines, result)"
      " VALUES ('old-lab', '2026-01-01T00:00:00Z', 'old cpu', 'h', 'Release', 1, 1, '[]', '{}');"
      "PRAGMA user_version = 1;";
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(History, SchemaOneIsMigratedAndKeepsItsRuns) {
  test::ScratchDir dir;
  make_schema_1_database(dir / "h.sqlite");
  {  // read-only: reads the old runs, changes nothing, and knows no exercise progress
    History old(dir / "h.sqlite", History::Access::read_only);
    EXPECT_EQ(old.runs("old-lab").size(), 1u);
    EXPECT_FALSE(old.exercise_progress("transpose").has_value());
  }
  History h(dir / "h.sqlite");  // read-write: migrates to schema 2
  const auto rows = h.runs("old-lab");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].cpu, "old cpu");
  EXPECT_FALSE(h.exercise_progress("transpose").has_value());
  h.record_exercise_check({.exercise = "transpose", .checked_at = "2026-12-01T00:00:00Z", .source_hash = "a",
                           .mode = "timed", .correct = true, .passed = false, .speedup = 1.5, .points = 4});
  h.record_exercise_check({.exercise = "transpose", .checked_at = "2026-12-02T00:00:00Z", .source_hash = "b",
                           .mode = "timed", .correct = false, .passed = false, .speedup = 9, .points = 0});
  h.record(result_for("new-lab", 1), true);
  const auto p = h.exercise_progress("transpose");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->checks, 2);
  EXPECT_TRUE(p->correct);
  EXPECT_FALSE(p->passed);
  EXPECT_DOUBLE_EQ(p->best_speedup, 1.5);  // a wrong file's speed counts for nothing
  EXPECT_EQ(p->best_points, 4);
  EXPECT_EQ(p->last_checked_at, "2026-12-02T00:00:00Z");

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir / "h.sqlite").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(stmt, 0), History::kSchemaVersion);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
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
