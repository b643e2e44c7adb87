#include "exercise/commands.hpp"

#include <algorithm>
#include <filesystem>
#include <ostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/history.hpp"
#include "core/result.hpp"   // now_iso8601
#include "core/runner.hpp"   // write_file_atomically
#include "core/table.hpp"
#include "exercise/workspace.hpp"

namespace fs = std::filesystem;

namespace dp::ex {

namespace {

// Progress is kept in the history database; a database that cannot be opened must not stop the
// reader from working: the caller says so and carries on.
std::optional<ExerciseProgress> progress_of(const std::string& id, std::string* problem = nullptr) {
  try {
    History history(History::default_path(), History::Access::read_only);
    return history.exercise_progress(id);
  } catch (const Error& e) {
    if (problem != nullptr) *problem = e.what();
    return std::nullopt;
  }
}

std::string status_words(const ExerciseInfo& info, const std::optional<ExerciseProgress>& p) {
  if (p && p->passed) return "passed";
  if (p && p->correct) return "correct";
  if (p) return "checked";
  return fs::exists(reader_file(info)) ? "started" : "not started";
}

bool selected(const ExerciseInfo& info, const ListFilter& f) {
  if (f.module && info.module != *f.module) return false;
  if (f.level >= 0 && info.level > f.level) return false;
  if (!f.tracks.empty() && !info.tracks.empty() &&
      std::none_of(info.tracks.begin(), info.tracks.end(), [&](const std::string& t) {
        return std::find(f.tracks.begin(), f.tracks.end(), t) != f.tracks.end();
      }))
    return false;
  return true;
}


const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::compile_error: return "compile_error";
    case Outcome::failed_to_run: return "failed_to_run";
    case Outcome::crashed: return "crashed";
    case Outcome::timed_out: return "timed_out";
    case Outcome::wrong: return "wrong";
    case Outcome::correct: return "correct";
  }
  return "?";
}

nlohmann::json check_json(const ExerciseInfo& info, const CheckResult& r, bool sanitize) {
  nlohmann::json timed = nlohmann::json::array();
  if (r.report)
    for (const auto& t : r.report->timed)
      timed.push_back({{"n", t.n}, {"baseline_median_ns", t.baseline.median_ns},
                       {"yours_median_ns", t.yours.median_ns}, {"yours_p10_ns", t.yours.p10_ns},
                       {"yours_p90_ns", t.yours.p90_ns}, {"speedup", t.speedup},
                       {"baseline_error", t.baseline_error}, {"yours_error", t.yours_error}});
  return {{"exercise", info.id}, {"outcome", outcome_name(r.outcome)}, {"message", r.message},
          {"seed", r.seed}, {"sanitize", sanitize}, {"build_reused", r.build.reused},
          {"cases_checked", r.report ? r.report->cases_run : 0}, {"timed", timed},
          {"goal", info.goal == Goal::accuracy ? "accuracy" : "speed"}, {"speedup", r.speedup},
          {"target_speedup", info.target_speedup}, {"error", r.error}, {"baseline_error", r.baseline_error},
          {"target_error", info.target_error}, {"points", r.points},
          {"max_points", info.points}, {"passed", r.passed}, {"checked_at", now_iso8601()}};
}

// An accuracy exercise: the error is the score, and the time is shown for its cost.
void print_accuracy(const ExerciseInfo& info, const CheckResult& r, std::ostream& out) {
  Table table({info.size_name, "baseline " + info.error_name, "yours", "target", "baseline time", "yours"});
  for (const auto& t : r.report->timed)
    table.add_row({std::to_string(t.n), fmt::format("{:.3g}", t.baseline_error), fmt::format("{:.3g}", t.yours_error),
                   fmt::format("{:.3g}", info.target_error), format_duration_ns(t.baseline.median_ns),
                   format_duration_ns(t.yours.median_ns)});
  table.print(out);
  out << '\n';
  if (r.passed)
    out << fmt::format("✓ passed: {} {:.3g} (target {:.3g}), at {:.2f}x the baseline's speed; {} of {} points. "
                       "`dontpanic exercise solution {}` shows ours.\n",
                       info.error_name, r.error, info.target_error, r.speedup, info.points, info.points, info.id);
  else
    out << fmt::format("· correct, {} {:.3g}; the target is {:.3g} ({} of {} points so far). Stuck? "
                       "`dontpanic exercise hint {}`\n",
                       info.error_name, r.error, info.target_error, r.points, info.points, info.id);
}

