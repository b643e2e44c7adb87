// dontpanic profile <lab> — where does a lab's time go? Runs the lab's quick mode under a profiler
// and prints what it counted, the hot functions, and the hot lines of the lab's own file.
//
//   dontpanic profile access-patterns                      perf: counts + sampled hot lines
//   dontpanic profile matmul-loop-order --tool cachegrind  simulated caches: misses per line
//   dontpanic profile train-mlp --param epochs=1 --json profile.json
//
// The profiled program is this same binary: `dontpanic run <lab> --quick --plot none --out TMP`,
// with its history in TMP too (a run slowed by a profiler is no result to keep).
//
//   perf        two runs: `perf stat` counts events over the whole run (hardware counters where
//               the machine has them; most virtual machines do not, and the table says so), then
//               `perf record -e cpu-clock` samples where the program is, about 1000 times a second.
//               addr2line maps each sample to a file and line (the labs and the tensor kernels are
//               built with line tables: -g1 in CMakeLists.txt).
//   cachegrind  valgrind runs the program on a simulated CPU (about 50x slower) with a simulated
//               L1 and last-level cache, and counts instructions and misses per source line. The
//               numbers repeat from run to run (except work that depends on time: a benchmark
//               picks its iteration count by the clock), on any machine.
//               Quick runs stop their sweeps at a wall-clock budget, so they stay bounded here too.
//
// Index: tool checks (shared with doctor) -> the child run -> perf -> cachegrind -> report -> CLI
#include <sys/utsname.h>
#include <cxxabi.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/portability.hpp"  // kSanitized
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/process.hpp"
#include "core/runner.hpp"
#include "core/source_tree.hpp"
#include "core/table.hpp"

