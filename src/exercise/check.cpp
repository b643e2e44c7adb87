#include "exercise/check.hpp"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/machine.hpp"
#include "core/process.hpp"
#include "core/source_tree.hpp"
#include "exercise/workspace.hpp"  // read_text_file

namespace fs = std::filesystem;

namespace dp::ex {

namespace {

constexpr std::uint64_t kMiB = 1ull << 20;

// dontpanic-exercise-runner sits beside dontpanic (or one folder up, beside the tests' binary).
fs::path runner_path() {
  if (const char* p = std::getenv("DONTPANIC_EXERCISE_RUNNER"); p && *p) return p;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& dir : {self.parent_path(), self.parent_path().parent_path()})
    if (fs::exists(dir / "dontpanic-exercise-runner")) return dir / "dontpanic-exercise-runner";
  throw Error(fmt::format("dontpanic-exercise-runner is not beside {}; build it (cmake --build --preset "
                          "release) or set DONTPANIC_EXERCISE_RUNNER to its path", self.string()));
}

// True when this build of dontpanic (and so the runner) is itself built with AddressSanitizer:
// then the runner cannot take an address-space limit (ASan reserves terabytes of it).
constexpr bool runner_has_asan() {
  return std::string_view(DP_BUILD_TYPE).find("address") != std::string_view::npos;
}

// Splits the runner's output into its "@@ step" lines (the last one is where it was) and the rest.
std::pair<std::string, std::string> split_output(const std::string& output) {
  std::istringstream in(output);
  std::string line, last_step, rest;
  while (std::getline(in, line)) {
    if (line.rfind("@@ ", 0) == 0) last_step = line.substr(3);
    else rest += line + '\n';
  }
  return {last_step, rest};
}

// "check n = 4097 seed 12" -> "at n = 4097 (seed 12)"; "time n = 2048" -> "while timing at n = 2048".
std::string where(const std::string& step) {
  if (step.rfind("check ", 0) == 0) {
    const auto seed = step.find(" seed ");
    return fmt::format("at {} (seed {})", step.substr(6, seed - 6), step.substr(seed + 6));
  }
  if (step.rfind("time ", 0) == 0) return "while timing at " + step.substr(5);
  if (step == "done") return "after it finished";
  return "while loading it";
}

std::string signal_words(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  std::string name = abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
  switch (sig) {
    case SIGSEGV: return name + " (a read or write of memory it does not own)";
    case SIGBUS: return name + " (a misaligned or unmapped memory access)";
    case SIGFPE: return name + " (an arithmetic fault, such as an integer division by zero)";
    case SIGABRT: return name + " (abort: a failed assert, or the C++ runtime gave up)";
    case SIGILL: return name + " (an instruction this CPU does not have)";
    default: return name;
  }
}

std::string last_lines(const std::string& text, int lines) {
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  for (int i = 0; i < lines && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos || pos == 0 ? text : text.substr(pos + 1);
}


}  // namespace

fs::path exercise_dir(const ExerciseInfo& info) {
  return source_dir() / "exercises" / fmt::format("m{}", info.module) / info.id;
}

fs::path baseline_path(const ExerciseInfo& info) {
  return exercise_dir(info) / ("baseline" + fs::path(info.file).extension().string());
}

fs::path solution_path(const ExerciseInfo& info) {
  return exercise_dir(info) / ("solution" + fs::path(info.file).extension().string());
}

int score(const ExerciseInfo& info, bool correct, double speedup, double error, double baseline_error) {
  if (!correct) return 0;
  // How far along the road from the baseline to the target, on a log scale: 0 at the baseline, 1 at
  // the target; the gain is a speedup, or for accuracy how many times smaller the error is.
  double gain = speedup, target = info.target_speedup;
  if (info.goal == Goal::accuracy) {
    gain = error > 0 && baseline_error > 0 ? baseline_error / error : (error == 0 && baseline_error > 0 ? 1e300 : 1);
    target = baseline_error > 0 && info.target_error > 0 ? baseline_error / info.target_error : 1;
  }
  const double toward_target = gain <= 1 ? 0.0 : target <= 1 ? 1.0 : std::min(1.0, std::log(gain) / std::log(target));
  return static_cast<int>(std::lround(info.points * (0.2 + 0.8 * toward_target)));
}

bool reaches_target(const ExerciseInfo& info, double speedup, double error) {
  return info.goal == Goal::accuracy ? error >= 0 && error <= info.target_error : speedup >= info.target_speedup;
}

CheckResult check_exercise(const ExerciseDef& def, const fs::path& reader_file, const CheckOptions& options) {
  const ExerciseInfo& info = def.info;
  const fs::path dir = exercise_dir(info);
  CheckResult result;
  result.seed = options.seed ? *options.seed : std::random_device{}() % 1'000'000 + 1;

  // 1. Build the reader's file, then the baseline (cached after its first build). A shader is
  // compiled here only to report its errors; the runner compiles it again on its device.
  const bool shader = info.language == Language::glsl;
  result.build = shader ? check_shader(reader_file)
                        : build_shared_object({reader_file, dir, info.compile_flags, options.sanitize});
  if (!result.build.ok) {
    result.outcome = Outcome::compile_error;
    result.message = fmt::format("{} does not compile; the compiler said:", reader_file.filename().string());
    return result;
  }
  BuildOutcome baseline;
  if (shader) {
    baseline.shared_object = baseline_path(info);
  } else if (!options.sanitize) {
    baseline = build_shared_object({baseline_path(info), dir, info.compile_flags, false});
    if (!baseline.ok)
      throw Error(fmt::format("the exercise's own baseline ({}) does not compile here: {}\n{}",
                              baseline_path(info).string(), baseline.command, baseline.compiler_output));
  }

  // 2. Run the runner, fenced. Its report goes beside the builds (a shader check builds nothing,
  // so the folder may not exist yet).
  std::error_code ec;
  fs::create_directories(build_cache_dir(), ec);
  if (ec) throw Error(fmt::format("cannot create {}: {}; set DONTPANIC_EXERCISE_CACHE to a writable folder",
                                  build_cache_dir().string(), ec.message()));
  const fs::path report_path = build_cache_dir() / fmt::format(".report-{}-{}.json", getpid(), result.seed);
  std::vector<std::string> argv = {runner_path().string(), info.id, "--yours", result.build.shared_object.string(),
                                   "--report", report_path.string(), "--seed", std::to_string(result.seed)};
  if (options.sanitize) argv.push_back("--correctness-only");
  else argv.insert(argv.end(), {"--baseline", baseline.shared_object.string()});
  if (options.quick) argv.push_back("--quick");

  result.memory_limit_bytes = options.memory_limit_bytes > 0
                                  ? options.memory_limit_bytes
                                  : std::min<std::uint64_t>(4096 * kMiB, available_memory_bytes() / 4 * 3);
  ProcessFence fence{.max_output = 1 << 20};
  if (shader) {
    // GPU drivers reserve large address ranges, so no address-space limit; the reader's shader
    // allocates nothing on the host. --sanitize turns the Vulkan validation layers on instead.
    if (options.sanitize) fence.env.push_back("DONTPANIC_GPU_VALIDATION=1");
  } else if (options.sanitize || runner_has_asan()) {
    // AddressSanitizer needs a huge address space, so the limit is on what it allocates instead.
    const std::uint64_t mib = result.memory_limit_bytes / kMiB;
    fence.env.push_back(fmt::format("ASAN_OPTIONS=hard_rss_limit_mb={}:max_allocation_size_mb={}:detect_leaks=0", mib, mib));
    fence.env.push_back("UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1");
    if (options.sanitize && !runner_has_asan()) {
      const std::string runtime = asan_runtime();
      if (runtime.empty()) throw Unavailable("--sanitize needs the compiler's AddressSanitizer runtime (libasan), and it is not installed");
      fence.env.push_back("LD_PRELOAD=" + runtime);
    }
  } else {
    fence.memory_bytes = result.memory_limit_bytes;
  }
  fs::remove(report_path, ec);
  const ProcessResult run = run_process(argv, {}, options.time_limit_seconds, fence);
  auto [step, printed] = split_output(run.output);
  result.output = printed;

  // 3. What happened.
  if (run.timed_out) {
    result.outcome = Outcome::timed_out;
    result.message = fmt::format("your code ran past the time limit ({:g} s) and was stopped, {}: look for a loop "
                                 "that never ends (or raise the limit with --time-limit)",
                                 options.time_limit_seconds, where(step));
  } else if (run.exit_code > 128) {
    result.outcome = Outcome::crashed;
    result.message = fmt::format("your code was killed by {} {}; run `dontpanic exercise check {} --sanitize` "
                                 "to see the line", signal_words(run.exit_code - 128), where(step), info.id);
  } else if (run.output.find("ERROR: AddressSanitizer") != std::string::npos ||
             run.output.find("runtime error:") != std::string::npos ||
             run.output.find("ERROR: LeakSanitizer") != std::string::npos) {
    result.outcome = Outcome::crashed;
    const bool memory = run.output.find("allocation-size-too-big") != std::string::npos ||
                        run.output.find("rss-limit-exceeded") != std::string::npos ||
                        run.output.find("out of memory") != std::string::npos;
    result.message = memory ? fmt::format("your code asked for more memory than the limit ({}) {}",
                                          format_bytes(result.memory_limit_bytes), where(step))
                            : fmt::format("a sanitizer stopped your code {}; its report (above) names the line",
                                          where(step));
  } else if (run.exit_code != 0 || !fs::exists(report_path)) {
    result.outcome = Outcome::failed_to_run;
    const std::string said = last_lines(printed, 3);
    result.message = said.find("dontpanic-exercise-runner: ") != std::string::npos
                         ? said.substr(said.find("dontpanic-exercise-runner: ") + 27)
                         : fmt::format("the runner stopped with exit code {} {}", run.exit_code, where(step));
    while (!result.message.empty() && result.message.back() == '\n') result.message.pop_back();
  } else {
    result.report = nlohmann::json::parse(read_text_file(report_path)).get<Report>();
    fs::remove(report_path, ec);
    const Report& r = *result.report;
    result.outcome = r.correct ? Outcome::correct : Outcome::wrong;
    if (r.failure) {
      const bool threw = r.failure->detail.rfind("your code threw", 0) == 0;
      result.message = threw && r.failure->detail.find("bad_alloc") != std::string::npos
                           ? fmt::format("your code ran out of memory at {} = {} (seed {}): it threw std::bad_alloc "
                                         "under the limit of {} (--memory-limit changes it)",
                                         info.size_name, r.failure->n, r.failure->seed,
                                         format_bytes(result.memory_limit_bytes))
                           : fmt::format("wrong at {} = {} (seed {}): {}", info.size_name, r.failure->n,
                                         r.failure->seed, r.failure->detail);
    }
    result.speedup = r.speedup;
    result.error = r.worst_error;
    result.baseline_error = r.worst_baseline_error;
  }
  fs::remove(report_path, ec);

  // 4. The score.
  result.points = score(info, result.outcome == Outcome::correct, result.speedup, result.error, result.baseline_error);
  result.passed = result.outcome == Outcome::correct && !options.sanitize && reaches_target(info, result.speedup, result.error);
  return result;
}

}  // namespace dp::ex
