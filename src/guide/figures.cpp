#include "guide/figures.hpp"

#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
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

bool has_plot(const Result& r, const std::string& plot) {
  for (const auto& p : r.plots)
    if (p.name == plot) return true;
  return false;
}

std::string plot_names(const Result& r) {
  std::vector<std::string> names;
  for (const auto& p : r.plots) names.push_back(p.name);
  return names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "));
}

}  // namespace

std::string caption_note(const Result& result) {
  const std::string date = result.started_at.substr(0, 10);
  return fmt::format("Measured on {}, {}{}.", result.machine.cpu.empty() ? "an unnamed CPU" : result.machine.cpu,
                     date, result.quick ? ", quick run" : "");
}

FigureProvider::FigureProvider(FigureSources sources, std::ostream& log)
    : sources_(std::move(sources)), log_(log) {}

FigureProvider::LabResult& FigureProvider::result_for(const std::string& lab,
                                                      const std::string& page_path, bool fresh) {
  if (!fresh) {
    if (auto it = cache_.find(lab); it != cache_.end()) return it->second;

    // The newest passing result: the results folder or the history, whichever is newer.
    std::optional<LabResult> best;
    const fs::path json = fs::path(sources_.results_dir) / (lab + ".json");
    if (auto r = read_result_file(json, warnings_); r && r->all_checks_passed())
      best = LabResult{*r, sources_.results_dir};
    if (sources_.use_history) {
      try {
        History history(History::default_path());
        if (auto r = history.latest_result(lab);
            r && r->all_checks_passed() && (!best || r->started_at > best->result.started_at))
          best = LabResult{*r, ""};
      } catch (const Error& e) {
        warnings_.push_back(std::string("history not used: ") + e.what());
      }
    }
    if (best) return cache_[lab] = std::move(*best);
  }

  const LabDef* def = find_lab(lab);
  if (!def)
    throw Error(fmt::format("guide/docs/{}: lab '{}' is not registered, so its figures cannot be "
                            "drawn; `dontpanic list` shows the labs (nearest: {})",
                            page_path, lab, nearest_lab_id(lab)));
  if (!sources_.run_missing)
    throw Error(fmt::format("guide/docs/{}: no result of lab '{}' in {}/ or the history; run "
                            "`dontpanic run {} --quick` first",
                            page_path, lab, sources_.results_dir, lab));

  log_ << fmt::format("  running {} in quick mode for its figures (results go to {}/)\n", lab,
                      sources_.results_dir);
  log_.flush();
  RunOptions options;
  options.quick = true;
  options.repetitions = sources_.repetitions;
  options.out_dir = sources_.results_dir;
  options.plot = PlotMode::svg;
  options.record_history = sources_.use_history;
  std::ostringstream table;  // the guide build shows figures, not tables
  RunOutcome outcome = run_lab(*def, options, table);
  warnings_.insert(warnings_.end(), outcome.warnings.begin(), outcome.warnings.end());
  if (!outcome.checks_passed)
    throw Error(fmt::format("lab '{}' failed a check, so its numbers are not shown; run "
                            "`dontpanic run {} --quick` to see which",
                            lab, lab));
  return cache_[lab] = LabResult{std::move(outcome.result), sources_.results_dir};
}

const Result& FigureProvider::provide(const FigureRef& ref, const std::string& page_path,
                                      const std::string& dest_dir) {
  LabResult* lr = &result_for(ref.lab, page_path, false);
  if (!has_plot(lr->result, ref.plot)) {
    // An older result may predate the plot; a fresh run settles whether the lab draws it.
    if (sources_.run_missing && find_lab(ref.lab)) lr = &result_for(ref.lab, page_path, true);
    if (!has_plot(lr->result, ref.plot))
      throw Error(fmt::format("guide/docs/{}: figure '{}' asks for plot '{}' of lab '{}', which "
                              "draws: {}",
                              page_path, ref.file, ref.plot, ref.lab, plot_names(lr->result)));
  }

  std::error_code ec;
  fs::create_directories(dest_dir, ec);
  const fs::path dest = fs::path(dest_dir) / ref.file;
  const fs::path existing = fs::path(lr->svg_dir) / ref.file;
  if (!lr->svg_dir.empty() && fs::exists(existing) &&
      fs::last_write_time(existing) >= fs::last_write_time(fs::path(lr->svg_dir) / (ref.lab + ".json"), ec)) {
    fs::copy_file(existing, dest, fs::copy_options::overwrite_existing, ec);
    if (ec)
      throw Error(fmt::format("cannot copy {} to {}: {}", existing.string(), dest.string(), ec.message()));
  } else {
    const PlotOutcome drawn = render_svg(lr->result, dest_dir);
    warnings_.insert(warnings_.end(), drawn.warnings.begin(), drawn.warnings.end());
  }
  if (!fs::exists(dest)) {
    std::string why;
    for (const auto& w : warnings_) why += "; " + w;
    throw Error(fmt::format("guide/docs/{}: figure '{}' could not be drawn{}", page_path, ref.file, why));
  }
  return lr->result;
}

}  // namespace dp::guide