namespace dp::cli {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ tool checks ----------

namespace {

std::string first_lines(const std::string& text, int n) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (n > 0 && std::getline(in, line)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    out += (out.empty() ? "" : " / ") + line.substr(line.find_first_not_of(" \t"));
    --n;
  }
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string demangle(const std::string& name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
  return status == 0 && d ? std::string(d.get()) : name;
}

std::string kernel_release() {
  utsname u{};
  return uname(&u) == 0 ? u.release : "unknown";
}

}  // namespace

int perf_event_paranoid() {
  std::ifstream in("/proc/sys/kernel/perf_event_paranoid");
  int value = 99;
  return in >> value ? value : 99;
}

ProfilerCheck check_perf() {
  ProfilerCheck c;
  c.tool = "perf";
  const auto path = find_program("perf");
  if (!path) {
    c.why = "perf is not installed (not found on PATH)";
    c.fix = "sudo apt-get install linux-perf (tools/setup installs it), or use --tool cachegrind";
    return c;
  }
  c.path = *path;
  // The smallest real use: count one software event over `true`. Debian's /usr/bin/perf is a
  // wrapper that looks for perf_<kernel version>, and fails when the kernel is newer than the
  // package; a paranoid setting of 3 or more (some distributions) refuses every user.
  const auto run = run_process({*path, "stat", "-x,", "-e", "task-clock", "--", "true"}, {}, 30);
  if (run.exit_code != 0) {
    c.why = fmt::format("perf is installed but cannot count here (kernel {}, perf_event_paranoid {}): {}",
                        kernel_release(), perf_event_paranoid(), first_lines(run.output, 2));
    c.fix = run.output.find("not found for kernel") != std::string::npos
                ? "install the perf that matches this kernel (linux-perf from the kernel's own release, or "
                  "linux-tools-$(uname -r) on Ubuntu), or use --tool cachegrind"
                : "as root: sysctl kernel.perf_event_paranoid=2 (lets users profile their own programs), "
                  "or use --tool cachegrind";
    return c;
  }
  c.usable = true;
  // Hardware counters: a virtual machine usually passes none through, and perf says <not supported>.
  const auto hw = run_process({*path, "stat", "-x,", "-e", "cycles,instructions", "--", "true"}, {}, 30);
  c.hardware_counters = hw.exit_code == 0 && hw.output.find("<not supported>") == std::string::npos &&
                        hw.output.find("<not counted>") == std::string::npos;
  c.detail = fmt::format("{}; hardware counters: {}; perf_event_paranoid {}", *path,
                         c.hardware_counters ? "yes" : "no (software events and cpu-clock sampling only: usual in a VM)",
                         perf_event_paranoid());
  return c;
}

ProfilerCheck check_cachegrind() {
  ProfilerCheck c;
  c.tool = "cachegrind";
  const auto path = find_program("valgrind");
  if (!path) {
    c.why = "valgrind is not installed (not found on PATH)";
    c.fix = "sudo apt-get install valgrind (tools/setup installs it), or use --tool perf";
    return c;
  }
  c.path = *path;
  const auto run = run_process({*path, "--tool=cachegrind", "--cache-sim=yes", "--cachegrind-out-file=/dev/null",
                                "true"}, {}, 60);
  if (run.exit_code != 0) {
    c.why = fmt::format("valgrind is installed but cannot run cachegrind: {}", first_lines(run.output, 2));
    c.fix = "reinstall valgrind (sudo apt-get install --reinstall valgrind), or use --tool perf";
    return c;
  }
#if defined(__AVX512F__)
  // This build has AVX-512 instructions (see binary_for_valgrind): valgrind needs the other build.
  const fs::path other = source_dir() / "build" / "valgrind" / "dontpanic";
  if (!fs::exists(other)) {
    c.why = "valgrind runs, but this build uses AVX-512 instructions (-march=native on a CPU that has them), "
            "which valgrind cannot simulate, and there is no build without them (" + other.string() + ")";
    c.fix = "cmake --preset valgrind && cmake --build --preset valgrind --target dontpanic (once; "
            "`dontpanic profile` finds it), or use --tool perf";
    return c;
  }
  c.usable = true;
  c.detail = fmt::format("{} --tool=cachegrind on {} (built without AVX-512; simulated caches: deterministic, "
                         "about 50x slower)", *path, other.string());
#else
  c.usable = true;
  c.detail = fmt::format("{} --tool=cachegrind (simulated caches: deterministic, about 50x slower)", *path);
#endif
  return c;
}

namespace {

// The tool could not run here: said as an error, and `dontpanic profile` exits "not ready" (3).
class ToolUnavailable : public Error {
 public:
  using Error::Error;
};

// ------------------------------------------------------------------ the child run ----------

struct ProfileOptions {
  std::string lab;
  std::string tool;          // "", "perf" or "cachegrind"; "" = perf where it works, else cachegrind
  std::vector<std::string> params;
  int top = 10;
  double timeout = 0;        // seconds per profiled run; 0 = the tool's default
  std::string json;
  std::string rank = "auto"; // cachegrind: rank lines by instructions, d1 or ll misses
};

// A temporary folder for the child's output, the profiler's data and the child's history.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "dontpanic-profile-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr)
      throw Error(fmt::format("cannot create a temporary folder under {}; set TMPDIR to a writable folder",
                              fs::temp_directory_path().string()));
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct ChildRun {
  std::vector<std::string> argv;  // dontpanic run <lab> --quick ...
  std::vector<std::string> env;   // its history goes to the temporary folder
  std::string shown;              // the command as a reader would type it
};

// The dontpanic that valgrind can run. This binary was built with -march=native; where that
// brought AVX-512 (valgrind simulates no AVX-512 instruction, and GCC uses them even in static
// initializers), the one built by the "valgrind" preset, which leaves them out.
std::string binary_for_valgrind() {
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  // A sanitizer build cannot run under valgrind (both instrument memory in their own way): the
  // run would finish with nothing attributed to the lab's lines.
  if (kSanitized)
    throw ToolUnavailable("this dontpanic is a sanitizer build (AddressSanitizer or ThreadSanitizer), which valgrind "
                          "cannot run; profile with the release build (build/release/dontpanic), or use --tool perf");
#if defined(__AVX512F__)
  const fs::path other = source_dir() / "build" / "valgrind" / "dontpanic";
  if (!fs::exists(other))
    throw ToolUnavailable(fmt::format(
        "this dontpanic uses AVX-512 instructions (-march=native on a CPU that has them), which valgrind "
        "cannot simulate; build a copy without them once, and profile again (it is found by itself):\n"
        "  cmake --preset valgrind && cmake --build --preset valgrind --target dontpanic\n"
        "(it goes to {}); or use --tool perf", other.string()));
  return other.string();
#else
  return self;
#endif
}

ChildRun child_run(const ProfileOptions& o, const TempDir& tmp, const std::string& binary) {
  ChildRun c;
  const std::string self = binary;
  c.argv = {self, "run", o.lab, "--quick", "--plot", "none", "--out", (tmp.path() / "out").string()};
  c.shown = fmt::format("dontpanic run {} --quick --plot none", o.lab);
  for (const auto& p : o.params) {
    c.argv.insert(c.argv.end(), {"--param", p});
    c.shown += " --param " + p;
  }
  c.env = {"DONTPANIC_HISTORY=" + (tmp.path() / "history.sqlite").string()};
  return c;
}

// The lab's run inside the profiler ended: fine, a failed check (still worth profiling, said), or
// an error (its last lines, and no profile).
void check_child(const ProcessResult& r, const std::string& what, double timeout, const std::string& hint) {
  if (r.timed_out)
    throw Error(fmt::format("{} did not finish within {:.0f} s and was stopped; {}", what, timeout, hint));
  if (r.exit_code == 0 || r.exit_code == kCheckFailed) return;
  std::string tail = r.output;
  if (tail.size() > 1500) tail = "..." + tail.substr(tail.size() - 1500);
  if (r.exit_code == kNotReady)
    throw ToolUnavailable(fmt::format("{}: the lab cannot run on this machine:\n{}", what, tail));
  throw Error(fmt::format("{} failed (exit status {}); its last lines:\n{}", what, r.exit_code, tail));
}

// ------------------------------------------------------------------ what a profile holds ----------

struct Count {
  std::string event;
  std::optional<double> value;  // nullopt: not counted here
  std::string unit;
  std::string note;
};

struct HotEntry {             // a function or a source line
  std::string name;           // function name, or "file:line"
  std::string file;           // lines: the file as the debug info names it (normalized)
  int line = 0;
  std::string text;           // lines: the line's source text, where the file is readable
  double weight = 0;          // samples (perf) or the ranking event's count (cachegrind)
  std::map<std::string, double> counts;  // cachegrind: every event of the line or function
};

struct Profile {
  std::string tool;
  std::string weight_name;    // "samples", "Ir", "D1 misses", "LL misses"
  double total_weight = 0;
  std::vector<Count> counts;
  std::vector<HotEntry> functions;
  std::vector<HotEntry> lines;  // every line, heaviest first
  bool hardware_counters = false;
  std::vector<std::string> notes;
};

bool is_lab_file(const std::string& file, const LabDef& lab) {
  const std::string norm = fs::path(file).lexically_normal().string();
  return norm == lab.info.source ||
         (norm.size() > lab.info.source.size() &&
          norm.compare(norm.size() - lab.info.source.size(), lab.info.source.size(), lab.info.source) == 0 &&
          norm[norm.size() - lab.info.source.size() - 1] == '/');
}

// The text of line `n` of `file` (absolute, or relative to the source tree), trimmed; "" if unreadable.
std::string source_line(const std::string& file, int n, std::map<std::string, std::vector<std::string>>& cache,
                        std::size_t max_length = 72) {
  auto it = cache.find(file);
  if (it == cache.end()) {
    std::vector<std::string> lines;
    fs::path p = file;
    if (p.is_relative()) p = source_dir() / p;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    it = cache.emplace(file, std::move(lines)).first;
  }
  if (n < 1 || static_cast<std::size_t>(n) > it->second.size()) return "";
  std::string s = it->second[static_cast<std::size_t>(n - 1)];
  const auto start = s.find_first_not_of(" \t");
  s = start == std::string::npos ? "" : s.substr(start);
  return s.size() > max_length ? s.substr(0, max_length - 3) + "..." : s;
}

// A path as the reader knows it: relative to the source tree where it lies inside it.
std::string shown_path(const std::string& file) {
  const fs::path norm = fs::path(file).lexically_normal();
  const std::string root = source_dir().lexically_normal().string();
  const std::string s = norm.string();
  if (!root.empty() && s.rfind(root + "/", 0) == 0) return s.substr(root.size() + 1);
  return s;
}

// ------------------------------------------------------------------ perf ----------

// The events `perf stat` is asked for: software ones every Linux counts, then hardware ones that a
// virtual machine usually lacks (perf prints <not supported> for them, and so do we, in words).
const std::vector<std::pair<std::string, std::string>> kPerfEvents = {
    {"task-clock", "CPU time of every thread of the run"},
    {"context-switches", "the kernel switched this program off a CPU"},
    {"cpu-migrations", "a thread moved to another CPU"},
    {"page-faults", "first touches of memory pages (and other faults)"},
    {"cycles", "CPU clock cycles"},
    {"instructions", "instructions retired"},
    {"cache-references", "last-level cache accesses"},
    {"cache-misses", "last-level cache misses"},
    {"branches", "branch instructions"},
    {"branch-misses", "mispredicted branches"},
};

std::vector<Count> parse_perf_stat(const std::string& csv) {
  std::vector<Count> counts;
  std::istringstream in(csv);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string field; std::getline(ss, field, ',');) f.push_back(field);
    if (f.size() < 3) continue;
    Count c;
    c.event = f[2];
    if (const auto colon = c.event.find(':'); colon != std::string::npos) c.event = c.event.substr(0, colon);
    c.unit = f[1];
    for (const auto& [name, what] : kPerfEvents)
      if (name == c.event) c.note = what;
    if (f[0].rfind("<not", 0) == 0) {
      c.note = "not counted here (no hardware counter: usual in a virtual machine)";
    } else {
      try {
        c.value = std::stod(f[0]);
      } catch (const std::exception&) {
        c.note = "perf printed '" + f[0] + "'";
      }
    }
    counts.push_back(c);
  }
  return counts;
}

