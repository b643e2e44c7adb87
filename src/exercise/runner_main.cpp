// dontpanic-exercise-runner — the child process that runs the reader's code.
//
// `dontpanic exercise check` builds the reader's file and starts this program under a time and a
// memory limit, so that whatever the reader's code does (crash, loop forever, allocate 64 GiB)
// happens here and not in dontpanic. It loads the reader's build (and the baseline's), checks the
// reader's output on every check size and seed, then times baseline and reader on the same input.
//
// Before each step it prints one "@@ <step>" line on stdout: if this process dies, the last one
// tells the parent where ("at n = 4097"). The outcome goes to --report as JSON (report.hpp).
//
//   dontpanic-exercise-runner <id> --yours Y.so [--baseline B.so] --report R.json --seed S
//                             [--correctness-only] [--quick]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/measure.hpp"
#include "core/runner.hpp"  // write_file_atomically
#include "exercise/exercise.hpp"
#include "exercise/report.hpp"

namespace {

using dp::ex::Case;
using dp::ex::Code;
using dp::ex::ExerciseDef;
using dp::ex::Report;

// Tells the parent what comes next, unbuffered, so it is there even if the next step crashes.
void step(const std::string& what) {
  std::cout << "@@ " << what << std::endl;
}

// Runs `body`, turning an exception out of the reader's code into a failed verdict.
template <typename Body>
std::optional<std::string> guarded(Body&& body) {
  try {
    body();
    return std::nullopt;
  } catch (const std::bad_alloc&) {
    return std::string("your code threw std::bad_alloc: it asked for more memory than the limit allows");
  } catch (const std::exception& e) {
    return fmt::format("your code threw an exception: {}", e.what());
  }
}

// Correctness first: every check size, every seed, fresh input each time. Stops at the first
// case that fails, whose detail names the mismatching indices.
void check_all(const ExerciseDef& def, const Code& yours, std::uint64_t seed, Report& report) {
  report.correct = true;
  for (const std::int64_t n : def.info.check_sizes) {
    for (int s = 0; s < def.info.seeds; ++s) {
      const std::uint64_t case_seed = seed + static_cast<std::uint64_t>(s);
      step(fmt::format("check {} = {} seed {}", def.info.size_name, n, case_seed));
      std::unique_ptr<Case> c = def.make_case(n, case_seed);
      dp::ex::CaseOutcome outcome{.n = n, .seed = case_seed};
      if (auto thrown = guarded([&] { c->bind(yours)(); })) {
        outcome.detail = *thrown;
      } else {
        const dp::ex::Verdict v = c->check();
        outcome.passed = v.passed;
        outcome.detail = v.detail;
      }
      ++report.cases_run;
      if (!outcome.passed) {
        report.correct = false;
        report.failure = outcome;
        return;
      }
    }
  }
}

// Timing: baseline and reader on one input per size, each checked first, then measured in turn.
void time_all(const ExerciseDef& def, const Code& yours, const Code& baseline, std::uint64_t seed,
              bool quick, Report& report) {
  const dp::MeasureConfig config = quick ? dp::MeasureConfig{3, 0.01, 0.005} : dp::MeasureConfig{5, 0.02, 0.02};
  double log_sum = 0;
  for (const std::int64_t n : def.info.timed_sizes) {
    step(fmt::format("time {} = {}", def.info.size_name, n));
    std::unique_ptr<Case> c = def.make_case(n, seed);
    const auto run_baseline = c->bind(baseline);
    const auto run_yours = c->bind(yours);
    // The baseline's output first (its error, for accuracy exercises), then the reader's, checked.
    run_baseline();
    const double baseline_error = c->check().error;
    if (auto thrown = guarded(run_yours)) {
      report.correct = false;
      report.failure = dp::ex::CaseOutcome{.n = n, .seed = seed, .detail = *thrown};
      return;
    }
    const dp::ex::Verdict v = c->check();
    if (!v.passed) {
      report.correct = false;
      report.failure = dp::ex::CaseOutcome{.n = n, .seed = seed, .detail = v.detail};
      return;
    }
    dp::ex::TimedSize t{.n = n, .baseline_error = baseline_error, .yours_error = v.error};
    report.worst_error = std::max(report.worst_error, v.error);
    report.worst_baseline_error = std::max(report.worst_baseline_error, baseline_error);
    // GPU cases time on the GPU's clock (Case::time); the others with Google Benchmark.
    const auto timed = [&](const Code& code, const std::function<void()>& call) {
      if (auto own = c->time(code, quick)) return *own;
      return dp::measure(code.label(), call, config);
    };
    t.baseline = timed(baseline, run_baseline);
    t.yours = timed(yours, run_yours);
    t.speedup = t.baseline.median_ns / t.yours.median_ns;
    log_sum += std::log(t.speedup);
    report.timed.push_back(t);
  }
  if (!report.timed.empty()) report.speedup = std::exp(log_sum / static_cast<double>(report.timed.size()));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs one exercise's checks and timing on a build of the reader's file (started by "
               "`dontpanic exercise check`)."};
  std::string id, yours_path, baseline_path, report_path;
  std::uint64_t seed = 1;
  bool correctness_only = false, quick = false;
  app.add_option("exercise", id)->required();
  app.add_option("--yours", yours_path, "the reader's build (a shared object)")->required();
  app.add_option("--baseline", baseline_path, "the baseline's build");
  app.add_option("--report", report_path, "where the JSON report goes")->required();
  app.add_option("--seed", seed, "first seed of the random inputs");
  app.add_flag("--correctness-only", correctness_only, "check, do not time");
  app.add_flag("--quick", quick, "shorter timing (tests)");
  CLI11_PARSE(app, argc, argv);

  try {
    const ExerciseDef* def = dp::ex::find_exercise(id);
    if (def == nullptr) throw dp::Error(fmt::format("no exercise '{}' in this build", id));
    Report report{.exercise = id, .seed = seed};
    const Code yours(yours_path, "yours", def->info.language);
    check_all(*def, yours, seed, report);
    if (report.correct && !correctness_only && !baseline_path.empty()) {
      const Code baseline(baseline_path, "baseline", def->info.language);
      time_all(*def, yours, baseline, seed, quick, report);
    }
    step("done");
    dp::write_file_atomically(report_path, nlohmann::json(report).dump(2) + "\n");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "dontpanic-exercise-runner: " << e.what() << '\n';
    return 2;
  }
}
