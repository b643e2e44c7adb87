#include "core/history.hpp"

#include <pwd.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "core/error.hpp"

namespace dp {

namespace fs = std::filesystem;

std::string History::default_path() {
  if (const char* p = std::getenv("DONTPANIC_HISTORY"); p != nullptr && *p != '\0') return p;
  fs::path base;
  // The XDG spec: a relative XDG_DATA_HOME is invalid and must be ignored (it would put the
  // history in whatever folder dontpanic was started from).
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && fs::path(xdg).is_absolute()) {
    base = xdg;
  } else {
    std::string home;
    if (const char* h = std::getenv("HOME"); h != nullptr && fs::path(h).is_absolute()) home = h;
    else if (const passwd* pw = getpwuid(getuid()); pw != nullptr && pw->pw_dir != nullptr) home = pw->pw_dir;
    if (home.empty() || !fs::path(home).is_absolute())
      throw Error("there is no place for the history: neither HOME nor an absolute XDG_DATA_HOME is "
                  "set, and this user has no home folder; set DONTPANIC_HISTORY=/path/to/history.sqlite");
    base = fs::path(home) / ".local" / "share";
  }
  return (base / "dontpanic" / "history.sqlite").string();
}

bool History::exists(const std::string& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

void History::fail(const std::string& doing, int code) {
  const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(code);
  const int primary = code & 0xff;
  if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
    throw Error(fmt::format("history database {} is corrupt or not a database ({}); move it aside "
                            "or delete it to start a new history",
                            path_, why));
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    throw Error(fmt::format("history database {} stayed locked by another process for over 10 s "
                            "({}); wait for the other run to finish and try again",
                            path_, why));
  throw Error(fmt::format("history database {}: {} failed ({})", path_, doing, why));
}

void History::exec(const char* sql, const char* doing) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) fail(doing != nullptr ? doing : sql, rc);
}

// The columns of table `name`, "" when there is no such table.
std::string History::columns_of(const char* name) {
  sqlite3_stmt* stmt = nullptr;
  std::string columns;
  if (sqlite3_prepare_v2(db_, "SELECT name FROM pragma_table_info(?)", -1, &stmt, nullptr) == SQLITE_OK) {
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(stmt) == SQLITE_ROW)
      columns += (columns.empty() ? "" : ", ") + std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  }
  sqlite3_finalize(stmt);
  return columns;
}

History::History(const std::string& path, Access access) : path_(path) {
  const bool read_only = access == Access::read_only;
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !read_only) fs::create_directories(parent, ec);
  if (ec)
    throw Error(fmt::format("cannot create folder {} for the history database: {}; set "
                            "XDG_DATA_HOME to a writable folder",
                            parent.string(), ec.message()));
  if (read_only && !exists(path)) return;  // no runs yet: reading finds none, and nothing is created
  const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                 read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                 nullptr);
  if (rc != SQLITE_OK) {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error(fmt::format("cannot open history database {}: {}", path, why));
  }
  sqlite3_busy_timeout(db_, 10000);  // a concurrent run holds the write lock only briefly
  try {
    // Reading the version touches the file header: a corrupt file fails here, clearly.
    sqlite3_stmt* stmt = nullptr;
    int prc = sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &stmt, nullptr);
    if (prc != SQLITE_OK) fail("reading the schema version", prc);
    prc = sqlite3_step(stmt);
    const int version = prc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
    sqlite3_finalize(stmt);
    if (prc != SQLITE_ROW) fail("reading the schema version", prc);
    if (version > kSchemaVersion)
      throw Error(fmt::format("history database {} has schema {} from a newer dontpanic (this one "
                              "knows {}); update dontpanic or set DONTPANIC_HISTORY elsewhere",
                              path, version, kSchemaVersion));
    // A file of another program that happens to have a table called "runs": say so plainly.
    if (const std::string columns = columns_of("runs");
        !columns.empty() && (columns.find("lab") == std::string::npos || columns.find("result") == std::string::npos))
      throw Error(fmt::format("history database {} has a table 'runs' that dontpanic did not make (its "
                              "columns: {}); move that file aside, or set DONTPANIC_HISTORY to another file",
                              path, columns));
    if (version < kSchemaVersion && read_only) {
      if (columns_of("runs").empty()) {  // an empty database: nothing to read
        sqlite3_close(db_);
        db_ = nullptr;
      }
    } else if (version < kSchemaVersion) {
      // Each step brings one schema version to the next; a new file takes them all. Both are
      // "IF NOT EXISTS", so two processes migrating at once (serialised by BEGIN IMMEDIATE) agree.
      exec("BEGIN IMMEDIATE", "starting to create the tables");
      exec(
          "CREATE TABLE IF NOT EXISTS runs ("
          "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
          "  lab TEXT NOT NULL, started_at TEXT NOT NULL, cpu TEXT, hostname TEXT, build TEXT,"
          "  quick INTEGER NOT NULL, passed INTEGER NOT NULL,"
          "  headlines TEXT NOT NULL, result TEXT NOT NULL);"
          "CREATE INDEX IF NOT EXISTS runs_by_lab ON runs(lab, id);"
          // schema 2: exercise checks
          "CREATE TABLE IF NOT EXISTS exercise_checks ("
          "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
          "  exercise TEXT NOT NULL, checked_at TEXT NOT NULL, source_hash TEXT NOT NULL,"
          "  mode TEXT NOT NULL, correct INTEGER NOT NULL, passed INTEGER NOT NULL,"
          "  speedup REAL NOT NULL, points INTEGER NOT NULL);"
          "CREATE INDEX IF NOT EXISTS exercise_checks_by_exercise ON exercise_checks(exercise, id);"
          "PRAGMA user_version = 2;",
          "creating the tables");
      exec("COMMIT", "creating the tables");
    }
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