// `perf report` as '|'-separated rows: "samples|key..." -> (samples, fields after the first).
std::vector<std::pair<double, std::vector<std::string>>> perf_report_rows(const std::string& text) {
  std::vector<std::pair<double, std::vector<std::string>>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string field; std::getline(ss, field, '|');) {
      const auto a = field.find_first_not_of(' '), b = field.find_last_not_of(' ');
      f.push_back(a == std::string::npos ? "" : field.substr(a, b - a + 1));
    }
    if (f.size() < 2) continue;
    try {
      rows.emplace_back(std::stod(f[0]), std::vector<std::string>(f.begin() + 1, f.end()));
    } catch (const std::exception&) {
    }
  }
  return rows;
}

// Samples -> source lines. `perf report --sort srcline` would do it, but it starts addr2line for
// every address (18 s for 300 samples of dontpanic here), so: the samples' addresses from
// `perf script`, the binary's load address from one symbol that `nm` lists once, then one
// addr2line for every distinct address of the binary. Samples elsewhere (the kernel, libraries
// without line tables) are counted per symbol.
std::vector<HotEntry> sampled_lines(const std::string& perf, const std::string& data, double timeout) {
  const std::string binary = fs::read_symlink("/proc/self/exe").string();
  const auto script = run_process({perf, "script", "-i", data, "-F", "ip,sym,symoff,dso", "--no-demangle"}, {}, timeout);
  if (script.exit_code != 0) throw Error(fmt::format("perf script failed: {}", first_lines(script.output, 3)));
  struct Sample {
    std::uint64_t ip;
    std::string symbol;  // mangled
    std::uint64_t offset;
  };
  std::vector<Sample> ours;                  // in this binary
  std::map<std::string, double> elsewhere;   // "symbol (dso)" -> samples
  std::istringstream in(script.output);
  for (std::string line; std::getline(in, line);) {
    // "    557785ab3174 _ZN..._matrix...+0xc4 (/path/to/dontpanic)"
    std::istringstream ss(line);
    std::string ip_text, sym;
    if (!(ss >> ip_text >> sym)) continue;
    std::string dso;
    std::getline(ss, dso);
    const auto open = dso.find('('), close = dso.rfind(')');
    dso = open != std::string::npos && close > open ? dso.substr(open + 1, close - open - 1) : "?";
    const auto plus = sym.rfind("+0x");
    std::uint64_t ip = 0, offset = 0;
    try {
      ip = std::stoull(ip_text, nullptr, 16);
      if (plus != std::string::npos) offset = std::stoull(sym.substr(plus + 3), nullptr, 16);
    } catch (const std::exception&) {
      continue;
    }
    const std::string name = plus != std::string::npos ? sym.substr(0, plus) : sym;
    if (dso == binary) ours.push_back({ip, name, offset});
    else elsewhere[fmt::format("{} ({})", demangle(name), fs::path(dso).filename().string())] += 1;
  }

  std::vector<HotEntry> lines;
  for (const auto& [name, n] : elsewhere) lines.push_back({.name = name, .weight = n});
  if (ours.empty()) return lines;
  // The load address: runtime address of a symbol minus its address in the file (nm).
  const auto nm = run_process({"nm", "--defined-only", binary}, {}, timeout);
  std::map<std::string, std::pair<std::uint64_t, int>> in_file;  // name -> (address, how many)
  std::istringstream nm_in(nm.output);
  for (std::string line; std::getline(nm_in, line);) {
    std::istringstream ss(line);
    std::string address, kind, name;
    if (!(ss >> address >> kind >> name)) continue;
    try {
      auto& [a, count] = in_file[name];
      a = std::stoull(address, nullptr, 16);
      ++count;
    } catch (const std::exception&) {
    }
  }
  std::optional<std::uint64_t> bias;
  for (const auto& s : ours)
    if (const auto it = in_file.find(s.symbol); it != in_file.end() && it->second.second == 1) {
      bias = s.ip - s.offset - it->second.first;
      break;
    }
  if (!bias) {
    for (const auto& s : ours) lines.push_back({.name = demangle(s.symbol) + " (dontpanic)", .weight = 1});
    return lines;  // no symbol table (a stripped binary): functions only
  }
  std::map<std::uint64_t, double> by_address;
  std::map<std::uint64_t, std::string> symbol_at;
  for (const auto& s : ours) {
    by_address[s.ip - *bias] += 1;
    symbol_at[s.ip - *bias] = s.symbol;
  }
  std::string addresses;
  for (const auto& [a, n] : by_address) addresses += fmt::format("{:x}\n", a);
  const auto a2l = run_process({"addr2line", "-e", binary}, addresses, timeout);
  std::istringstream a2l_in(a2l.output);
  std::map<std::pair<std::string, int>, double> by_line;
  for (const auto& [a, n] : by_address) {
    std::string where;
    if (!std::getline(a2l_in, where)) break;
    where = where.substr(0, where.find(" (discriminator"));
    const auto colon = where.rfind(':');
    int line = 0;
    try {
      line = colon == std::string::npos ? 0 : std::stoi(where.substr(colon + 1));
    } catch (const std::exception&) {
    }
    // Code compiled without line tables (src/core, src/graph...): counted per function instead.
    by_line[{line > 0 ? fs::path(where.substr(0, colon)).lexically_normal().string() : demangle(symbol_at[a]), line}] += n;
  }
  for (const auto& [key, n] : by_line) {
    if (key.second > 0) lines.push_back({.name = fmt::format("{}:{}", key.first, key.second), .file = key.first,
                                         .line = key.second, .weight = n});
    else lines.push_back({.name = key.first + " (dontpanic, no line table)", .weight = n});
  }
  return lines;
}

