// runner.hpp — running one lab end to end: parameters, checks, timing, table, JSON, plots, history.
//
// The CLI (`dontpanic run`, `dontpanic tour`) and the tests call run_lab(); labs never see files.
#pragma once

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
  std::vector<std::string> assignments;  // "name=value", from --param
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

// Throws dp::Error for bad parameters or an unwritable output path *before* measuring anything.
// A failed check does not throw: it shows in checks_passed (and makes the CLI exit non-zero).
RunOutcome run_lab(const LabDef& lab, const RunOptions& options, std::ostream& out);

// The terminal table of a result (one row per point, one column group per series).
void print_result_table(const Result& result, std::ostream& out);

// Writes `text` to `path` atomically (temporary file + rename): no partial file on failure.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace dp
