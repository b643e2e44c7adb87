#include "core/runner.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <charconv>
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
#include "core/interrupt.hpp"
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

namespace {

// A temporary name beside `target`, unique to this process and call, short enough for any file
// system (the target's own name may already be at the 255-byte limit), and hidden.
fs::path temporary_beside(const fs::path& target, const std::string& suffix) {
  static std::atomic<unsigned> counter{0};
  return target.parent_path() / fmt::format(".dontpanic-{}-{}{}", static_cast<long>(getpid()), counter++, suffix);
}

const char* file_kind(const fs::file_status& st) {
  switch (st.type()) {
    case fs::file_type::regular: return "a file";
    case fs::file_type::directory: return "a folder";
    case fs::file_type::character: return "a character device";
    case fs::file_type::block: return "a block device";
    case fs::file_type::fifo: return "a FIFO (named pipe)";
    case fs::file_type::socket: return "a socket";
    default: return "not a regular file";
  }
}

}  // namespace

fs::path check_output_file(const std::string& path, const std::string& what) {
  // A symbolic link is followed to the file it names (which is what a user who made the link
  // meant); every check below is about that file.
  fs::path target = path;
  std::error_code ec;
  for (int hops = 0; fs::is_symlink(fs::symlink_status(target, ec)); ++hops) {
    if (hops == 40) throw Error(fmt::format("cannot write {} {}: too many symbolic links", what, path));
    const fs::path next = fs::read_symlink(target, ec);
    target = next.is_absolute() ? next : target.parent_path() / next;
  }
  const fs::file_status st = fs::status(target, ec);
  if (fs::exists(st) && !fs::is_regular_file(st))
    throw Error(fmt::format("cannot write {} {}: {} is {}, and the result would replace it; give the "
                            "path of a regular file{}",
                            what, path, target.string(), file_kind(st),
                            fs::is_directory(st) ? fmt::format(" (such as {})", (target / "result.json").string()) : ""));
  // The history database is a regular file too, and replacing it loses every past run.
  try {
    const fs::path history = History::default_path();
    if (fs::exists(st) ? fs::equivalent(target, history, ec)
                       : fs::weakly_canonical(target, ec) == fs::weakly_canonical(history, ec))
      throw Error(fmt::format("cannot write {} {}: that is the history database (every past run); "
                              "give another path", what, path));
  } catch (const Error& e) {
    if (std::string(e.what()).find("history database") != std::string::npos) throw;
  }
  const fs::path folder = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const long name_max = pathconf(folder.c_str(), _PC_NAME_MAX);
  const auto name_length = static_cast<long>(target.filename().string().size());
  if (name_max > 0 && name_length > name_max)
    throw Error(fmt::format("cannot write {}: its file name is {} bytes long and this file system "
                            "allows at most {}; choose a shorter name",
                            what, name_length, name_max));
  return target;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const fs::path target = check_output_file(path, "the file");
  const fs::path tmp = temporary_beside(target, ".tmp");
  const TempFileGuard remove_on_interrupt(tmp.string());
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
  const fs::file_status st = fs::status(folder, ec);
  if (fs::exists(st) && !fs::is_directory(st))
    throw Error(fmt::format("cannot write {}: '{}' is {}, not a folder; choose a folder", what,
                            folder.string(), file_kind(st)));
  if (!fs::exists(st)) {
    if (!create)
      throw Error(fmt::format("cannot write {}: the folder '{}' does not exist; create it first or "
                              "choose another path",
                              what, folder.string()));
    fs::create_directories(folder, ec);
    if (ec)
      throw Error(fmt::format("cannot write {}: cannot create the folder '{}': {}; choose another path",
                              what, folder.string(), ec.message()));
  }
  const fs::path probe = temporary_beside(folder / "probe", ".probe");
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  const int open_errno = errno;
  if (fd >= 0) {
    ::close(fd);
    fs::remove(probe, ec);
    return;
  }
  throw Error(fmt::format("cannot write {}: the folder '{}' is not writable ({}); choose a writable path",
                          what, folder.string(), std::strerror(open_errno)));
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

int parse_repetitions(const std::string& text) {
  int n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n < 1 || n > 1000)
    throw Error(fmt::format("--repetitions '{}' is not valid; use a whole number from 1 to 1000", text));
  return n;
}