Profile profile_with_perf(const ProfilerCheck& perf, const ChildRun& child, const TempDir& tmp,
                          double timeout, std::ostream& out) {
  Profile p;
  p.tool = "perf";
  p.weight_name = "samples";
  p.hardware_counters = perf.hardware_counters;
  const std::string hint = "a smaller --param makes the run shorter, or give more time with --timeout SECONDS";

  // 1. Counting: perf stat over the whole run.
  std::string events;
  for (const auto& [name, what] : kPerfEvents) events += (events.empty() ? "" : ",") + name;
  const std::string stat_file = (tmp.path() / "stat.csv").string();
  std::vector<std::string> argv = {perf.path, "stat", "-x,", "-o", stat_file, "-e", events, "--"};
  argv.insert(argv.end(), child.argv.begin(), child.argv.end());
  out << fmt::format("1/2 perf stat -e {} -- {}\n", events, child.shown);
  out.flush();
  const auto stat = run_process(argv, {}, timeout, {.env = child.env});
  check_child(stat, "the run under perf stat", timeout, hint);
  if (stat.exit_code == kCheckFailed) p.notes.push_back("the lab's check failed in the profiled run: see `dontpanic run`");
  p.counts = parse_perf_stat(read_text(stat_file));
  if (!p.hardware_counters)
    p.notes.push_back("no hardware counters here (cycles, instructions, cache and branch events): usual in a "
                      "virtual machine; on a laptop or a bare-metal machine perf counts them too");

  // 2. Sampling: perf record, a sample of where the program is every millisecond of CPU time.
  const std::string data = (tmp.path() / "perf.data").string();
  argv = {perf.path, "record", "-e", "cpu-clock", "-F", "1000", "-o", data, "--"};
  argv.insert(argv.end(), child.argv.begin(), child.argv.end());
  out << fmt::format("2/2 perf record -e cpu-clock -F 1000 -- {}\n", child.shown);
  out.flush();
  const auto record = run_process(argv, {}, timeout, {.env = child.env});
  check_child(record, "the run under perf record", timeout, hint);

  const auto report = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> a = {perf.path, "report", "-i", data, "--stdio", "--no-children", "-q", "-t", "|"};
    a.insert(a.end(), extra.begin(), extra.end());
    const auto r = run_process(a, {}, timeout);
    if (r.exit_code != 0) throw Error(fmt::format("perf report failed: {}", first_lines(r.output, 3)));
    return perf_report_rows(r.output);
  };
  for (const auto& [samples, f] : report({"--sort", "dso,sym", "-F", "sample,dso,sym"})) {
    if (f.size() < 2) continue;
    std::string sym = f[1];
    if (sym.rfind("[k] ", 0) == 0 || sym.rfind("[.] ", 0) == 0) sym = sym.substr(4);
    p.functions.push_back({.name = sym, .file = f[0], .weight = samples});
    p.total_weight += samples;
  }
  p.lines = sampled_lines(perf.path, data, timeout);
  return p;
}

