// exercise.hpp — what an exercise declares, and the one interface its checks implement.
//
// An exercise is a folder, exercises/m<module>/<id>/: README.md (the task), baseline.cpp (slow
// and correct: the reader's file starts as a copy), solution.cpp (ours), hints.md, a header that
// declares the function(s) the reader writes (extern "C", so the harness finds them by name), and
// exercise.cpp, which registers an ExerciseDef: the metadata below and a factory for Cases.
//
// A Case is one input of one size from one seed: it owns the input, the output buffer and the
// reference answer. The harness (runner_main.cpp, in a child process) asks it to run the reader's
// code, then to check the output; for timing it runs the baseline and the reader's code on the
// same Case, alternately.
//
// Index
//   Code           a loaded build of one file (the reader's, the baseline): find a function by name
//   Verdict        the outcome of one check: passed, and what differed
//   Case           one seeded input: bind(code) -> a call to time; check() -> Verdict
//   ExerciseInfo   id, title, module, level, tracks, sizes, tolerance, target, points
//   ExerciseDef    info + make_case(n, seed)
//   registry       exercises(), find_exercise(), ExerciseRegistration
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/measure.hpp"  // Stats

namespace dp::ex {

// What the reader writes: a C++ file (built into a shared object) or a GLSL compute shader (built
// into SPIR-V by shaderc and run through src/gpu on the chosen Vulkan device).
enum class Language { cpp, glsl };

// What an exercise scores: speed (the baseline's time over yours), or accuracy (the error of
// the reader's output, as Verdict::error measures it, against target_error).
enum class Goal { speed, accuracy };

// ---- Code -------------------------------------------------------------------------------------
// The reader's file (or the baseline): for C++, compiled to a shared object and loaded with
// dlopen; for GLSL, the shader's text, which a Case turns into a pipeline.
class Code {
 public:
  // C++: loads the shared object at `path`; GLSL: reads the shader at `path`. Throws dp::Error
  // with the loader's message if it cannot.
  Code(const std::string& path, std::string label, Language language = Language::cpp);
  ~Code();
  Code(const Code&) = delete;
  Code& operator=(const Code&) = delete;

  // The function `name` (declared extern "C" in the exercise's header) as a pointer of type Fn.
  // Throws dp::Error naming the function and the file when the file does not define it.
  template <typename Fn>
  Fn* function(const char* name) const {
    return reinterpret_cast<Fn*>(symbol(name));
  }
  const std::string& label() const { return label_; }  // "yours", "baseline"
  const std::string& glsl() const { return glsl_; }    // the shader's text (GLSL exercises)
  const std::string& file_name() const { return file_name_; }  // "conv1d.comp", for messages

 private:
  void* symbol(const char* name) const;
  void* handle_ = nullptr;
  std::string label_, glsl_, file_name_;
};

// ---- Verdict ----------------------------------------------------------------------------------
struct Verdict {
  bool passed = false;
  std::string detail;  // "all 4096 agree exactly" or the first mismatches with their indices
  double error = -1;   // accuracy exercises: how far the output is from the exact answer (-1: not measured)
};

// ---- Case -------------------------------------------------------------------------------------
class Case {
 public:
  virtual ~Case() = default;
  // A call of `code`'s function(s) on this case's input, writing this case's output. Looking the
  // function up happens here, once, so that timing the returned call measures only the work.
  virtual std::function<void()> bind(const Code& code) = 0;
  // Compares the output of the last call with the reference answer.
  virtual Verdict check() const = 0;
  // Timing other than "time the call bind() returns": GPU cases time their dispatch on the GPU's
  // clock. nullopt (the default): the harness times bind()'s call with Google Benchmark.
  virtual std::optional<Stats> time(const Code& code, bool quick) {
    (void)code;
    (void)quick;
    return std::nullopt;
  }
};

// ---- ExerciseInfo -----------------------------------------------------------------------------
struct ExerciseInfo {
  std::string id;                   // "transpose", the folder's name
  std::string title;                // "Transpose a matrix without missing the cache"
  int module = 1;                   // exercises/m<module>/<id>/
  int level = 1;
  std::vector<std::string> tracks;  // may be empty
  Language language = Language::cpp;
  std::string file;                 // the reader's file: "transpose.cpp" (GLSL: "conv1d.comp")
  std::string header;               // C++: the declarations the file implements: "transpose.hpp"
  std::string function;             // what the reader writes, as the README names it
  std::string builds_on;            // the lab (or labs) it practises: "transposition"
  std::string size_name = "n";      // what a size counts, for messages: "n", "particles"
  std::vector<std::int64_t> check_sizes;  // correctness: include 1, odd, not a vector multiple
  int seeds = 2;                          // correctness: fresh random input per seed and size
  std::vector<std::int64_t> timed_sizes;  // timing, baseline and yours on the same input
  std::string tolerance;            // how outputs are compared, in words ("exact", "rel 1e-5")
  Goal goal = Goal::speed;
  double target_speedup = 2;        // speed: a pass is correct and at least this much faster than baseline
  double target_error = 0;          // accuracy: a pass is an error at most this at every timed size
  std::string error_name = "relative error";  // accuracy: what Verdict::error measures
  int points = 10;                  // the most an exercise gives (at or beyond the target)
  std::vector<std::string> compile_flags;  // beyond the project's: "-pthread"
};

// ---- ExerciseDef ------------------------------------------------------------------------------
struct ExerciseDef {
  ExerciseInfo info;
  std::function<std::unique_ptr<Case>(std::int64_t n, std::uint64_t seed)> make_case;
};

// ---- registry ---------------------------------------------------------------------------------
const std::vector<ExerciseDef>& exercises();          // sorted by module, level, id
const ExerciseDef* find_exercise(const std::string& id);

// A static ExerciseRegistration in an exercise.cpp adds its ExerciseDef at start-up.
struct ExerciseRegistration {
  explicit ExerciseRegistration(ExerciseDef def);
};

}  // namespace dp::ex
