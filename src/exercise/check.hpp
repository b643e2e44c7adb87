// check.hpp — `dontpanic exercise check`: build the reader's file, run it fenced, score it.
//
// The steps, each of which can end the check with a clear message:
//   1. build the reader's file (and the baseline) into shared objects (builder.hpp); a compile
//      error ends here, with the compiler's own words;
//   2. start dontpanic-exercise-runner in a child process with a time limit and a memory limit;
//      it checks the reader's output on every size and seed, then times baseline and reader;
//   3. read its report, or, if it died, say how (signal, time limit, sanitizer) and where;
//   4. score: 0 points if wrong; else a fifth of the points for being right, the rest growing
//      with log(speedup) up to the target (accuracy exercises: with log(baseline error / yours)
//      up to log(baseline error / target error)).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "exercise/builder.hpp"
#include "exercise/exercise.hpp"
#include "exercise/report.hpp"

namespace dp::ex {

struct CheckOptions {
  bool sanitize = false;                // ASan + UBSan build, correctness only
  std::optional<std::uint64_t> seed;    // default: a fresh one, printed so a failure can be replayed
  double time_limit_seconds = 120;      // the whole run of the reader's code
  std::uint64_t memory_limit_bytes = 0; // 0: 3/4 of the memory available now, at most 4 GiB
  bool quick = false;                   // shorter timing (tests)
};

enum class Outcome {
  compile_error,  // the reader's file did not compile
  failed_to_run,  // it compiled, but could not be loaded or lacks a function
  crashed,        // killed by a signal, or stopped by a sanitizer
  timed_out,      // ran past the time limit
  wrong,          // ran, and an output differs from the reference
  correct,        // every check passed (and, unless --sanitize, it was timed)
};

struct CheckResult {
  Outcome outcome = Outcome::failed_to_run;
  BuildOutcome build;            // the reader's build
  std::optional<Report> report;  // when the runner finished
  std::string message;           // what happened, in a sentence or two, for the terminal
  std::string output;            // what the reader's code printed (runner lines removed)
  std::uint64_t seed = 0;
  std::uint64_t memory_limit_bytes = 0;
  double speedup = 0;            // 0 when not timed
  double error = -1;             // accuracy exercises: the worst error of yours (-1: none)
  double baseline_error = -1;    // and of the baseline
  int points = 0;
  bool passed = false;           // correct and at the target (speed or error)
};

// Points (see the header comment); 0 when not correct. `error` and `baseline_error` matter for
// accuracy exercises only.
int score(const ExerciseInfo& info, bool correct, double speedup, double error = -1, double baseline_error = -1);

// Whether a correct, timed result reaches the exercise's target.
bool reaches_target(const ExerciseInfo& info, double speedup, double error);

CheckResult check_exercise(const ExerciseDef& def, const std::filesystem::path& reader_file,
                           const CheckOptions& options);

// exercises/m<module>/<id>/ in the source checkout, and the baseline and solution in it
// (baseline.cpp and solution.cpp; baseline.comp and solution.comp for a shader).
std::filesystem::path exercise_dir(const ExerciseInfo& info);
std::filesystem::path baseline_path(const ExerciseInfo& info);
std::filesystem::path solution_path(const ExerciseInfo& info);

}  // namespace dp::ex