// ------------------------------------------------------------------ cachegrind ----------

// cachegrind.out: "events: Ir I1mr ...", then "fl=FILE", "fn=NAME" and "LINE count count ..." rows.
void parse_cachegrind(const std::string& text, std::vector<std::string>& events,
                      std::map<std::pair<std::string, int>, std::vector<double>>& by_line,
                      std::map<std::string, std::vector<double>>& by_function, std::vector<double>& totals) {
  std::istringstream in(text);
  std::string file, function;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("events:", 0) == 0) {
      std::istringstream ss(line.substr(7));
      for (std::string e; ss >> e;) events.push_back(e);
    } else if (line.rfind("fl=", 0) == 0) {
      file = fs::path(line.substr(3)).lexically_normal().string();
    } else if (line.rfind("fn=", 0) == 0) {
      function = line.substr(3);
    } else if (line.rfind("summary:", 0) == 0) {
      std::istringstream ss(line.substr(8));
      for (double v; ss >> v;) totals.push_back(v);
    } else if (!line.empty() && std::isdigit(static_cast<unsigned char>(line[0]))) {
      std::istringstream ss(line);
      int n = 0;
      ss >> n;
      auto& l = by_line[{file, n}];
      auto& f = by_function[function];
      l.resize(events.size());
      f.resize(events.size());
      for (std::size_t i = 0; i < events.size(); ++i) {
        double v = 0;
        if (!(ss >> v)) break;
        l[i] += v;
        f[i] += v;
      }
    }
  }
}

// "desc: D1 cache:   49152 B, 64 B, 12-way associative" lines -> "D1 48 KiB 12-way, ...".
std::string simulated_caches(const std::string& text) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line) && line.rfind("desc:", 0) == 0;) {
    std::istringstream ss(line.substr(5));
    std::string name, word, ways;
    double bytes = 0;
    if (!(ss >> name >> word >> bytes)) continue;
    ss >> word >> word >> word >> ways;  // "B," "64" "B," "12-way"
    out += fmt::format("{}{} {} {}", out.empty() ? "" : ", ", name,
                       bytes >= 1 << 20 ? fmt::format("{:.0f} MiB", bytes / (1 << 20)) : fmt::format("{:.0f} KiB", bytes / 1024),
                       ways);
  }
  return out.empty() ? "sizes not recorded" : out;
}

