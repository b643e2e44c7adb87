// dontpanic run <lab>... — measure, print the table, write JSON and SVG, keep history.
// dontpanic tour          — every lab up to a level (1 by default), quick unless --full.
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/runner.hpp"

namespace dp::cli {

namespace {

struct RunCliOptions {
  std::vector<std::string> labs;
  bool quick = false;
  std::vector<std::string> params;
  std::optional<std::string> repetitions;  // parsed in run(), so a bad value gets our words
  std::string json;
  std::string plot = "svg";
  std::string out = "results";
  std::string gpu;
  bool show_kernels = false;
};

// The lab parameter behind --show-kernels: labs that generate GPU kernels declare it.
constexpr const char* kShowKernelsParam = "show-kernels";

// --show-kernels is shorthand for --param show-kernels=on, and only means something to labs that
// generate kernels: anywhere else it is a mistake worth naming, not a flag to ignore.
void check_show_kernels(const std::vector<const LabDef*>& labs) {
  std::vector<std::string> generating;
  for (const auto& lab : registry())
    if (find_param(lab.params, kShowKernelsParam)) generating.push_back(lab.info.id);
  const std::string which = generating.empty() ? "none in this build" : fmt::format("{}", fmt::join(generating, ", "));
  for (const auto* lab : labs)
    if (!find_param(lab->params, kShowKernelsParam))
      throw Error(fmt::format("--show-kernels: lab '{}' generates no kernels to show; labs that do: {}",
                              lab->info.id, which));
}

// --show-kernels and --param show-kernels=off say opposite things: refuse rather than pick one.
void check_show_kernels_agrees(const RunCliOptions& o) {
  for (const auto& a : o.params) {
    const auto eq = a.find('=');
    const std::string name = a.substr(0, eq);
    const std::string bare = name.substr(name.find(':') == std::string::npos ? 0 : name.find(':') + 1);
    if ((bare == kShowKernelsParam || bare == "show_kernels") && eq != std::string::npos)
      throw Error(fmt::format("--show-kernels and --param {} both set show-kernels; give one of them", a));
  }
}

RunOptions make_options(const RunCliOptions& o) {
  RunOptions options;
  options.quick = o.quick;
  options.assignments = o.params;
  if (o.show_kernels) {
    check_show_kernels_agrees(o);
    options.assignments.push_back(std::string(kShowKernelsParam) + "=on");
  }
  if (o.repetitions) options.repetitions = parse_repetitions(*o.repetitions);
  options.json_path = o.json;
  options.out_dir = o.out;
  options.plot = parse_plot_mode(o.plot);
  options.gpu = o.gpu;
  return options;
}

const char* status_label(LabStatus status) {
  switch (status) {
    case LabStatus::passed: return "ok";
    case LabStatus::failed: return "CHECK FAILED";
    case LabStatus::skipped: return "skipped";
    case LabStatus::error: return "ERROR";
  }
  return "?";
}

// After several labs: each one's outcome and every file written, so nothing scrolls out of sight.
void print_summary(const std::vector<LabReport>& reports) {
  std::cout << "\n== summary\n";
  std::vector<std::string> files;
  for (const auto& r : reports) {
    std::cout << fmt::format("  {:<24} {:>6.1f} s  {}{}\n", r.id, r.seconds, status_label(r.status),
                             r.detail.empty() ? "" : ": " + r.detail);
    files.insert(files.end(), r.files.begin(), r.files.end());
  }
  if (!files.empty()) std::cout << fmt::format("wrote: {}\n", fmt::join(files, ", "));
}

// The exit code of a run: an error beats a failed check; a run where every lab was skipped (no
// Vulkan device, say) is "not ready", like `dontpanic doctor` on the same machine.
int exit_code_for(const std::vector<LabReport>& reports) {
  int code = kOk;
  bool all_skipped = !reports.empty();
  for (const auto& r : reports) {
    if (r.status == LabStatus::error) code = kUsage;
    if (r.status == LabStatus::failed && code == kOk) code = kCheckFailed;
    if (r.status != LabStatus::skipped) all_skipped = false;
  }
  return code == kOk && all_skipped ? int{kNotReady} : code;
}

int run(const RunCliOptions& o) {
  std::vector<const LabDef*> labs;
  for (const auto& id : o.labs) {
    const LabDef* lab = find_lab(id);
    if (lab == nullptr) throw Error(unknown_lab_message(id));
    labs.push_back(lab);
  }
  if (o.show_kernels) check_show_kernels(labs);
  const RunOptions options = make_options(o);
  validate_run(labs, options);  // every lab's parameters and the output paths, before measuring

  const auto reports = run_labs(labs, options, std::cout, std::cerr);
  if (reports.size() > 1) print_summary(reports);
  const int code = exit_code_for(reports);
  if (code == kCheckFailed)
    std::cerr << "dontpanic: a check against the reference failed; the numbers above are not trustworthy\n";
  return code;
}

struct TourOptions {
  bool full = false;
  int level = 1;
  std::string out = "results";
  std::string plot = "svg";
};

int tour(const TourOptions& o) {
  check_level(o.level, "--level");
  RunCliOptions base;
  base.quick = !o.full;
  base.out = o.out;
  base.plot = o.plot;
  const RunOptions options = make_options(base);

  std::vector<const LabDef*> labs;
  for (const auto& lab : registry())
    if (lab.info.level <= o.level && lab.info.tracks.empty()) labs.push_back(&lab);
  validate_run(labs, options);
  const auto reports = run_labs(labs, options, std::cout, std::cerr);

  double total_seconds = 0;
  std::cout << fmt::format("\n== tour summary: level {} labs, {} mode\n", o.level, o.full ? "full" : "quick");
  bool any_result = false;
  for (const auto& r : reports) {
    std::cout << fmt::format("  {:<24} {:>6.1f} s  {}{}\n", r.id, r.seconds, status_label(r.status),
                             r.detail.empty() ? "" : ": " + r.detail);
    total_seconds += r.seconds;
    any_result |= !r.files.empty();
  }
  std::cout << fmt::format("  {:<24} {:>6.1f} s\n", "total", total_seconds);
  const int exit_code = exit_code_for(reports);
  const auto dir = std::filesystem::absolute(o.out).lexically_normal().string();
  if (!any_result) {
    std::cout << "\nNo lab produced a result, so there is nothing to read yet: the lines above say "
                 "why for each one. `dontpanic doctor` checks what this machine is missing.\n";
    return exit_code == kOk ? int{kUsage} : exit_code;
  }
  std::cout << fmt::format(
      "\nResults are in {}: one <lab>.json per lab (every number, with the machine that produced "
      "it) and <lab>-<plot>.svg plots you can open in a browser.\n"
      "Read next: the guide, built with these very figures: dontpanic guide build --level 1\n"
      "(or read guide/docs/index.md, and each lab's page: dontpanic list shows the paths).\n"
      "Past runs: dontpanic history <lab>. Full sizes (slower, smoother curves): ./run --full\n",
      dir);
  return exit_code;
}

}  // namespace

void print_lab_parameters(const LabDef& lab, std::ostream& out) {
  out << fmt::format("\n{} — {}\n", lab.info.id, lab.info.title);
  if (lab.params.empty()) {
    out << "  takes no parameters\n";
    return;
  }
  out << "parameters (--param name=value):\n";
  for (const auto& p : lab.params) {
    const std::string defaults =
        p.quick_value.empty() || p.quick_value == p.default_value
            ? fmt::format("default {}", p.default_value)
            : fmt::format("default {}, with --quick {}", p.default_value, p.quick_value);
    out << fmt::format("  {:<16} {}\n  {:<16} {}; {}\n", p.name, p.help, "", p.describe_valid(), defaults);
  }
}

void add_run_command(CLI::App& app, CliState& state) {
  auto o = std::make_shared<RunCliOptions>();
  auto* cmd = app.add_subcommand("run", "Run labs: measure, print a table, write JSON and SVG plots, record history");
  cmd->add_option("lab", o->labs, "Lab ids (see `dontpanic list`)")->required();
  cmd->add_flag("--quick", o->quick, "Small sizes and few repetitions (seconds, not minutes)");
  // One value per --param, so that `--param n=1 lab` still reads `lab` as the lab.
  cmd->add_option("--param", o->params,
                  "Set a lab parameter, name=value, or lab:name=value for one lab of several "
                  "(repeatable; `dontpanic run <lab> --help` lists a lab's parameters)")
      ->allow_extra_args(false);
  cmd->add_option_function<std::string>("--repetitions", [o](const std::string& n) { o->repetitions = n; },
                                        "Repetitions per measurement (1-1000)");
  cmd->add_option("--json", o->json, "Write the result JSON here (default: <out>/<lab>.json)");
  cmd->add_option("--plot", o->plot, "svg (files in --out), term (text plot) or none");
  cmd->add_option("--out", o->out, "Folder for JSON and SVG files (default: results)");
  cmd->add_option("--gpu", o->gpu, "Vulkan device to use: a name substring or an index (see doctor)");
  cmd->add_flag("--show-kernels", o->show_kernels,
                "Print the GLSL of every generated kernel (labs with a graph compiler: graph-compiler)");
  cmd->callback([o, &state] { state.action = [o] { return run(*o); }; });
}

void add_tour_command(CLI::App& app, CliState& state) {
  auto o = std::make_shared<TourOptions>();
  auto* cmd = app.add_subcommand("tour", "Run every common lab up to a level (the level-1 tour by default)");
  cmd->add_flag("--full", o->full, "Full sizes instead of quick mode");
  cmd->add_option("--level", o->level, "Highest level to include (1-5, default 1)");
  cmd->add_option("--out", o->out, "Folder for JSON and SVG files (default: results)");
  cmd->add_option("--plot", o->plot, "svg, term or none");
  cmd->callback([o, &state] { state.action = [o] { return tour(*o); }; });
}

}  // namespace dp::cli
