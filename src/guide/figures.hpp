// figures.hpp — figures come from labs: find the newest result of a lab, or run it, and draw it.
//
// A page shows ![caption](../figures/<lab>-<plot>.svg). For each such lab the build takes the
// newest passing result from the results folder (<results>/<lab>.json, as `dontpanic run` writes
// it) or from the history database, whichever is newer; when there is none it runs the lab in
// quick mode (writing into the results folder, as `dontpanic run --quick` would). The SVG is
// copied from the results folder when it is there, and drawn again with gnuplot otherwise.
//
// Index
//   FigureSources   where results are looked for, and whether a missing one may be produced
//   FigureProvider  provide(): put one figure into a folder, return the result that drew it
//   caption_note()  "Measured on <cpu>, 2025-11-25, quick run."
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/lab.hpp"
#include "core/result.hpp"
#include "guide/page.hpp"

namespace dp::guide {

struct FigureSources {
  std::string results_dir = "results";  // where `dontpanic run` writes <lab>.json and SVGs
  bool use_history = true;              // also look in (and record quick runs into) the history
                                        // database (dp::History::default_path())
  bool run_missing = true;              // run a lab in quick mode when it has no result yet
  std::optional<int> repetitions;       // for those quick runs (default: the quick default)
  std::vector<std::string> assignments; // --param name=value: passed to every lab that declares
                                        // the parameter; a stored result is reused only if it
                                        // ran with those values
  bool placeholders = false;            // tests: an empty frame instead of each figure, so that a
                                        // build checks pages and links without running any lab
};

class FigureProvider {
 public:
  FigureProvider(FigureSources sources, std::ostream& log);

  // Writes `dest_dir`/<ref.file> and returns the result it was drawn from.
  // Throws dp::Error when the lab is not registered, its run fails a check, it draws no such
  // plot, or the SVG cannot be produced (gnuplot missing).
  const Result& provide(const FigureRef& ref, const std::string& page_path,
                        const std::string& dest_dir);

  // Says, before any lab runs, which of these figures' labs have no current result and so must
  // run in quick mode (a stored result counts if its lab's code version and --param values match).
  // provide() then numbers those runs: "[2/5] running cache-latency ...".
  void plan(const std::vector<FigureRef>& refs);

  const std::vector<std::string>& warnings() const { return warnings_; }

  // The assignments of `sources.assignments` that `lab` declares (the others are for other labs).
  static std::vector<std::string> assignments_for(const LabDef& lab, const std::vector<std::string>& all);

 private:
  struct LabResult {
    Result result;
    std::string svg_dir;  // where its SVGs already are ("" = draw them)
  };
  std::optional<LabResult> newest_stored(const std::string& lab);
  // A result of `lab` that draws `plot`: stored, or produced by running the lab.
  LabResult& result_for(const std::string& lab, const std::string& page_path, const std::string& plot);

  FigureSources sources_;
  std::ostream& log_;
  bool is_current(const Result& stored) const;  // same code version and --param values
  std::map<std::string, LabResult> cache_;
  std::size_t planned_runs_ = 0;               // labs plan() found without a current result
  std::size_t runs_started_ = 0;
  Result placeholder_;
  std::vector<std::string> warnings_;
};

// The caption's second half: machine, date and mode of the run that drew the figure.
std::string caption_note(const Result& result);

}  // namespace dp::guide