Profile profile_with_cachegrind(const ProfilerCheck& cg, const ChildRun& child, const TempDir& tmp,
                                double timeout, const std::string& rank, std::ostream& out) {
  Profile p;
  p.tool = "cachegrind";
  const std::string data = (tmp.path() / "cachegrind.out").string();
  std::vector<std::string> argv = {cg.path, "--tool=cachegrind", "--cache-sim=yes", "--cachegrind-out-file=" + data};
  argv.insert(argv.end(), child.argv.begin(), child.argv.end());
  if (child.argv[0] != fs::read_symlink("/proc/self/exe").string())
    out << fmt::format("(valgrind runs {}: this build without AVX-512)\n", shown_path(child.argv[0]));
  out << fmt::format("valgrind --tool=cachegrind --cache-sim=yes -- {}\n"
                     "(a simulated CPU: about 50x slower than the real run; stopped after {:.0f} s)\n",
                     child.shown, timeout);
  out.flush();
  const auto run = run_process(argv, {}, timeout, {.env = child.env});
  if (run.output.find("unhandled instruction bytes") != std::string::npos)
    throw ToolUnavailable(
        "valgrind met an instruction it cannot simulate (this build uses -march=native, and valgrind "
        "knows no AVX-512); use --tool perf, or profile a build made without AVX-512 "
        "(cmake --preset release -DCMAKE_CXX_FLAGS=-mno-avx512f)");
  check_child(run, "the run under cachegrind", timeout,
              "cachegrind is about 50x slower than the real run: a smaller --param, or --timeout SECONDS");
  if (run.exit_code == kCheckFailed) p.notes.push_back("the lab's check failed in the profiled run: see `dontpanic run`");

  std::vector<std::string> events;
  std::map<std::pair<std::string, int>, std::vector<double>> by_line;
  std::map<std::string, std::vector<double>> by_function;
  std::vector<double> totals;
  parse_cachegrind(read_text(data), events, by_line, by_function, totals);
  const auto index = [&](const std::string& e) -> std::optional<std::size_t> {
    const auto it = std::find(events.begin(), events.end(), e);
    return it == events.end() ? std::nullopt : std::optional(static_cast<std::size_t>(it - events.begin()));
  };
  const auto sum = [&](const std::vector<double>& v, std::initializer_list<const char*> names) {
    double s = 0;
    for (const char* n : names)
      if (const auto i = index(n); i && *i < v.size()) s += v[*i];
    return s;
  };
  if (!index("Ir") || !index("D1mr"))
    throw Error(fmt::format("cachegrind wrote no instruction or cache counts to {} (events: {})", data,
                            fmt::format("{}", fmt::join(events, " "))));
  // The ranking: what the lines are sorted by, and what "share" is a share of.
  const std::string by = rank == "auto" ? "d1" : rank;
  const auto weight = [&](const std::vector<double>& v) {
    if (by == "instructions") return sum(v, {"Ir"});
    if (by == "ll") return sum(v, {"ILmr", "DLmr", "DLmw"});
    return sum(v, {"D1mr", "D1mw"});
  };
  p.weight_name = by == "instructions" ? "Ir" : by == "ll" ? "LL misses" : "D1 misses";

  const double ir = sum(totals, {"Ir"}), dr = sum(totals, {"Dr"}), dw = sum(totals, {"Dw"});
  const double d1 = sum(totals, {"D1mr", "D1mw"}), ll = sum(totals, {"DLmr", "DLmw"});
  p.counts = {
      {"instructions (Ir)", ir, "", "instructions executed"},
      {"data reads (Dr)", dr, "", "loads"},
      {"data writes (Dw)", dw, "", "stores"},
      {"D1 misses", d1, "", fmt::format("L1 data cache misses: {:.2f}% of reads and writes", 100 * d1 / std::max(1.0, dr + dw))},
      {"LL misses (data)", ll, "", fmt::format("last-level cache misses: {:.3f}% of reads and writes", 100 * ll / std::max(1.0, dr + dw))},
      {"I1 misses", sum(totals, {"I1mr"}), "", "instruction cache misses"},
  };
  for (const auto& [name, v] : by_function) {
    HotEntry e{.name = name, .weight = weight(v)};
    for (std::size_t i = 0; i < events.size() && i < v.size(); ++i) e.counts[events[i]] = v[i];
    p.functions.push_back(e);
  }
  for (const auto& [key, v] : by_line) {
    HotEntry e{.name = fmt::format("{}:{}", key.first, key.second), .file = key.first, .line = key.second,
               .weight = weight(v)};
    for (std::size_t i = 0; i < events.size() && i < v.size(); ++i) e.counts[events[i]] = v[i];
    p.lines.push_back(e);
  }
  p.total_weight = weight(totals);
  p.notes.push_back(fmt::format("cachegrind simulated these caches (sizes from the CPU's CPUID; a virtual CPU may "
                                "report odd ones, and --D1/--LL of valgrind would set them): {}. The counts repeat from "
                                "run to run, except for work whose amount depends on time (a benchmark choosing its "
                                "iterations)", simulated_caches(read_text(data))));
  return p;
}

// ------------------------------------------------------------------ report ----------

std::string share(double part, double total) {
  return total > 0 ? fmt::format("{:.1f}%", 100 * part / total) : "-";
}

std::string count_text(double v) {
  // Whole numbers with thousands separators; fractions (msec) with one decimal.
  if (v != static_cast<double>(static_cast<long long>(v))) return fmt::format("{:.1f}", v);
  std::string digits = fmt::format("{}", static_cast<long long>(v)), s;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) s += ',';
    s += digits[i];
  }
  return s;
}

std::string clip(const std::string& s, std::size_t n) { return s.size() > n ? s.substr(0, n - 3) + "..." : s; }