namespace {

std::string json_path_for(const LabDef& lab, const RunOptions& options) {
  return options.json_path.empty() ? (fs::path(options.out_dir) / (lab.info.id + ".json")).string()
                                   : options.json_path;
}

// "graph-intro:max-width=16" -> {"graph-intro", "max-width=16"}; no lab prefix -> {"", text}.
std::pair<std::string, std::string> split_lab_prefix(const std::string& assignment) {
  const auto colon = assignment.find(':');
  if (colon == std::string::npos || colon > assignment.find('=')) return {"", assignment};
  return {assignment.substr(0, colon), assignment.substr(colon + 1)};
}

std::string parameter_list(const LabDef& lab) {
  std::vector<std::string> names;
  for (const auto& p : lab.params) names.push_back(p.name);
  return names.empty() ? "no parameters" : fmt::format("{}", fmt::join(names, ", "));
}

// Every --param of a run of several labs must reach one: "lab:name=value" a lab of the run,
// "name=value" at least one lab that declares `name`.
void check_assignments_reach_a_lab(const std::vector<const LabDef*>& labs, const std::vector<std::string>& all) {
  std::vector<std::string> ids;
  for (const auto* lab : labs) ids.push_back(lab->info.id);
  for (const auto& a : all) {
    const auto [target, assignment] = split_lab_prefix(a);
    if (!target.empty()) {
      if (std::find(ids.begin(), ids.end(), target) == ids.end())
        throw Error(fmt::format("--param {}: lab '{}' is not in this run (its labs: {}); use "
                                "lab:name=value with one of them",
                                a, target, fmt::join(ids, ", ")));
      continue;
    }
    if (labs.size() < 2) continue;  // one lab: its own "unknown parameter" error says it all
    const std::string name = parse_assignment(assignment).first;
    const bool declared = std::any_of(labs.begin(), labs.end(), [&](const LabDef* lab) {
      return find_param(lab->params, name) != nullptr;
    });
    if (!declared) {
      std::vector<std::string> takes;
      for (const auto* lab : labs) takes.push_back(fmt::format("{} takes {}", lab->info.id, parameter_list(*lab)));
      throw Error(fmt::format("--param {}: no lab in this run has a parameter '{}' ({})", a, name,
                              fmt::join(takes, "; ")));
    }
  }
}

// Refuses a run whose parameters ask for more memory than the machine has free, with a value of
// the sizing parameter that fits; the lab would otherwise be killed minutes later, saying nothing.
void check_memory(const LabDef& lab, const Params& params, bool quick) {
  if (!lab.memory_need) return;
  const MemoryNeed need = lab.memory_need(params, MachineInfo::detect(), quick);
  const std::uint64_t available = available_memory_bytes();
  if (available == 0 || need.bytes <= available) return;
  std::string hint = "; use smaller sizes (--param)";
  if (const ParamSpec* spec = find_param(lab.params, lab.memory_param);
      spec != nullptr && params.integer(spec->name) > 0) {
    const double fits = static_cast<double>(params.integer(spec->name)) * 0.8 * static_cast<double>(available) /
                        static_cast<double>(need.bytes);
    hint = fmt::format("; try --param {}={}", spec->name,
                       std::max<long long>(static_cast<long long>(spec->min), static_cast<long long>(fits)));
  }
  throw Error(fmt::format("{} needs about {} of memory with these parameters ({}), and this machine "
                          "has {} available{}",
                          lab.info.id, format_bytes(need.bytes), need.what, format_bytes(available), hint));
}

}  // namespace

