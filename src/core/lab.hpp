// lab.hpp — the lab contract: what a lab declares, what it gets when it runs, how it registers.
//
// A lab answers one question by measuring variants side by side. A lab file holds, in order:
//   1. a short header block (what, how to run, which variants)
//   2. the variants (the interesting 30 lines)
//   3. the reference and the check
//   4. run(): check first, then time, then fill the Result
//   5. the registration: DP_REGISTER_LAB({ .info = {...}, .params = {...}, .run = run })
// Everything else (timing, JSON, plots, history, the CLI) lives in src/core and src/cli.
//
// Index
//   LabInfo       id, title, module, level, tracks, question, guide page, source file
//   LabContext    what run() receives: params, quick flag, measure config, the Result to fill,
//                 the GPU choice, the quick run's time budget (see core/sweep.hpp)
//   LabDef        info + params + run
//   registry()    every registered lab; find_lab(), nearest_lab_id()
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/measure.hpp"
#include "core/params.hpp"
#include "core/result.hpp"

namespace dp {

inline const std::vector<std::string> kTracks = {"dl", "cg", "cv", "sp"};  // deep learning,
                                                  // computer graphics, computer vision, signal proc.

struct LabInfo {
  std::string id;                   // kebab-case, stable: "access-patterns"
  std::string title;                // "Access patterns: sequential, strided, random"
  int module = 0;                   // 0..5
  int level = 1;                    // 1..5
  std::vector<std::string> tracks;  // subset of kTracks; empty = common to everyone
  std::string question;             // "What does reading memory out of order cost?"
  std::string guide_page;           // relative to guide/docs: "m1/access-patterns.md"
  std::string source;               // relative to the repository: "src/labs/m1/access_patterns.cpp"
  std::string requires_gpu;         // non-empty: why the lab needs a GPU (it is skipped without)
  bool uses_gpu_if_present = false; // runs GPU variants where there is a device (--gpu applies)
  std::string code_version;         // set by the registration, not by the lab: a hash of the lab's
                                    // source file (src/labs/CMakeLists.txt), so that a stored
                                    // result is reused only by the code that produced it
};

struct LabContext {
  const Params& params;
  bool quick;
  MeasureConfig measure_config;
  const MachineInfo& machine;
  Result& result;
  std::ostream& log;                // progress lines ("working set 4 KiB ...") go here
  std::string gpu = {};             // --gpu: a Vulkan device index or name part; empty:
                                    // $DONTPANIC_GPU, then the best device (labs/gpu_lab.hpp)
  std::string out_dir = "results";  // --out: where the run's plots go; a lab writing a file of its own
                                    // (an image) puts it here too
  double time_budget_seconds = 0;   // quick runs aim to end within this (0: no limit, full runs);
                                    // dp::Sweep stops a quick sweep early to keep it
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  double seconds_elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  }

  // Time `body`; shorthand for dp::measure with this run's configuration.
  Stats measure(const std::string& name, const std::function<void()>& body) const {
    return dp::measure(result.lab + "/" + name, body, measure_config);
  }
};

// What a run will need at its peak, estimated from its parameters before anything is allocated.
struct MemoryNeed {
  std::uint64_t bytes = 0;
  std::string what;  // "two 16 GiB arrays": what the bytes are for, said in the refusal
};

struct LabDef {
  LabInfo info;
  std::vector<ParamSpec> params;
  std::function<void(LabContext&)> run;
  // Optional, for labs whose parameters can ask for more memory than a laptop has: the estimate,
  // and the integer parameter that sizes it (memory grows about linearly with it), so that the
  // runner can refuse the run before measuring and suggest a value that fits.
  std::function<MemoryNeed(const Params&, const MachineInfo&, bool quick)> memory_need = {};
  std::string memory_param = {};
};

// --- the registry: the only global state in the project ---
const std::vector<LabDef>& registry();              // sorted by module, level, id
const LabDef* find_lab(const std::string& id);
std::string nearest_lab_id(const std::string& id);  // for "did you mean ...?"

struct LabRegistrar {
  LabRegistrar(LabDef def, const char* code_version);
};

// The build defines DP_LAB_CODE_VERSION for each lab file (the first digits of its SHA-256).
#ifndef DP_LAB_CODE_VERSION
#define DP_LAB_CODE_VERSION ""
#endif
#define DP_LAB_CONCAT2(a, b) a##b
#define DP_LAB_CONCAT(a, b) DP_LAB_CONCAT2(a, b)
#define DP_REGISTER_LAB(...)                                                                   \
  static const ::dp::LabRegistrar DP_LAB_CONCAT(dp_lab_registrar_, __LINE__){::dp::LabDef __VA_ARGS__, \
                                                                             DP_LAB_CODE_VERSION}

// Levenshtein distance, for suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace dp