void print_profile(const Profile& p, const LabDef& lab, int top, std::ostream& out) {
  out << fmt::format("\n== counts ({}, the whole run)\n", p.tool == "perf" ? "perf stat" : "cachegrind");
  Table counts({"event", "count", "unit", "what"});
  for (const auto& c : p.counts)
    counts.add_row({c.event, c.value ? count_text(*c.value) : "-", c.unit, c.note});
  counts.print(out);

  const bool cg = p.tool == "cachegrind";
  out << fmt::format("\n== hot functions (by {}; {} in all)\n", p.weight_name, count_text(p.total_weight));
  std::vector<HotEntry> functions = p.functions;
  std::stable_sort(functions.begin(), functions.end(), [](const auto& a, const auto& b) { return a.weight > b.weight; });
  Table ft = cg ? Table({"share", p.weight_name, "Ir", "D1 miss", "LL miss", "function"})
                : Table({"share", "samples", "function", "in"});
  for (int i = 0; i < top && i < static_cast<int>(functions.size()); ++i) {
    const auto& f = functions[static_cast<std::size_t>(i)];
    if (f.weight <= 0) break;
    if (cg) {
      const auto c = [&](const char* e) { return f.counts.count(e) ? f.counts.at(e) : 0.0; };
      ft.add_row({share(f.weight, p.total_weight), count_text(f.weight), count_text(c("Ir")),
                  count_text(c("D1mr") + c("D1mw")), count_text(c("DLmr") + c("DLmw")), clip(f.name, 70)});
    } else {
      ft.add_row({share(f.weight, p.total_weight), count_text(f.weight), clip(f.name, 60), fs::path(f.file).filename().string()});
    }
  }
  ft.print(out);

  std::map<std::string, std::vector<std::string>> sources;
  double lab_weight = 0;
  std::vector<const HotEntry*> mine, anywhere;
  for (const auto& l : p.lines) {
    if (l.weight <= 0) continue;
    anywhere.push_back(&l);
    if (!l.file.empty() && is_lab_file(l.file, lab)) {
      mine.push_back(&l);
      lab_weight += l.weight;
    }
  }
  const auto heavier = [](const HotEntry* a, const HotEntry* b) { return a->weight > b->weight; };
  std::stable_sort(mine.begin(), mine.end(), heavier);
  std::stable_sort(anywhere.begin(), anywhere.end(), heavier);
  const auto line_table = [&](const std::vector<const HotEntry*>& rows, bool with_file) {
    Table t = cg ? Table({"share", p.weight_name, "Ir", "D1 miss", "LL miss", with_file ? "where" : "line", "source"})
                 : Table({"share", "samples", with_file ? "where" : "line", "source"});
    for (int i = 0; i < top && i < static_cast<int>(rows.size()); ++i) {
      const auto& l = *rows[static_cast<std::size_t>(i)];
      const std::string where = l.file.empty() ? clip(l.name, 56)
                                : with_file   ? fmt::format("{}:{}", clip(shown_path(l.file), 44), l.line)
                                              : std::to_string(l.line);
      const std::string text = l.file.empty() ? "" : source_line(l.file, l.line, sources);
      if (cg) {
        const auto c = [&](const char* e) { return l.counts.count(e) ? l.counts.at(e) : 0.0; };
        t.add_row({share(l.weight, p.total_weight), count_text(l.weight), count_text(c("Ir")),
                   count_text(c("D1mr") + c("D1mw")), count_text(c("DLmr") + c("DLmw")), where, text});
      } else {
        t.add_row({share(l.weight, p.total_weight), count_text(l.weight), where, text});
      }
    }
    t.print(out);
  };
  out << fmt::format("\n== hot lines of {} ({} of all {})\n", lab.info.source, share(lab_weight, p.total_weight),
                     p.weight_name);
  if (mine.empty())
    out << "  none: no " << p.weight_name << " landed on a line of the lab's file (its work is in the "
        << "functions it calls, above, or this build has no line tables: see CMakeLists.txt, -g1)\n";
  else
    line_table(mine, false);
  out << fmt::format("\n== hot lines anywhere (the lab, the kernels it calls, libraries)\n");
  line_table(anywhere, true);
  if (!p.notes.empty()) out << '\n';
  for (const auto& n : p.notes) out << "note: " << n << '\n';
}

nlohmann::json profile_json(const Profile& p, const LabDef& lab, const ProfileOptions& o, const ChildRun& child) {
  nlohmann::json j{{"schema", 1}, {"lab", lab.info.id}, {"source", lab.info.source}, {"tool", p.tool},
                   {"command", child.shown}, {"params", o.params}, {"weight", p.weight_name},
                   {"total_weight", p.total_weight}, {"hardware_counters", p.hardware_counters},
                   {"counts", nlohmann::json::array()}, {"functions", nlohmann::json::array()},
                   {"lines", nlohmann::json::array()}, {"notes", p.notes}};
  for (const auto& c : p.counts)
    j["counts"].push_back({{"event", c.event}, {"value", c.value ? nlohmann::json(*c.value) : nlohmann::json()},
                           {"unit", c.unit}, {"note", c.note}});
  std::vector<HotEntry> functions = p.functions, lines = p.lines;
  const auto heavier = [](const HotEntry& a, const HotEntry& b) { return a.weight > b.weight; };
  std::stable_sort(functions.begin(), functions.end(), heavier);
  std::stable_sort(lines.begin(), lines.end(), heavier);
  std::map<std::string, std::vector<std::string>> sources;
  const std::size_t keep = static_cast<std::size_t>(std::max(o.top, 50));
  for (std::size_t i = 0; i < functions.size() && i < keep && functions[i].weight > 0; ++i)
    j["functions"].push_back({{"name", functions[i].name}, {"weight", functions[i].weight}, {"counts", functions[i].counts}});
  for (std::size_t i = 0, kept = 0; i < lines.size() && lines[i].weight > 0; ++i) {
    const auto& l = lines[i];
    const bool in_lab = !l.file.empty() && is_lab_file(l.file, lab);
    if (!in_lab && kept >= keep) continue;  // every line of the lab's file; the top of the rest
    if (!in_lab) ++kept;
    j["lines"].push_back({{"file", l.file.empty() ? "" : shown_path(l.file)}, {"line", l.line},
                          {"name", l.name}, {"in_lab", in_lab}, {"weight", l.weight}, {"counts", l.counts},
                          {"text", l.file.empty() ? "" : source_line(l.file, l.line, sources, 4096)}});
  }
  return j;
}

