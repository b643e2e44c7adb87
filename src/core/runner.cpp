#include "core/runner.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"
#include "core/history.hpp"
#include "core/plot.hpp"
#include "core/table.hpp"

namespace dp {

namespace fs = std::filesystem;

PlotMode parse_plot_mode(const std::string& text) {
  if (text == "svg") return PlotMode::svg;
  if (text == "term") return PlotMode::term;
  if (text == "none") return PlotMode::none;
  throw Error(fmt::format("--plot '{}' is not known; use svg, term or none", text));
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const fs::path target(path);
  const fs::path tmp = target.string() + fmt::format(".tmp{}", static_cast<long>(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(fmt::format("cannot write {}: the folder does not exist or is not writable", path));
    out << text;
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error(fmt::format("cannot write {}: writing failed (disk full?)", path));
    }
  }
  std::error_code ec;
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error(fmt::format("cannot write {}: {}", path, ec.message()));
  }
}

namespace {

// Fails early, before minutes of measuring, when an output location cannot be written.
// `create` makes the folder first (for --out, a folder of ours); a --json file's folder must exist.
void ensure_writable_dir(const fs::path& dir, const std::string& what, bool create) {
  const fs::path folder = dir.empty() ? fs::path(".") : dir;
  std::error_code ec;
  if (create) fs::create_directories(folder, ec);
  if (!fs::is_directory(folder, ec))
    throw Error(fmt::format("cannot write {}: the folder '{}' does not exist; create it first or "
                            "choose another path",
                            what, folder.string()));
  const fs::path probe = folder / fmt::format(".dontpanic-probe-{}", getpid());
  std::ofstream out(probe);
  const bool ok = static_cast<bool>(out);
  out.close();
  fs::remove(probe, ec);
  if (!ok)
    throw Error(fmt::format("cannot write {}: the folder '{}' is not writable; choose a writable path",
                            what, folder.string()));
}

std::string format_x(const Series& s, double x) {
  if (s.x == "bytes") return format_bytes(static_cast<std::uint64_t>(x));
  if (x == std::floor(x) && std::abs(x) < 1e15) return fmt::format("{}", static_cast<long long>(x));
  return format_number(x);
}

std::string spread(const Point& p) {
  if (p.median_ns <= 0) return "";
  const double half = (p.p90_ns - p.p10_ns) / 2 / p.median_ns * 100;
  return fmt::format(" ±{:.0f}%", half);
}

}  // namespace

void print_result_table(const Result& result, std::ostream& out) {
  // Group series by their x axis, so series measured on different axes get their own tables.
  std::map<std::string, std::vector<const Series*>> by_axis;
  std::vector<std::string> axis_order;
  for (const auto& s : result.series) {
    if (!by_axis.count(s.x)) axis_order.push_back(s.x);
    by_axis[s.x].push_back(&s);
  }
  for (const auto& axis : axis_order) {
    const auto& group = by_axis[axis];
    std::set<double> xs;
    for (const auto* s : group)
      for (const auto& p : s->points) xs.insert(p.x);
    const auto find = [](const Series* s, double x) -> const Point* {
      for (const auto& p : s->points)
        if (p.x == x) return &p;
      return nullptr;
    };
    // Time table: median per unit with the p10–p90 spread.
    const std::string per = group.front()->time_per.empty() ? "iteration" : group.front()->time_per;
    out << fmt::format("\nmedian ns per {} (± half the p10–p90 spread)\n", per);
    std::vector<std::string> header{axis.empty() ? "x" : axis};
    for (const auto* s : group) header.push_back(s->variant);
    Table times(header);
    Table rates(header);
    bool any_rate = false;
    std::string unit;
    for (double x : xs) {
      std::vector<std::string> trow{format_x(*group.front(), x)};
      std::vector<std::string> rrow{trow.front()};
      for (const auto* s : group) {
        const Point* p = find(s, x);
        trow.push_back(p ? format_number(p->median_ns) + spread(*p) : "—");
        rrow.push_back(p && p->throughput > 0 ? format_number(p->throughput) : "—");
        if (p && p->throughput > 0) {
          any_rate = true;
          unit = p->unit;
        }
      }
      times.add_row(trow);
      rates.add_row(rrow);
    }
    times.print(out);
    if (any_rate) {
      out << fmt::format("\nthroughput ({})\n", unit);
      rates.print(out);
    }
  }
  if (!result.checks.empty()) {
    out << "\nchecks\n";
    for (const auto& c : result.checks)
      out << fmt::format("  [{}] {}: {}\n", c.passed ? "pass" : "FAIL", c.name, c.detail);
  }
  if (!result.headlines.empty()) {
    out << "\nkey figures\n";
    Table t({"figure", "value"});
    for (const auto& h : result.headlines) t.add_row({h.name, h.value});
    t.print(out);
  }
  for (const auto& note : result.notes) out << "note: " << note << '\n';
}

void check_repetitions(std::optional<int> repetitions) {
  if (repetitions && (*repetitions < 1 || *repetitions > 1000))
    throw Error(fmt::format("--repetitions {} is out of range; use 1 to 1000", *repetitions));
}

