// runner.hpp — running one lab end to end: parameters, checks, timing, table, JSON, plots, history.
//
// The CLI (`dontpanic run`, `dontpanic tour`) and the tests call run_lab(); labs never see files.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/lab.hpp"

namespace dp {

enum class PlotMode { svg, term, none };
PlotMode parse_plot_mode(const std::string& text);  // throws dp::Error on anything else

struct RunOptions {
  bool quick = false;
  std::vector<std::string> assignments;  // "name=value" or "lab:name=value", from --param
  std::optional<int> repetitions;        // overrides the quick/full default
  std::string json_path;                 // empty: <out_dir>/<lab>.json
  std::string out_dir = "results";       // SVG plots (and the default JSON) go here
  PlotMode plot = PlotMode::svg;
  bool record_history = true;
  std::string gpu;                       // --gpu NAME|INDEX; empty: $DONTPANIC_GPU, then the best
};

struct RunOutcome {
  Result result;
  bool checks_passed = false;
  std::vector<std::string> files;        // what was written
  std::vector<std::string> warnings;     // e.g. gnuplot missing, history unavailable
};

// --repetitions: 1 to 1000, or unset. Throws dp::Error naming the valid range.
void check_repetitions(std::optional<int> repetitions);
// --repetitions as typed: a whole number from 1 to 1000, or dp::Error saying so.
int parse_repetitions(const std::string& text);

// Everything about a run of `labs` that can be checked before measuring: each lab's parameters,
// the repetitions, the JSON and plot locations. Throws dp::Error saying what is wrong.
void validate_run(const std::vector<const LabDef*>& labs, const RunOptions& options);

// One lab, end to end. Validates first (validate_run), so bad parameters or an unwritable output
// path throw dp::Error *before* measuring anything. A failed check does not throw: it shows in
// checks_passed (and makes the CLI exit non-zero). Quick runs get kQuickRunBudgetSeconds.
RunOutcome run_lab(const LabDef& lab, const RunOptions& options, std::ostream& out);

// What a quick run aims to stay within: dp::Sweep ends a quick sweep early to keep it, so that
// every lab's quick run takes well under ten seconds on any machine.
inline constexpr double kQuickRunBudgetSeconds = 6.0;

enum class LabStatus { passed, failed, skipped, error };

struct LabReport {
  std::string id;
  LabStatus status = LabStatus::error;
  std::string detail;                    // why it failed, erred or was skipped
  std::vector<std::string> files;
  double seconds = 0;                    // wall time, from start to history
};

// Runs labs one after another, each through run_lab(). A lab that fails a check, throws, or cannot
// run on this machine (dp::Unavailable) is reported, and the others still run. Tables go to `out`;
// warnings and "skipped"/"error" lines to `err`. A run of several labs says which one is running.
std::vector<LabReport> run_labs(const std::vector<const LabDef*>& labs, const RunOptions& options,
                                std::ostream& out, std::ostream& err);

// The terminal table of a result (one row per point, one column group per series).
void print_result_table(const Result& result, std::ostream& out);

// Writes `text` to `path` atomically (a temporary file beside it, then rename): no partial file on
// failure or on Ctrl-C. A symbolic link at `path` is written through: its target is replaced.
void write_file_atomically(const std::string& path, const std::string& text);

// The file that writing `path` will replace (the target of a symbolic link is followed). Throws
// dp::Error saying why, and what would do, when that is no place for `what`: something other than
// a regular file (a folder, a device, a FIFO), the history database, or a name longer than the
// file system allows.
std::filesystem::path check_output_file(const std::string& path, const std::string& what);

// The --param assignments meant for `lab`: "lab:name=value" for this lab, and "name=value" where
// the lab declares `name` (or always, in a run of this lab alone, so that a typo is an error).
std::vector<std::string> assignments_for(const LabDef& lab, const std::vector<std::string>& all,
                                         bool single_lab);

}  // namespace dp
