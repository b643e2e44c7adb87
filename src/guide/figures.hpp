// figures.hpp — figures come from labs: find the newest result of a lab, or run it, and draw it.
//
// A page shows ![caption](../figures/<lab>-<plot>.svg). For each such lab the build takes the
// newest passing result from the results folder (<results>/<lab>.json, as `dontpanic run` writes
// it) or from the history database, whichever is newer; when there is none it runs the lab in
// quick mode (writing into the results folder, as `dontpanic run --quick` would). The SVG is
// copied from the results folder when it is there, and drawn again with gnuplot otherwise.
// The result's JSON goes beside the figure, so that the site holds the numbers it shows.
//
// A plot with fewer than three x values (a quick run that measured one size) shows dots, not the
// curve the page talks about, so it is not published: the figure comes from a committed full run
// of the lab under bench/results (labelled with that machine) when there is one, and otherwise
// the page says to run the lab at full size.
//
// Index
//   FigureSources   where results are looked for, and whether a missing one may be produced
//   ProvidedFigure  what provide() put in place: the result drawn, its JSON, where it came from
//   FigureProvider  provide(): put one figure and its JSON into a folder
//   default_committed_dir()  dp::source_dir()/bench/results
#pragma once

#include <cstddef>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/lab.hpp"
#include "core/result.hpp"
#include "guide/page.hpp"

namespace dp::guide {

std::string default_committed_dir();

struct FigureSources {
  std::string results_dir = "results";  // where `dontpanic run` writes <lab>.json and SVGs
  bool use_history = true;              // also look in (and record quick runs into) the history
                                        // database (dp::History::default_path())
  bool run_missing = true;              // run a lab in quick mode when it has no result yet
  bool placeholder_when_missing = false; // with run_missing off: an empty frame and a warning
                                        // for a figure without a result (--no-run), not an error
  std::optional<int> repetitions;       // for those quick runs (default: the quick default)
  std::vector<std::string> assignments; // --param name=value: passed to every lab that declares
                                        // the parameter; a stored result is reused only if it
                                        // ran with those values
  bool placeholders = false;            // tests: an empty frame instead of each figure, so that a
                                        // build checks pages and links without running any lab
  std::string committed_dir = default_committed_dir();  // full runs kept in the repository, for
                                        // plots a quick run cannot show ("" = none)
};

struct ProvidedFigure {
  const Result* result = nullptr;  // the run the figure shows; nullptr: none could be published
  std::string json_file;           // its JSON, beside the figure: "gpu-matmul.json"
  std::string committed_from;      // non-empty: the committed full run shown instead of this
                                   // build's run (a path under bench/results)
  std::size_t own_points = 0;      // x values in this build's run of the plot
};

class FigureProvider {
 public:
  FigureProvider(FigureSources sources, std::ostream& log);

  // Writes `dest_dir`/<ref.file> and the JSON of the result it was drawn from, and says which
  // result that was; writes nothing when the plot has too few points and no committed full run
  // has it. Throws dp::Error when the lab is not registered, its run fails a check, it draws no
  // such plot, or the SVG cannot be produced (gnuplot missing).
  ProvidedFigure provide(const FigureRef& ref, const std::string& page_path,
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
  // The newest committed full run of `lab` under sources_.committed_dir whose `plot` is a curve.
  const std::pair<Result, std::string>* committed_run(const std::string& lab, const std::string& plot);

  FigureSources sources_;
  std::ostream& log_;
  bool is_current(const Result& stored) const;  // same code version and --param values
  std::map<std::string, LabResult> cache_;
  std::size_t planned_runs_ = 0;               // labs plan() found without a current result
  std::size_t runs_started_ = 0;
  std::map<std::string, std::optional<std::pair<Result, std::string>>> committed_;  // by lab/plot
  Result placeholder_;
  std::vector<std::string> warnings_;
};

}  // namespace dp::guide
