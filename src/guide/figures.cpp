#include "guide/figures.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "core/source_tree.hpp"
#include "core/history.hpp"
#include "core/lab.hpp"
#include "core/plot.hpp"
#include "core/runner.hpp"

namespace dp::guide {

namespace fs = std::filesystem;

namespace {

std::optional<Result> read_result_file(const fs::path& path, std::vector<std::string>& warnings) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(in);
    if (const auto problems = validate_result_json(j); !problems.empty()) {
      warnings.push_back(fmt::format("{} is not a valid result ({}); ignoring it", path.string(),
                                     problems.front()));
      return std::nullopt;
    }
    return j.get<Result>();
  } catch (const std::exception& e) {
    warnings.push_back(fmt::format("{} could not be read ({}); ignoring it", path.string(), e.what()));
    return std::nullopt;
  }
}

// An exclusive lock on <results>/.<lab>.lock for as long as the object lives (flock: released
// by the kernel even if the process dies).
class ResultsLock {
 public:
  ResultsLock(const std::string& dir, const std::string& lab) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    const std::string path = (fs::path(dir) / ("." + lab + ".lock")).string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw Error(fmt::format("cannot create {}: the results folder must be writable", path));
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~ResultsLock() { ::close(fd_); }
  ResultsLock(const ResultsLock&) = delete;
  ResultsLock& operator=(const ResultsLock&) = delete;

 private:
  int fd_ = -1;
};

const PlotSpec* find_plot(const Result& r, const std::string& plot) {
  for (const auto& p : r.plots)
    if (p.name == plot) return &p;
  return nullptr;
}

// A path as the reader finds it in the repository ("bench/results/x.json"), else as it is.
std::string repository_path(const fs::path& path) {
  const fs::path rel = fs::relative(path, dp::source_dir());
  if (!rel.empty() && *rel.begin() != "..") return rel.generic_string();
  return path.string();
}

void write_json(const fs::path& path, const Result& result) {
  write_file_atomically(path.string(), nlohmann::json(result).dump(2) + "\n");
}