// ------------------------------------------------------------------ the command ----------

int profile(const ProfileOptions& o) {
  const LabDef* lab = find_lab(o.lab);
  if (lab == nullptr) throw Error(unknown_lab_message(o.lab));
  if (!o.tool.empty() && o.tool != "perf" && o.tool != "cachegrind")
    throw Error(fmt::format("--tool '{}' is not known; use perf (sampling, counters) or cachegrind "
                            "(simulated caches, misses per line)", o.tool));
  if (o.rank != "auto" && o.rank != "instructions" && o.rank != "d1" && o.rank != "ll")
    throw Error(fmt::format("--rank '{}' is not known; use instructions, d1 or ll (cachegrind)", o.rank));
  if (o.rank != "auto" && o.tool != "cachegrind")
    throw Error("--rank applies to --tool cachegrind (perf ranks by samples)");
  if (o.top < 1 || o.top > 1000) throw Error(fmt::format("--top {} is out of range; use 1 to 1000", o.top));
  if (o.timeout < 0 || o.timeout > 86400)
    throw Error(fmt::format("--timeout {} is out of range; use 1 to 86400 seconds (0: the tool's default)", o.timeout));
  if (!o.json.empty()) check_output_file(o.json, "--json");
  // The lab's parameters, checked here with `run`'s words, before any profiler starts.
  RunOptions run_options;
  run_options.quick = true;
  run_options.assignments = o.params;
  run_options.plot = PlotMode::none;
  validate_run({lab}, run_options);

  // The tool: as asked, or perf where it works and cachegrind where it does not.
  std::string tool = o.tool;
  ProfilerCheck check;
  if (tool.empty()) {
    check = check_perf();
    tool = "perf";
    if (!check.usable) {
      const ProfilerCheck cg = check_cachegrind();
      if (!cg.usable)
        throw ToolUnavailable(fmt::format("no profiler works here.\n  perf: {}; {}\n  cachegrind: {}; {}", check.why,
                                          check.fix, cg.why, cg.fix));
      std::cout << fmt::format("perf cannot run here ({}), so this profile uses cachegrind\n", check.why);
      check = cg;
      tool = "cachegrind";
    }
  } else {
    check = tool == "perf" ? check_perf() : check_cachegrind();
    if (!check.usable) throw ToolUnavailable(fmt::format("--tool {}: {}; to fix: {}", tool, check.why, check.fix));
  }
  const double timeout = o.timeout > 0 ? o.timeout : tool == "perf" ? 120 : 300;

  const TempDir tmp;
  const ChildRun child = child_run(o, tmp, tool == "cachegrind" ? binary_for_valgrind()
                                                                : fs::read_symlink("/proc/self/exe").string());
  std::cout << fmt::format("== profile of {} ({}), file {}\n", lab->info.id, tool, lab->info.source);
  std::cout.flush();
  const Profile p = tool == "perf" ? profile_with_perf(check, child, tmp, timeout, std::cout)
                                   : profile_with_cachegrind(check, child, tmp, timeout, o.rank, std::cout);
  print_profile(p, *lab, o.top, std::cout);
  if (!o.json.empty()) {
    write_file_atomically(o.json, profile_json(p, *lab, o, child).dump(2) + "\n");
    std::cout << "wrote: " << o.json << '\n';
  }
  return kOk;
}

}  // namespace

void add_profile_command(CLI::App& app, CliState& state) {
  auto o = std::make_shared<ProfileOptions>();
  auto* cmd = app.add_subcommand(
      "profile", "Run a lab's quick mode under perf or cachegrind: counts, hot functions, hot lines of the lab's file");
  cmd->add_option("lab", o->lab, "The lab to profile (see `dontpanic list`)")->required();
  cmd->add_option("--tool", o->tool, "perf (sampling and counters; the default where it works) or cachegrind "
                                      "(simulated caches, deterministic, about 50x slower)");
  cmd->add_option("--param", o->params, "Set a lab parameter, name=value (repeatable), as for `dontpanic run`")
      ->allow_extra_args(false);
  cmd->add_option("--top", o->top, "How many functions and lines to show (default 10)");
  cmd->add_option("--rank", o->rank, "cachegrind: sort lines by d1 misses (default), ll misses or instructions");
  cmd->add_option("--timeout", o->timeout, "Stop a profiled run after this many seconds (default: 120 perf, 300 cachegrind)");
  cmd->add_option("--json", o->json, "Also write the numbers to this JSON file");
  cmd->callback([o, &state] {
    state.action = [o] {
      try {
        return profile(*o);
      } catch (const ToolUnavailable& e) {
        std::cerr << "dontpanic: error: " << e.what() << '\n';
        return int{kNotReady};
      }
    };
  });
}

}  // namespace dp::cli
