// dontpanic exercise — list, start, check, watch, hint, solution, reset, status.
//
// The work is in src/exercise/ (commands.hpp); this file turns options into calls.
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/runner.hpp"  // check_output_file
#include "exercise/commands.hpp"
#include "exercise/watch.hpp"

namespace dp::cli {

namespace {

struct ExerciseOptions {
  std::string id;
  // list
  std::optional<int> module;
  int level = -1;
  std::vector<std::string> tracks;
  bool json = false;
  // check, watch
  bool sanitize = false;
  std::string json_path;
  std::optional<std::uint64_t> seed;
  double time_limit = 120;
  std::uint64_t memory_limit_mib = 0;
  bool quick = false;
  // hint, solution
  std::optional<int> hint_number;
  bool force = false;
};

ex::CheckCommand check_command(const ExerciseOptions& o) {
  if (o.time_limit <= 0 || o.time_limit > 3600)
    throw Error(fmt::format("--time-limit {:g} is out of range; use 1 to 3600 seconds", o.time_limit));
  if (!o.json_path.empty()) check_output_file(o.json_path, "the check's JSON");
  return {.options = {.sanitize = o.sanitize, .seed = o.seed, .time_limit_seconds = o.time_limit,
                      .memory_limit_bytes = o.memory_limit_mib << 20, .quick = o.quick},
          .json_path = o.json_path};
}

CLI::App* add_id(CLI::App* cmd, ExerciseOptions& o) {
  cmd->add_option("id", o.id, "Exercise id (dontpanic exercise list)")->required();
  return cmd;
}

void add_check_options(CLI::App* cmd, ExerciseOptions& o) {
  cmd->add_flag("--sanitize", o.sanitize, "Build with AddressSanitizer + UBSan and check correctness only");
  cmd->add_option("--json", o.json_path, "Also write the result as JSON to this file");
  cmd->add_option("--seed", o.seed, "Seed of the random inputs (a failed check prints the one to replay)");
  cmd->add_option("--time-limit", o.time_limit, "Seconds your code may run in all (default 120)");
  cmd->add_option("--memory-limit", o.memory_limit_mib, "MiB your code may use (default: 3/4 of free memory, at most 4096)");
  cmd->add_flag("--quick", o.quick, "Shorter timing: faster, noisier speedups");
}

}  // namespace

void add_exercise_command(CLI::App& app, CliState& state) {
  auto o = std::make_shared<ExerciseOptions>();
  auto* ex = app.add_subcommand("exercise", "Exercises: improve a slow baseline; checked and scored on this machine");
  ex->require_subcommand(1);

  auto* list = ex->add_subcommand("list", "Every exercise with your progress");
  list->add_option("--module", o->module, "Only this module (0-5)");
  list->add_option("--level", o->level, "Up to this level (1-5)");
  list->add_option("--track", o->tracks, "Add this track's exercises (dl, cg, cv, sp, all)");
  list->add_flag("--json", o->json, "Print JSON instead of a table");
  list->callback([o, &state] {
    state.action = [o] {
      if (o->module) check_module(*o->module, "--module");
      if (o->level != -1) check_level(o->level, "--level");
      ex::print_list({.module = o->module, .level = o->level, .tracks = check_tracks(o->tracks)}, o->json, std::cout);
      return kOk;
    };
  });

  add_id(ex->add_subcommand("start", "Copy the baseline into your workspace (never overwrites your file)"), *o)
      ->callback([o, &state] {
        state.action = [o] { ex::print_start(ex::exercise_or_error(o->id), std::cout); return kOk; };
      });
  add_id(ex->add_subcommand("reset", "Put the baseline back in your workspace (your file is kept as .bak)"), *o)
      ->callback([o, &state] {
        state.action = [o] { ex::print_reset(ex::exercise_or_error(o->id), std::cout); return kOk; };
      });

  auto* check = add_id(ex->add_subcommand("check", "Build your file, check it against the reference, time it"), *o);
  add_check_options(check, *o);
  check->callback([o, &state] {
    state.action = [o] {
      const auto& def = ex::exercise_or_error(o->id);
      return ex::run_check(def, check_command(*o), std::cout, std::cerr) == 0 ? kOk : kCheckFailed;
    };
  });

  auto* watch = add_id(ex->add_subcommand("watch", "Re-check on every save (keys: h hint, c check, r reset, l list, q quit)"), *o);
  add_check_options(watch, *o);
  watch->callback([o, &state] {
    state.action = [o] {
      const auto& def = ex::exercise_or_error(o->id);
      return ex::watch_exercise(def, check_command(*o), std::cout, std::cerr) == 0 ? kOk : kCheckFailed;
    };
  });

  auto* hint = add_id(ex->add_subcommand("hint", "The next hint (or hint N)"), *o);
  hint->add_option("number", o->hint_number, "Which hint (1-3)");
  hint->callback([o, &state] {
    state.action = [o] { ex::print_hint(ex::exercise_or_error(o->id), o->hint_number, std::cout); return kOk; };
  });

  auto* solution = add_id(ex->add_subcommand("solution", "Our solution, once your file passes"), *o);
  solution->add_flag("--force", o->force, "Show it before you pass");
  solution->callback([o, &state] {
    state.action = [o] { ex::print_solution(ex::exercise_or_error(o->id), o->force, std::cout); return kOk; };
  });

  ex->add_subcommand("status", "Your points per module")->callback([&state] {
    state.action = [] { ex::print_status(std::cout); return kOk; };
  });
}

}  // namespace dp::cli