std::vector<std::string> assignments_for(const LabDef& lab, const std::vector<std::string>& all,
                                         bool single_lab) {
  std::vector<std::string> mine;
  for (const auto& a : all) {
    const auto [target, assignment] = split_lab_prefix(a);
    if (target.empty() ? single_lab || find_param(lab.params, parse_assignment(assignment).first)
                       : target == lab.info.id)
      mine.push_back(assignment);
  }
  return mine;
}

void validate_run(const std::vector<const LabDef*>& labs, const RunOptions& options) {
  check_repetitions(options.repetitions);
  if (labs.size() > 1 && !options.json_path.empty())
    throw Error("--json FILE takes a single lab; with several labs each JSON goes to --out DIR as <lab>.json");
  check_assignments_reach_a_lab(labs, options.assignments);
  for (const auto* lab : labs) {
    const auto mine = assignments_for(*lab, options.assignments, labs.size() == 1);
    Params params;
    try {
      params = Params::resolve(lab->params, options.quick, mine);
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", lab->info.id, e.what()));
    }
    if (!options.gpu.empty() && lab->info.requires_gpu.empty() && !lab->info.uses_gpu_if_present)
      throw Error(fmt::format("--gpu {}: {} runs on the CPU only, so there is no GPU to choose; leave "
                              "--gpu out (`dontpanic list` shows which labs use a GPU)",
                              options.gpu, lab->info.id));
    check_memory(*lab, params, options.quick);
    const std::string json_path = json_path_for(*lab, options);
    ensure_writable_dir(fs::path(json_path).parent_path(), "the result JSON " + json_path,
                        options.json_path.empty());
    check_output_file(json_path, "the result JSON");
  }
  if (options.plot == PlotMode::svg) ensure_writable_dir(options.out_dir, "plots", true);
}

RunOutcome run_lab(const LabDef& lab, const RunOptions& options, std::ostream& out) {
  validate_run({&lab}, options);
  const Params params = Params::resolve(lab.params, options.quick, assignments_for(lab, options.assignments, true));
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
  ctx.out_dir = options.out_dir;
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
  if (const fs::path target = check_output_file(json_path, "the result JSON"); target != fs::path(json_path))
    out << fmt::format("note: {} is a symbolic link; the JSON was written to the file it names, {}\n",
                       json_path, target.string());

  // History before plots: a run interrupted while gnuplot draws is still in the history.
  if (options.record_history) {
    try {
      History history(History::default_path());
      history.record(result, outcome.checks_passed);
    } catch (const Error& e) {
      outcome.warnings.push_back(std::string("this run was not added to the history: ") + e.what() +
                                 " (the JSON was written)");
    }
  }

  if (options.plot == PlotMode::svg) {
    auto plots = render_svg(result, options.out_dir);
    outcome.files.insert(outcome.files.end(), plots.files.begin(), plots.files.end());
    outcome.warnings.insert(outcome.warnings.end(), plots.warnings.begin(), plots.warnings.end());
  } else if (options.plot == PlotMode::term) {
    auto plots = render_terminal(result);
    out << plots.terminal_text;
    outcome.warnings.insert(outcome.warnings.end(), plots.warnings.begin(), plots.warnings.end());
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
      RunOptions mine = options;
      mine.assignments = assignments_for(lab, options.assignments, labs.size() == 1);
      const RunOutcome outcome = run_lab(lab, mine, out);
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
    } catch (const std::bad_alloc&) {
      // Out of memory in one lab (a ulimit, a cgroup, a machine busy with something else): say
      // so, and let the other labs of the run go on.
      report.status = LabStatus::error;
      report.detail = fmt::format("ran out of memory: an allocation failed with {} available; run it "
                                  "with smaller sizes (`dontpanic run {} --help` lists its parameters)",
                                  format_bytes(available_memory_bytes()), lab.info.id);
      err << fmt::format("error in {}: {}\n", lab.info.id, report.detail);
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    out.flush();
    err.flush();
    reports.push_back(std::move(report));
  }
  return reports;
}

}  // namespace dp
