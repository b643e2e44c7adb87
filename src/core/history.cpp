#include "core/history.hpp"

#include <sqlite3.h>

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
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0')
    base = xdg;
  else if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0')
    base = fs::path(home) / ".local" / "share";
  else
    base = ".";
  return (base / "dontpanic" / "history.sqlite").string();
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

void History::exec(const char* sql) {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) fail(sql, rc);
}

History::History(const std::string& path) : path_(path) {
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec)
    throw Error(fmt::format("cannot create folder {} for the history database: {}; set "
                            "XDG_DATA_HOME to a writable folder",
                            parent.string(), ec.message()));
  const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
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
    if (version < kSchemaVersion) {
      exec("BEGIN IMMEDIATE");
      exec(
          "CREATE TABLE IF NOT EXISTS runs ("
          "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
          "  lab TEXT NOT NULL, started_at TEXT NOT NULL, cpu TEXT, hostname TEXT, build TEXT,"
          "  quick INTEGER NOT NULL, passed INTEGER NOT NULL,"
          "  headlines TEXT NOT NULL, result TEXT NOT NULL);"
          "CREATE INDEX IF NOT EXISTS runs_by_lab ON runs(lab, id);"
          "PRAGMA user_version = 1;");
      exec("COMMIT");
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

}  // namespace dp