History::~History() { sqlite3_close(db_); }

namespace {
struct StatementDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;
}  // namespace

void History::record(const Result& result, bool passed) {
  if (db_ == nullptr) throw Error(fmt::format("history database {} was opened read-only", path_));
  nlohmann::json headlines = nlohmann::json::array();
  for (const auto& h : result.headlines) headlines.push_back({{"name", h.name}, {"value", h.value}});
  const std::string headline_text = headlines.dump();
  const std::string result_text = nlohmann::json(result).dump();

  exec("BEGIN IMMEDIATE");  // one transaction per run
  try {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_,
                                "INSERT INTO runs (lab, started_at, cpu, hostname, build, quick, "
                                "passed, headlines, result) VALUES (?,?,?,?,?,?,?,?,?)",
                                -1, &raw, nullptr);
    Statement stmt(raw);
    if (rc != SQLITE_OK) fail("preparing the insert", rc);
    sqlite3_bind_text(raw, 1, result.lab.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(raw, 2, result.started_at.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(raw, 3, result.machine.cpu.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(raw, 4, result.machine.hostname.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(raw, 5, result.machine.build.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(raw, 6, result.quick ? 1 : 0);
    sqlite3_bind_int(raw, 7, passed ? 1 : 0);
    sqlite3_bind_text(raw, 8, headline_text.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(raw, 9, result_text.c_str(), -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(raw);
    if (rc != SQLITE_DONE) fail("inserting the run", rc);
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<HistoryRow> History::runs(const std::string& lab, int limit) {
  if (db_ == nullptr) return {};  // read-only, and no history yet
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_,
                              "SELECT id, lab, started_at, cpu, hostname, build, quick, passed, "
                              "headlines FROM runs WHERE lab = ? ORDER BY id DESC LIMIT ?",
                              -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) fail("reading runs", rc);
  sqlite3_bind_text(raw, 1, lab.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(raw, 2, limit);
  const auto text = [raw](int col) {
    const auto* p = sqlite3_column_text(raw, col);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p)) : std::string();
  };
  std::vector<HistoryRow> rows;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    HistoryRow row{sqlite3_column_int64(raw, 0), text(1), text(2), text(3), text(4), text(5),
                   sqlite3_column_int(raw, 6) != 0, sqlite3_column_int(raw, 7) != 0, {}};
    const auto headlines = nlohmann::json::parse(text(8), nullptr, false);
    if (headlines.is_array())
      for (const auto& h : headlines) row.headlines.push_back({h.value("name", ""), h.value("value", "")});
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) fail("reading runs", rc);
  return rows;
}

std::optional<Result> History::latest_result(const std::string& lab) {
  if (db_ == nullptr) return std::nullopt;  // read-only, and no history yet
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(
      db_, "SELECT result FROM runs WHERE lab = ? AND passed = 1 ORDER BY id DESC LIMIT 1", -1,
      &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) fail("reading the latest run", rc);
  sqlite3_bind_text(raw, 1, lab.c_str(), -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) fail("reading the latest run", rc);
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
  const auto j = nlohmann::json::parse(p != nullptr ? p : "", nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  try {
    return j.get<Result>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

void History::record_exercise_check(const ExerciseCheckRow& row) {
  if (db_ == nullptr) throw Error(fmt::format("history database {} was opened read-only", path_));
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_,
                              "INSERT INTO exercise_checks (exercise, checked_at, source_hash, mode, correct, "
                              "passed, speedup, points) VALUES (?,?,?,?,?,?,?,?)",
                              -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) fail("preparing to record the check", rc);
  sqlite3_bind_text(raw, 1, row.exercise.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 2, row.checked_at.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 3, row.source_hash.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 4, row.mode.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(raw, 5, row.correct ? 1 : 0);
  sqlite3_bind_int(raw, 6, row.passed ? 1 : 0);
  sqlite3_bind_double(raw, 7, row.speedup);
  sqlite3_bind_int(raw, 8, row.points);
  rc = sqlite3_step(raw);
  if (rc != SQLITE_DONE) fail("recording the check", rc);
}

std::optional<ExerciseProgress> History::exercise_progress(const std::string& exercise) {
  if (db_ == nullptr || columns_of("exercise_checks").empty()) return std::nullopt;  // read-only, no checks yet
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db_,
                              "SELECT COUNT(*), MAX(passed), MAX(correct), MAX(CASE WHEN correct THEN speedup "
                              "ELSE 0 END), MAX(points), MAX(checked_at) FROM exercise_checks WHERE exercise = ?",
                              -1, &raw, nullptr);
  Statement stmt(raw);
  if (rc != SQLITE_OK) fail("reading exercise progress", rc);
  sqlite3_bind_text(raw, 1, exercise.c_str(), -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(raw);
  if (rc != SQLITE_ROW) fail("reading exercise progress", rc);
  ExerciseProgress p;
  p.checks = sqlite3_column_int(raw, 0);
  if (p.checks == 0) return std::nullopt;
  p.passed = sqlite3_column_int(raw, 1) != 0;
  p.correct = sqlite3_column_int(raw, 2) != 0;
  p.best_speedup = sqlite3_column_double(raw, 3);
  p.best_points = sqlite3_column_int(raw, 4);
  const auto* at = sqlite3_column_text(raw, 5);
  p.last_checked_at = at != nullptr ? reinterpret_cast<const char*>(at) : "";
  return p;
}

}  // namespace dp