void print_result(const ExerciseInfo& info, const CheckResult& r, bool sanitize, std::ostream& out) {
  if (r.outcome == Outcome::compile_error) {
    out << r.message << "\n\n" << r.build.compiler_output << '\n';
    return;
  }
  if (!r.output.empty() && r.outcome != Outcome::correct)
    out << "your code printed (last lines):\n" << r.output << '\n';
  if (r.outcome != Outcome::correct) {
    out << "✗ " << r.message << '\n';
    out << fmt::format("  replay this input: dontpanic exercise check {} --seed {}\n", info.id, r.seed);
    return;
  }
  out << fmt::format("✓ correct on {} inputs ({} sizes from {} = {} to {}, {} seeds each; compared: {})\n",
                     r.report->cases_run, info.check_sizes.size(), info.size_name, info.check_sizes.front(),
                     info.check_sizes.back(), info.seeds, info.tolerance);
  if (sanitize) {
    out << "  AddressSanitizer and UBSan found nothing. (Not timed: a sanitized build is slow; check "
           "without --sanitize for the speedup.)\n";
    return;
  }
  out << '\n';
  if (info.goal == Goal::accuracy) {
    print_accuracy(info, r, out);
    return;
  }
  Table table({info.size_name, "baseline", "yours", "spread (p10-p90)", "speedup", "target"});
  for (const auto& t : r.report->timed)
    table.add_row({std::to_string(t.n), format_duration_ns(t.baseline.median_ns), format_duration_ns(t.yours.median_ns),
                   fmt::format("{}-{}", format_duration_ns(t.yours.p10_ns), format_duration_ns(t.yours.p90_ns)),
                   fmt::format("{:.2f}x", t.speedup), fmt::format("{:g}x", info.target_speedup)});
  table.print(out);
  out << '\n';
  if (r.passed)
    out << fmt::format("✓ passed: {:.2f}x the baseline (target {:g}x), {} of {} points. "
                       "`dontpanic exercise solution {}` shows ours.\n",
                       r.speedup, info.target_speedup, r.points, info.points, info.id);
  else
    out << fmt::format("· correct, {:.2f}x the baseline; the target is {:g}x ({} of {} points so far). "
                       "Stuck? `dontpanic exercise hint {}`\n",
                       r.speedup, info.target_speedup, r.points, info.points, info.id);
}

}  // namespace

const ExerciseDef& exercise_or_error(const std::string& id) {
  if (const ExerciseDef* def = find_exercise(id)) return *def;
  std::vector<std::string> ids;
  for (const auto& e : exercises()) ids.push_back(e.info.id);
  throw Error(fmt::format("no exercise '{}'; the exercises are: {} (dontpanic exercise list)", id, fmt::join(ids, ", ")));
}

void print_list(const ListFilter& filter, bool json, std::ostream& out) {
  std::string problem;
  nlohmann::json all = nlohmann::json::array();
  Table table({"id", "module", "level", "tracks", "title", "status", "best", "points"});
  for (const auto& e : exercises()) {
    const ExerciseInfo& info = e.info;
    if (!selected(info, filter)) continue;
    const auto p = progress_of(info.id, &problem);
    const std::string status = status_words(info, p);
    all.push_back({{"id", info.id}, {"title", info.title}, {"module", info.module}, {"level", info.level},
                   {"tracks", info.tracks}, {"builds_on", info.builds_on}, {"status", status},
                   {"best_speedup", p ? p->best_speedup : 0.0}, {"points", p ? p->best_points : 0},
                   {"max_points", info.points}, {"target_speedup", info.target_speedup}});
    table.add_row({info.id, fmt::format("M{}", info.module), fmt::format("L{}", info.level),
                   info.tracks.empty() ? "-" : fmt::format("{}", fmt::join(info.tracks, ",")), info.title, status,
                   p && p->best_speedup > 0 ? fmt::format("{:.2f}x", p->best_speedup) : "-",
                   fmt::format("{}/{}", p ? p->best_points : 0, info.points)});
  }
  if (json) {
    out << all.dump(2) << '\n';
  } else if (table.empty()) {
    out << "no exercise matches these filters\n";
  } else {
    table.print(out);
    out << "\nStart one: dontpanic exercise start <id>   (your files go to " << workspace_root().string() << ")\n";
  }
  if (!problem.empty()) out << "note: progress could not be read: " << problem << '\n';
}

void print_start(const ExerciseDef& def, std::ostream& out) {
  const ExerciseInfo& info = def.info;
  const fs::path file = reader_file(info);
  if (!start_exercise(info))
    out << fmt::format("{} is already started: your file is {} (left as it is).\n"
                       "To start over from the baseline: dontpanic exercise reset {}\n",
                       info.id, file.string(), info.id);
  else
    out << fmt::format("Started {}: {}\n  your file:  {}  (a copy of the baseline: make it faster)\n",
                       info.id, info.title, file.string());
  out << fmt::format("  the task:   {}\n", (exercise_dir(info) / "README.md").string());
  if (!info.header.empty()) out << fmt::format("  the header: {}\n", (exercise_dir(info) / info.header).string());
  out << fmt::format("\nThen: dontpanic exercise check {}    (or: dontpanic exercise watch {}, which re-checks on save)\n",
                     info.id, info.id);
}

