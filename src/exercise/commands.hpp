// commands.hpp — what each `dontpanic exercise ...` command does, apart from parsing its options
// (src/cli/cmd_exercise.cpp) so that watch mode can call them too.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "exercise/check.hpp"

namespace dp::ex {

// The exercise named `id`, or dp::Error listing the ids there are.
const ExerciseDef& exercise_or_error(const std::string& id);

struct ListFilter {
  std::optional<int> module;
  int level = -1;                   // -1: all; N: up to N
  std::vector<std::string> tracks;  // empty: all
};
void print_list(const ListFilter& filter, bool json, std::ostream& out);

void print_start(const ExerciseDef& def, std::ostream& out);   // start (never overwrites)
void print_reset(const ExerciseDef& def, std::ostream& out);   // reset (keeps a .bak)
void print_hint(const ExerciseDef& def, std::optional<int> number, std::ostream& out);
// The reference solution, when a check passed or `force`; else dp::Error saying why not.
void print_solution(const ExerciseDef& def, bool force, std::ostream& out);
void print_status(std::ostream& out);  // points per module

struct CheckCommand {
  CheckOptions options;
  std::string json_path;  // "" = none
};
// Builds, runs, prints and records one check. Returns the exit code: 0 when correct, 1 when not.
int run_check(const ExerciseDef& def, const CheckCommand& command, std::ostream& out, std::ostream& err);

}  // namespace dp::ex
