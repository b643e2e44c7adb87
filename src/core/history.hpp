// history.hpp — every run of every lab, kept in one SQLite file.
//
// Where: $XDG_DATA_HOME/dontpanic/history.sqlite (default ~/.local/share/dontpanic/), or
// $DONTPANIC_HISTORY when set (tests use that). Schema-versioned with PRAGMA user_version;
// each run is written in one transaction, so two runs at once never lose a row.
// Schema 2 adds exercise_checks: one row per `dontpanic exercise check`, from which the progress
// of every exercise (passed, best speedup, points) is read. A schema-1 file is migrated on open.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

struct sqlite3;

namespace dp {

struct HistoryRow {
  long long id = 0;
  std::string lab;
  std::string started_at;
  std::string cpu;
  std::string hostname;
  std::string build;
  bool quick = false;
  bool passed = false;
  std::vector<Headline> headlines;
};

// One `dontpanic exercise check`.
struct ExerciseCheckRow {
  std::string exercise;
  std::string checked_at;    // ISO-8601, UTC
  std::string source_hash;   // of the reader's file (hex)
  std::string mode;          // "timed" or "sanitize"
  bool correct = false;
  bool passed = false;       // correct and at the target speedup
  double speedup = 0;        // 0 when not timed
  int points = 0;
};

// What the checks of one exercise add up to.
struct ExerciseProgress {
  int checks = 0;
  bool passed = false;
  bool correct = false;      // some check was correct
  double best_speedup = 0;   // of the correct, timed checks
  int best_points = 0;
  std::string last_checked_at;
};

class History {
 public:
  static constexpr int kSchemaVersion = 2;
  enum class Access { read_write, read_only };

  // $DONTPANIC_HISTORY, else $XDG_DATA_HOME/dontpanic/history.sqlite (an absolute XDG_DATA_HOME
  // only, as the XDG spec says), else ~/.local/share/dontpanic/history.sqlite. Throws dp::Error
  // when there is no home folder to put it in.
  static std::string default_path();
  static bool exists(const std::string& path);

  // Opens (creating if needed) the database. Throws dp::Error with a clear message when the
  // file is corrupt, locked for too long, from a newer version, or cannot be created.
  // read_only never creates or changes anything: a missing file reads as a history with no runs
  // (for `dontpanic doctor`, `history`, the guide).
  explicit History(const std::string& path, Access access = Access::read_write);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  void record(const Result& result, bool passed);
  std::vector<HistoryRow> runs(const std::string& lab, int limit = 50);
  std::optional<Result> latest_result(const std::string& lab);  // newest full result, if any
  void record_exercise_check(const ExerciseCheckRow& row);
  std::optional<ExerciseProgress> exercise_progress(const std::string& exercise);  // none: never checked
  const std::string& path() const { return path_; }

 private:
  void exec(const char* sql, const char* doing = nullptr);
  std::string columns_of(const char* table);
  [[noreturn]] void fail(const std::string& doing, int code);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace dp