void print_reset(const ExerciseDef& def, std::ostream& out) {
  const fs::path kept = reset_exercise(def.info);
  out << fmt::format("{} is the baseline again.\n", reader_file(def.info).string());
  if (!kept.empty()) out << fmt::format("Your version was kept as {}\n", kept.string());
}

void print_hint(const ExerciseDef& def, std::optional<int> number, std::ostream& out) {
  const auto hints = load_hints(def.info);
  if (hints.empty()) throw Error(fmt::format("exercise {} has no hints", def.info.id));
  const int seen = hints_seen(def.info);
  const int n = number ? *number : std::min<int>(seen + 1, static_cast<int>(hints.size()));
  if (n < 1 || n > static_cast<int>(hints.size()))
    throw Error(fmt::format("exercise {} has hints 1 to {}; there is no hint {}", def.info.id, hints.size(), n));
  out << fmt::format("Hint {} of {} for {}:\n\n{}\n", n, hints.size(), def.info.id, hints[static_cast<std::size_t>(n - 1)]);
  if (n > seen) set_hints_seen(def.info, n);
  if (n < static_cast<int>(hints.size()) && !number)
    out << fmt::format("\n(the next one: dontpanic exercise hint {})\n", def.info.id);
}

void print_solution(const ExerciseDef& def, bool force, std::ostream& out) {
  std::string problem;
  const auto p = progress_of(def.info.id, &problem);
  if (!force && !(p && p->passed)) {
    const std::string target = def.info.goal == Goal::accuracy
                                   ? fmt::format("{} at most {:.3g}", def.info.error_name, def.info.target_error)
                                   : fmt::format("{:g}x the baseline", def.info.target_speedup);
    throw Error(fmt::format("the solution opens once your file passes (correct, and {}){}; "
                            "to see it anyway: dontpanic exercise solution {} --force",
                            target, problem.empty() ? "" : " (progress unreadable: " + problem + ")", def.info.id));
  }
  const fs::path path = solution_path(def.info);
  out << fmt::format("// {}\n", path.string()) << read_text_file(path);
}

void print_status(std::ostream& out) {
  std::string problem;
  Table table({"module", "exercises", "started", "passed", "points"});
  int total = 0, total_max = 0;
  for (int module = 0; module <= 5; ++module) {
    int count = 0, started = 0, passed = 0, points = 0, max_points = 0;
    for (const auto& e : exercises()) {
      if (e.info.module != module) continue;
      const auto p = progress_of(e.info.id, &problem);
      ++count;
      started += fs::exists(reader_file(e.info)) || p ? 1 : 0;
      passed += p && p->passed ? 1 : 0;
      points += p ? p->best_points : 0;
      max_points += e.info.points;
    }
    if (count == 0) continue;
    total += points;
    total_max += max_points;
    table.add_row({fmt::format("M{}", module), std::to_string(count), std::to_string(started), std::to_string(passed),
                   fmt::format("{}/{}", points, max_points)});
  }
  table.print(out);
  out << fmt::format("\n{} of {} points.\n", total, total_max);
  if (!problem.empty()) out << "note: progress could not be read: " << problem << '\n';
}

int run_check(const ExerciseDef& def, const CheckCommand& command, std::ostream& out, std::ostream& err) {
  const ExerciseInfo& info = def.info;
  const fs::path file = reader_file(info);
  if (!fs::exists(file))
    throw Error(fmt::format("{} is not started (no {}); first: dontpanic exercise start {}", info.id, file.string(), info.id));
  const std::string source = read_text_file(file);
  out << fmt::format("checking {} ({}{})...\n", file.string(), command.options.sanitize ? "ASan + UBSan build" : "Release, -march=native",
                     ", seed " + (command.options.seed ? std::to_string(*command.options.seed) : std::string("fresh")));
  out.flush();
  const CheckResult r = check_exercise(def, file, command.options);
  print_result(info, r, command.options.sanitize, out);

  // Keep the result: the JSON first (it does not depend on the database), then the progress.
  if (!command.json_path.empty())
    write_file_atomically(command.json_path, check_json(info, r, command.options.sanitize).dump(2) + "\n");
  try {
    History history(History::default_path());
    history.record_exercise_check({.exercise = info.id, .checked_at = now_iso8601(), .source_hash = fmt::format("{:016x}", fnv1a64(source)),
                                   .mode = command.options.sanitize ? "sanitize" : "timed",
                                   .correct = r.outcome == Outcome::correct, .passed = r.passed,
                                   .speedup = r.speedup, .points = r.points});
  } catch (const Error& e) {
    err << "dontpanic: warning: this check was not saved to your progress: " << e.what() << '\n';
  }
  return r.outcome == Outcome::correct ? 0 : 1;
}

}  // namespace dp::ex