namespace {

std::string json_path_for(const LabDef& lab, const RunOptions& options) {
  return options.json_path.empty() ? (fs::path(options.out_dir) / (lab.info.id + ".json")).string()
                                   : options.json_path;
}

}  // namespace

void validate_run(const std::vector<const LabDef*>& labs, const RunOptions& options) {
  check_repetitions(options.repetitions);
  if (labs.size() > 1 && !options.json_path.empty())
    throw Error("--json FILE takes a single lab; with several labs each JSON goes to --out DIR as <lab>.json");
  for (const auto* lab : labs) {
    Params::resolve(lab->params, options.quick, options.assignments);
    const std::string json_path = json_path_for(*lab, options);
    ensure_writable_dir(fs::path(json_path).parent_path(), "the result JSON " + json_path,
                        options.json_path.empty());
  }
  if (options.plot == PlotMode::svg) ensure_writable_dir(options.out_dir, "plots", true);
}

RunOutcome run_lab(const LabDef& lab, const RunOptions& options, std::ostream& out) {
  validate_run({&lab}, options);
  const Params params = Params::resolve(lab.params, options.quick, options.assignments);
  const std::string json_path = json_path_for(lab, options);
  const auto started = std::chrono::steady_clock::now();

  RunOutcome outcome;
  Result& result = outcome.result;
  result.lab = lab.info.id;
  result.title = lab.info.title;
  result.started_at = now_iso8601();
  result.machine = MachineInfo::detect();
  result.params = params.to_json();
  result.quick = options.quick;
  result.code_version = lab.info.code_version;

  MeasureConfig config = options.quick ? MeasureConfig::quick() : MeasureConfig::full();
  if (options.repetitions) config.repetitions = *options.repetitions;
  result.params["repetitions"] = config.repetitions;

  out << fmt::format("== {} — {}\n   {}\n", lab.info.id, lab.info.title, lab.info.question);
  out.flush();
  LabContext ctx{params, options.quick, config, result.machine, result, std::cerr, options.gpu};
  ctx.time_budget_seconds = options.quick ? kQuickRunBudgetSeconds : 0;
  lab.run(ctx);
  result.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  outcome.checks_passed = result.all_checks_passed();
  if (result.checks.empty()) {
    // A lab that checked nothing has not earned trust in its numbers.
    result.add_check("lab reported checks", false, "the lab ran no check against a reference");
    outcome.checks_passed = false;
  }
  print_result_table(result, out);

  write_file_atomically(json_path, nlohmann::json(result).dump(2) + "\n");
  outcome.files.push_back(json_path);

  if (options.plot == PlotMode::svg) {
    auto plots = render_svg(result, options.out_dir);
    outcome.files.insert(outcome.files.end(), plots.files.begin(), plots.files.end());
    outcome.warnings.insert(outcome.warnings.end(), plots.warnings.begin(), plots.warnings.end());
  } else if (options.plot == PlotMode::term) {
    auto plots = render_terminal(result);
    out << plots.terminal_text;
    outcome.warnings.insert(outcome.warnings.end(), plots.warnings.begin(), plots.warnings.end());
  }

  if (options.record_history) {
    try {
      History history(History::default_path());
      history.record(result, outcome.checks_passed);
    } catch (const Error& e) {
      outcome.warnings.push_back(std::string("this run was not added to the history: ") + e.what() +
                                 " (the JSON was written)");
    }
  }
  return outcome;
}

std::vector<LabReport> run_labs(const std::vector<const LabDef*>& labs, const RunOptions& options,
                                std::ostream& out, std::ostream& err) {
  std::vector<LabReport> reports;
  for (std::size_t i = 0; i < labs.size(); ++i) {
    const LabDef& lab = *labs[i];
    if (labs.size() > 1) out << fmt::format("\n[lab {} of {}]\n", i + 1, labs.size());
    out.flush();
    LabReport report{lab.info.id};
    const auto started = std::chrono::steady_clock::now();
    try {
      const RunOutcome outcome = run_lab(lab, options, out);
      for (const auto& w : outcome.warnings) err << "warning: " << w << '\n';
      report.files = outcome.files;
      report.status = outcome.checks_passed ? LabStatus::passed : LabStatus::failed;
      if (!outcome.checks_passed) report.detail = "a check against the reference failed (see checks above)";
      out << "\nwrote: " << fmt::format("{}", fmt::join(outcome.files, ", ")) << '\n';
    } catch (const Unavailable& e) {
      report.status = LabStatus::skipped;
      report.detail = e.what();
      err << fmt::format("skipped {}: {}\n", lab.info.id, e.what());
    } catch (const Error& e) {
      report.status = LabStatus::error;
      report.detail = e.what();
      err << fmt::format("error in {}: {}\n", lab.info.id, e.what());
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    out.flush();
    err.flush();
    reports.push_back(std::move(report));
  }
  return reports;
}

}  // namespace dp
