#include "exercise/workspace.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "exercise/check.hpp"  // baseline_path

namespace fs = std::filesystem;

namespace dp::ex {

namespace {
void copy_baseline(const ExerciseInfo& info, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (ec) throw Error(fmt::format("cannot create {}: {}; set DONTPANIC_WORKSPACE to a folder you can write",
                                  to.parent_path().string(), ec.message()));
  fs::copy_file(baseline_path(info), to, fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(fmt::format("cannot copy the baseline to {}: {}", to.string(), ec.message()));
  // The baseline in the source tree may be read-only; the reader's copy is theirs to edit.
  fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::add, ec);
}

fs::path hints_file(const ExerciseInfo& info) { return reader_file(info).parent_path() / ".hints-seen"; }
}  // namespace

fs::path workspace_root() {
  if (const char* w = std::getenv("DONTPANIC_WORKSPACE"); w && *w) return fs::absolute(w);
  return fs::absolute("exercises-work");
}

fs::path reader_file(const ExerciseInfo& info) { return workspace_root() / info.id / info.file; }

bool start_exercise(const ExerciseInfo& info) {
  const fs::path file = reader_file(info);
  if (fs::exists(file)) return false;
  copy_baseline(info, file);
  return true;
}

fs::path reset_exercise(const ExerciseInfo& info) {
  const fs::path file = reader_file(info);
  fs::path kept;
  if (fs::exists(file)) {
    kept = file;
    kept += ".bak";
    for (int i = 2; fs::exists(kept); ++i) {
      kept = file;
      kept += fmt::format(".bak.{}", i);
    }
    std::error_code ec;
    fs::rename(file, kept, ec);
    if (ec) throw Error(fmt::format("cannot keep your file as {}: {}; nothing was changed", kept.string(), ec.message()));
  }
  copy_baseline(info, file);
  return kept;
}

std::string read_text_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot read {}", path.string()));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> load_hints(const ExerciseInfo& info) {
  std::istringstream in(read_text_file(exercise_dir(info) / "hints.md"));
  std::vector<std::string> hints;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) hints.emplace_back();
    else if (!hints.empty()) hints.back() += line + '\n';
  }
  for (auto& h : hints)
    while (!h.empty() && (h.back() == '\n' || h.front() == '\n')) h = h.back() == '\n' ? h.substr(0, h.size() - 1) : h.substr(1);
  return hints;
}

int hints_seen(const ExerciseInfo& info) {
  std::ifstream in(hints_file(info));
  int n = 0;
  return (in >> n) && n > 0 ? n : 0;
}

void set_hints_seen(const ExerciseInfo& info, int count) {
  std::error_code ec;
  fs::create_directories(hints_file(info).parent_path(), ec);
  std::ofstream(hints_file(info)) << count << '\n';  // best effort: losing it only repeats a hint
}

}  // namespace dp::ex