std::string plot_names(const Result& r) {
  std::vector<std::string> names;
  for (const auto& p : r.plots) names.push_back(p.name);
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

std::string default_committed_dir() {
  return (dp::source_dir() / "bench" / "results").string();
}

FigureProvider::FigureProvider(FigureSources sources, std::ostream& log)
    : sources_(std::move(sources)), log_(log) {}

std::vector<std::string> FigureProvider::assignments_for(const LabDef& lab, const std::vector<std::string>& all) {
  return dp::assignments_for(lab, all, false);
}

bool FigureProvider::is_current(const Result& stored) const {
  const LabDef* def = find_lab(stored.lab);
  if (def == nullptr) return true;  // provide() reports the unregistered lab
  // Results made by another version of the lab's code are stale: the lab may measure differently.
  if (stored.code_version != def->info.code_version) return false;
  const auto mine = assignments_for(*def, sources_.assignments);
  if (mine.empty()) return true;
  const nlohmann::json wanted = Params::resolve(def->params, stored.quick, mine).to_json();
  for (const auto& a : mine) {
    const std::string name = find_param(def->params, parse_assignment(a).first)->name;
    if (!stored.params.contains(name) || stored.params[name] != wanted[name]) return false;
  }
  return true;
}

std::optional<FigureProvider::LabResult> FigureProvider::newest_stored(const std::string& lab) {
  // The newest passing, current result: the results folder or the history, whichever is newer.
  std::optional<LabResult> best;
  const fs::path json = fs::path(sources_.results_dir) / (lab + ".json");
  if (auto r = read_result_file(json, warnings_); r && r->all_checks_passed() && is_current(*r))
    best = LabResult{*r, sources_.results_dir};
  if (sources_.use_history) {
    try {
      History history(History::default_path(), History::Access::read_only);
      if (auto r = history.latest_result(lab); r && r->all_checks_passed() && is_current(*r) &&
                                               (!best || r->started_at > best->result.started_at))
        best = LabResult{*r, ""};
    } catch (const Error& e) {
      warnings_.push_back(std::string("history not used: ") + e.what());
    }
  }
  return best;
}

FigureProvider::LabResult& FigureProvider::result_for(const std::string& lab,
                                                      const std::string& page_path,
                                                      const std::string& plot) {
  if (auto it = cache_.find(lab); it != cache_.end() && find_plot(it->second.result, plot))
    return it->second;
  // An older result may predate the plot a page asks for; then the lab runs again.
  if (auto stored = newest_stored(lab); stored && find_plot(stored->result, plot))
    return cache_[lab] = std::move(*stored);

  const LabDef* def = find_lab(lab);
  if (!def)
    throw Error(fmt::format("guide/docs/{}: lab '{}' is not registered, so its figures cannot be "
                            "drawn; `dontpanic list` shows the labs (nearest: {})",
                            page_path, lab, nearest_lab_id(lab)));
  if (!sources_.run_missing)
    throw Error(fmt::format("guide/docs/{}: no result of lab '{}' with plot '{}' in {}/ or the "
                            "history; run `dontpanic run {} --quick` first",
                            page_path, lab, plot, sources_.results_dir, lab));

  // Two builds at once (or two tests) wait for each other here, and the second one uses the
  // result the first one produced instead of running the lab again.
  const ResultsLock lock(sources_.results_dir, lab);
  if (auto stored = newest_stored(lab); stored && find_plot(stored->result, plot))
    return cache_[lab] = std::move(*stored);

  ++runs_started_;
  const std::string count = runs_started_ <= planned_runs_
      ? fmt::format("[{}/{}] ", runs_started_, planned_runs_) : std::string();
  log_ << fmt::format("  {}running {} in quick mode for its figures (results go to {}/)\n", count, lab,
                      sources_.results_dir);
  log_.flush();
  RunOptions options;
  options.quick = true;
  options.assignments = assignments_for(*def, sources_.assignments);
  options.repetitions = sources_.repetitions;
  options.out_dir = sources_.results_dir;
  options.plot = PlotMode::svg;
  options.record_history = sources_.use_history;
  std::ostringstream table;  // the guide build shows figures, not tables
  RunOutcome outcome = run_lab(*def, options, table);
  warnings_.insert(warnings_.end(), outcome.warnings.begin(), outcome.warnings.end());
  if (!outcome.checks_passed) {
    std::string failed;
    for (const Check& check : outcome.result.checks)
      if (!check.passed) failed += fmt::format("\n  [FAIL] {}: {}", check.name, check.detail);
    throw Error(fmt::format("lab '{}' failed a check, so its numbers are not shown:{}\n"
                            "Run `dontpanic run {} --quick` to repeat it with its table",
                            lab, failed, lab));
  }
  return cache_[lab] = LabResult{std::move(outcome.result), sources_.results_dir};
}

void FigureProvider::plan(const std::vector<FigureRef>& refs) {
  if (sources_.placeholders || !sources_.run_missing) return;
  std::vector<std::string> to_run;
  for (const auto& ref : refs) {
    if (std::find(to_run.begin(), to_run.end(), ref.lab) != to_run.end() || !find_lab(ref.lab)) continue;
    const auto stored = newest_stored(ref.lab);
    if (!stored || !find_plot(stored->result, ref.plot)) to_run.push_back(ref.lab);
  }
  planned_runs_ = to_run.size();
  if (to_run.empty()) {
    log_ << "  every figure has a current result: no lab needs to run\n";
  } else {
    log_ << fmt::format("  {} labs have no current result (none yet, or made by older code or other "
                        "--param values) and run now in quick mode, each well under 10 s: {}\n",
                        to_run.size(), fmt::join(to_run, ", "));
  }
  log_.flush();
}

const std::pair<Result, std::string>* FigureProvider::committed_run(const std::string& lab,
                                                                  const std::string& plot) {
  const std::string key = lab + "/" + plot;
  if (auto it = committed_.find(key); it != committed_.end()) return it->second ? &*it->second : nullptr;
  std::optional<std::pair<Result, std::string>> best;
  std::error_code ec;
  if (!sources_.committed_dir.empty() && fs::is_directory(sources_.committed_dir, ec)) {
    for (const auto& entry : fs::recursive_directory_iterator(sources_.committed_dir, ec)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
      // bench/results also holds other documents (GPU-machine summaries): read only lab results.
      std::ifstream in(entry.path());
      const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (!j.is_object() || j.value("lab", "") != lab) continue;
      auto r = read_result_file(entry.path(), warnings_);
      if (!r || r->quick || !r->all_checks_passed()) continue;
      const PlotSpec* p = find_plot(*r, plot);
      if (!p || distinct_x_count(*r, *p) < kMinCurvePoints) continue;
      if (!best || r->started_at > best->first.started_at)
        best.emplace(std::move(*r), repository_path(entry.path()));
    }
  }
  auto& slot = committed_[key] = std::move(best);
  return slot ? &*slot : nullptr;
}

ProvidedFigure FigureProvider::provide(const FigureRef& ref, const std::string& page_path,
                                       const std::string& dest_dir) {
  std::error_code ec;
  fs::create_directories(dest_dir, ec);
  const fs::path dest = fs::path(dest_dir) / ref.file;
  bool placeholder = sources_.placeholders;
  if (!placeholder && sources_.placeholder_when_missing && !sources_.run_missing && find_lab(ref.lab) != nullptr) {
    try {
      result_for(ref.lab, page_path, ref.plot);
    } catch (const Error& e) {  // no stored result, and we may not run the lab: an empty frame
      placeholder = true;
      warnings_.push_back(e.what());
    }
  }
  if (placeholder) {
    if (!find_lab(ref.lab))
      throw Error(fmt::format("guide/docs/{}: lab '{}' is not registered, so its figures cannot be "
                              "drawn; `dontpanic list` shows the labs (nearest: {})",
                              page_path, ref.lab, nearest_lab_id(ref.lab)));
    write_file_atomically(dest.string(),
                          fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 960 560\">"
                                      "<rect width=\"960\" height=\"560\" fill=\"#f5f5f5\"/><text x=\"480\" "
                                      "y=\"280\" text-anchor=\"middle\">{} ({})</text></svg>\n",
                                      ref.lab, ref.plot));
    placeholder_.lab = ref.lab;
    placeholder_.machine.cpu = "no machine (a placeholder: nothing was measured for it)";
    placeholder_.started_at = now_iso8601();
    write_json(fs::path(dest_dir) / (ref.lab + ".json"), placeholder_);
    return {&placeholder_, ref.lab + ".json", "", 0};
  }
  LabResult* lr = &result_for(ref.lab, page_path, ref.plot);
  const PlotSpec* plot = find_plot(lr->result, ref.plot);
  if (!plot)
    throw Error(fmt::format("guide/docs/{}: figure '{}' asks for plot '{}' of lab '{}', which "
                            "draws: {}",
                            page_path, ref.file, ref.plot, ref.lab, plot_names(lr->result)));
  const auto drawing_failed = [&] {
    std::string why;
    for (const auto& w : warnings_) why += "; " + w;
    return Error(fmt::format("guide/docs/{}: figure '{}' could not be drawn{}", page_path, ref.file, why));
  };

  ProvidedFigure figure;
  figure.own_points = distinct_x_count(lr->result, *plot);
  if (figure.own_points < kMinCurvePoints) {  // dots, not a curve: show a committed full run
    const auto* committed = committed_run(ref.lab, ref.plot);
    if (!committed) return figure;
    // The committed run's plot (its title and cache markers belong to its run), with the axis
    // labels this build's lab writes: the same axes, in the current words and units.
    PlotSpec spec = *find_plot(committed->first, ref.plot);
    spec.xlabel = plot->xlabel;
    spec.ylabel = plot->ylabel;
    const PlotOutcome drawn = render_svg_plot(committed->first, spec, dest.string());
    warnings_.insert(warnings_.end(), drawn.warnings.begin(), drawn.warnings.end());
    if (!fs::exists(dest)) throw drawing_failed();
    figure.result = &committed->first;
    figure.committed_from = committed->second;
    figure.json_file = ref.lab + "-full-run.json";
    write_json(fs::path(dest_dir) / figure.json_file, committed->first);
    return figure;
  }

  const fs::path existing = fs::path(lr->svg_dir) / ref.file;
  if (!lr->svg_dir.empty() && fs::exists(existing) &&
      fs::last_write_time(existing) >= fs::last_write_time(fs::path(lr->svg_dir) / (ref.lab + ".json"), ec)) {
    fs::copy_file(existing, dest, fs::copy_options::overwrite_existing, ec);
    if (ec)
      throw Error(fmt::format("cannot copy {} to {}: {}", existing.string(), dest.string(), ec.message()));
  } else {
    const PlotOutcome drawn = render_svg_plot(lr->result, *plot, dest.string());
    warnings_.insert(warnings_.end(), drawn.warnings.begin(), drawn.warnings.end());
  }
  if (!fs::exists(dest)) throw drawing_failed();
  figure.result = &lr->result;
  figure.json_file = ref.lab + ".json";
  write_json(fs::path(dest_dir) / figure.json_file, lr->result);
  return figure;
}

}  // namespace dp::guide
