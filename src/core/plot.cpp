#include "core/plot.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/interrupt.hpp"
#include "core/machine.hpp"
#include "core/process.hpp"

namespace dp {

namespace {

// The SVG page: 640 x 540 units with a 17-unit font. A 390 px phone shows it about 350 px wide,
// so the font must be large next to the page for the labels to stay readable there (~9 px); the
// extra height leaves room for the legend under the data.
const char* const kSvgTerminal = "svg size 640,540 dynamic enhanced font 'sans,17' background rgb 'white'";

const char* const kNoGnuplot =
    "gnuplot is not installed, so no plots were drawn (the JSON has every number); "
    "install it with: sudo apt-get install gnuplot-nox";

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The series `plot` draws, in the result's order; series without points are left out.
std::vector<const Series*> drawn_series(const Result& result, const PlotSpec& plot) {
  std::vector<const Series*> out;
  for (const auto& s : result.series) {
    const bool named = plot.variants.empty() ||
                       std::find(plot.variants.begin(), plot.variants.end(), s.variant) != plot.variants.end();
    if (named && !s.points.empty()) out.push_back(&s);
  }
  return out;
}

// `word` in `text`, not as part of a longer word ("ns" in "ns per load", not in "transfers").
bool has_word(const std::string& text, const std::string& word) {
  const auto is_word_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const bool starts = at == 0 || !is_word_char(text[at - 1]);
    const bool ends = at + word.size() == text.size() || !is_word_char(text[at + word.size()]);
    if (starts && ends) return true;
  }
  return false;
}

struct Range {
  double lo = 0, hi = 0;
};

// The smallest and largest x the plot draws (only positive ones on a log axis); none if empty.
std::optional<Range> x_range(const std::vector<const Series*>& series, bool logx) {
  std::optional<Range> r;
  for (const Series* s : series)
    for (const auto& p : s->points) {
      if (!std::isfinite(p.x) || (logx && p.x <= 0)) continue;
      if (!r) r = Range{p.x, p.x};
      r->lo = std::min(r->lo, p.x);
      r->hi = std::max(r->hi, p.x);
    }
  return r;
}

// The data's range with a little room on each side, so the end points' error bars show.
Range padded(Range r, bool logx) {
  if (logx) {
    const double f = r.hi > r.lo ? std::max(1.05, std::pow(r.hi / r.lo, 0.03)) : 2.0;
    return {r.lo / f, r.hi * f};
  }
  const double pad = r.hi > r.lo ? 0.03 * (r.hi - r.lo) : std::max(1.0, std::abs(r.lo) * 0.1);
  return {r.lo - pad, r.hi + pad};
}

// Tick marks for a bytes axis, labelled by format_bytes: powers of two on a log axis (every
// doubling, or every 2nd, 3rd ... so that at most 8 show), multiples of a power of two otherwise.
std::string byte_tics(Range data, bool logx) {
  std::vector<double> at;
  if (logx) {
    const int first = static_cast<int>(std::ceil(std::log2(data.lo) - 1e-9));
    const int last = static_cast<int>(std::floor(std::log2(data.hi) + 1e-9));
    const int step = std::max(1, (last - first + 8) / 8);
    for (int k = (first + step - 1) / step * step; k <= last; k += step)
      if (k >= 0) at.push_back(std::ldexp(1.0, k));
  } else {
    const double step = std::ldexp(1.0, static_cast<int>(std::ceil(std::log2(std::max(1.0, (data.hi - data.lo) / 6)))));
    for (double x = std::ceil(data.lo / step) * step; x <= data.hi; x += step)
      if (x >= 0) at.push_back(x);
  }
  if (at.empty()) return {};
  std::string s = "set xtics (";
  for (std::size_t i = 0; i < at.size(); ++i)
    s += fmt::format("{}{} {:.0f}", i ? ", " : "", quote(format_bytes(static_cast<std::uint64_t>(at[i]))), at[i]);
  return s + ")\n";
}

}  // namespace

std::vector<std::string> plot_problems(const Result& result, const PlotSpec& plot) {
  std::vector<std::string> problems;
  const auto where = fmt::format("plot '{}' of {}", plot.name, result.lab);
  if (plot.y == PlotSpec::Y::time) {
    if (!has_word(plot.ylabel, "ns"))
      problems.push_back(fmt::format("{}: the y axis \"{}\" does not say its unit; the times are in "
                                     "ns, so write e.g. \"ns per element\"",
                                     where, plot.ylabel));
  } else {
    std::set<std::string> units;
    for (const Series* s : drawn_series(result, plot))
      for (const auto& p : s->points)
        if (!p.unit.empty()) units.insert(p.unit);
    if (units.size() > 1)
      problems.push_back(fmt::format("{}: its series mix throughput units ({}); one axis shows one unit",
                                     where, fmt::join(units, ", ")));
    else if (units.size() == 1 && plot.ylabel.find(*units.begin()) == std::string::npos)
      problems.push_back(fmt::format("{}: the y axis \"{}\" does not say its unit, {}", where,
                                     plot.ylabel, *units.begin()));
  }
  if (plot.xlabel.empty())
    problems.push_back(fmt::format("{}: the x axis has no label; say what x counts (\"elements\") or "
                                   "measures (\"working set\")",
                                   where));
  std::vector<std::string> texts = {plot.title, plot.xlabel, plot.ylabel};
  for (const auto& m : plot.markers) texts.push_back(m.label);
  for (const auto& text : texts)
    for (const char* wrong : {"kiB", "KB", "kB"})
      if (has_word(text, wrong))
        problems.push_back(fmt::format("{}: \"{}\" writes {}; binary units are spelled KiB, MiB, GiB",
                                       where, text, wrong));
  return problems;
}

std::size_t distinct_x_count(const Result& result, const PlotSpec& plot) {
  std::set<double> xs;
  for (const Series* s : drawn_series(result, plot))
    for (const auto& p : s->points) xs.insert(p.x);
  return xs.size();
}

std::string gnuplot_script(const Result& result, const PlotSpec& plot, const std::string& terminal,
                           const std::string& output) {
  const auto series = drawn_series(result, plot);
  const auto data = x_range(series, plot.logx);
  if (!data) return {};
  const bool x_is_bytes = std::any_of(series.begin(), series.end(), [](const Series* s) { return s->x == "bytes"; });

  std::string s;
  s += "set terminal " + terminal + "\n";
  if (!output.empty()) s += "set output " + quote(output) + "\n";
  s += "set title " + quote(plot.title) + " noenhanced\n";
  s += "set xlabel " + quote(plot.xlabel) + " noenhanced\n";
  s += "set ylabel " + quote(plot.ylabel) + " noenhanced\n";
  // The legend goes under the plot, outside the data, and the data keep the full width.
  s += "set key below horizontal samplen 2 noenhanced\nset grid\nset datafile missing 'nan'\n";
  if (plot.logx) s += x_is_bytes ? "set logscale x 2\n" : "set logscale x\n";
  if (plot.logy) s += "set logscale y\n";
  const Range shown = padded(*data, plot.logx);
  s += fmt::format("set xrange [{:g}:{:g}]\n", shown.lo, shown.hi);
  if (x_is_bytes) s += byte_tics(*data, plot.logx);
  // Markers (cache sizes) inside the data's range only: one beyond it would mark nothing measured.
  for (const auto& m : plot.markers) {
    if (m.x < data->lo || m.x > data->hi) continue;
    s += fmt::format("set arrow from first {0:g}, graph 0 to first {0:g}, graph 1 nohead dashtype 2 lc rgb '#888888'\n", m.x);
    s += fmt::format("set label {} at first {:g}, graph 0.97 rotate by 90 right offset -0.6,0 font ',11' tc rgb '#555555' noenhanced\n",
                     quote(m.label), m.x);
  }
  // Inline data blocks: x, median, p10, p90 (time or throughput; the spread becomes error bars).
  std::string plots;
  for (std::size_t i = 0; i < series.size(); ++i) {
    s += fmt::format("$s{} << EOD\n", i);
    for (const auto& p : series[i]->points) {
      if (plot.y == PlotSpec::Y::time) {
        s += fmt::format("{:g} {:g} {:g} {:g}\n", p.x, p.median_ns, p.p10_ns, p.p90_ns);
      } else {
        // Throughput is proportional to 1/time: the p90 time gives the low throughput.
        const double lo = p.p90_ns > 0 ? p.throughput * p.median_ns / p.p90_ns : p.throughput;
        const double hi = p.p10_ns > 0 ? p.throughput * p.median_ns / p.p10_ns : p.throughput;
        s += fmt::format("{:g} {:g} {:g} {:g}\n", p.x, p.throughput, lo, hi);
      }
    }
    s += "EOD\n";
    plots += fmt::format("{}$s{} using 1:2:3:4 with yerrorlines lw 2 pointsize 0.7 title {}",
                         i ? ", \\\n     " : "plot ", i, quote(series[i]->variant));
  }
  return s + plots + "\n";
}

namespace {

// What went wrong with gnuplot, in words: its own message when it printed one.
std::string gnuplot_failure(const std::string& plot, const ProcessResult& run) {
  std::string said = run.output;
  while (!said.empty() && std::isspace(static_cast<unsigned char>(said.back()))) said.pop_back();
  const std::string how = run.timed_out ? "took over 60 s and was stopped"
                          : run.exit_code < 0 ? "could not be started"
                          : run.exit_code >= 128 ? fmt::format("was killed by signal {}", run.exit_code - 128)
                                                  : fmt::format("exited with code {}", run.exit_code);
  return fmt::format("gnuplot {} on plot '{}'{}; check that `gnuplot --version` works (the JSON has "
                     "every number)",
                     how, plot, said.empty() ? " and printed nothing" : ": " + said);
}

// gnuplot exits 0 even when it could not write its output (a full disk): an SVG is whole only if
// it has content and its closing tag.
std::string incomplete_svg(const std::filesystem::path& path) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  if (ec || bytes == 0) return "is empty";
  std::ifstream in(path, std::ios::binary);
  const auto tail_size = static_cast<std::streamoff>(std::min<std::uintmax_t>(bytes, 64));
  in.seekg(-tail_size, std::ios::end);
  std::string tail(static_cast<std::size_t>(tail_size), '\0');
  in.read(tail.data(), tail_size);
  if (!in || tail.find("</svg>") == std::string::npos)
    return fmt::format("is cut off after {} bytes (no closing </svg>)", bytes);
  return {};
}

}  // namespace

PlotOutcome render_svg_plot(const Result& result, const PlotSpec& plot, const std::string& path) {
  PlotOutcome outcome;
  if (!find_program("gnuplot")) {
    outcome.warnings.push_back(kNoGnuplot);
    return outcome;
  }
  // A temporary name of this process and call only: parallel runs into one folder never share it.
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path target(path);
  const std::string tmp_path = (target.parent_path() / fmt::format(".dontpanic-{}-{}.svg.tmp",
                                                                   static_cast<long>(getpid()), counter++)).string();
  const TempFileGuard remove_on_interrupt(tmp_path);
  const auto script = gnuplot_script(result, plot, kSvgTerminal, tmp_path);
  if (script.empty()) {
    outcome.warnings.push_back(fmt::format("plot '{}' of {} has no points to draw", plot.name, result.lab));
    return outcome;
  }
  const auto run = run_process({"gnuplot"}, script, 60);
  std::error_code ec;
  if (run.exit_code != 0) {
    std::filesystem::remove(tmp_path, ec);
    outcome.warnings.push_back(gnuplot_failure(plot.name, run));
    return outcome;
  }
  if (const std::string problem = incomplete_svg(tmp_path); !problem.empty()) {
    std::filesystem::remove(tmp_path, ec);
    outcome.warnings.push_back(fmt::format("plot '{}' was not written: the SVG gnuplot made {} (is the "
                                           "disk full?); the JSON has every number",
                                           plot.name, problem));
    return outcome;
  }
  std::filesystem::rename(tmp_path, path, ec);
  if (ec) {
    std::filesystem::remove(tmp_path, ec);
    outcome.warnings.push_back(fmt::format("could not write {}: {}", path, ec.message()));
    return outcome;
  }
  outcome.files.push_back(path);
  return outcome;
}

PlotOutcome render_svg(const Result& result, const std::string& out_dir) {
  PlotOutcome outcome;
  if (result.plots.empty()) return outcome;
  if (!find_program("gnuplot")) {
    outcome.warnings.push_back(kNoGnuplot);
    return outcome;
  }
  for (const auto& plot : result.plots) {
    for (auto& problem : plot_problems(result, plot)) outcome.warnings.push_back(std::move(problem));
    const auto path = (std::filesystem::path(out_dir) / (result.lab + "-" + plot.name + ".svg")).string();
    if (distinct_x_count(result, plot) == 0) continue;  // nothing measured (e.g. a skipped variant)
    PlotOutcome one = render_svg_plot(result, plot, path);
    outcome.files.insert(outcome.files.end(), one.files.begin(), one.files.end());
    outcome.warnings.insert(outcome.warnings.end(), one.warnings.begin(), one.warnings.end());
  }
  return outcome;
}

PlotOutcome render_terminal(const Result& result, int width, int height) {
  PlotOutcome outcome;
  if (result.plots.empty()) return outcome;
  if (!find_program("gnuplot")) {
    outcome.warnings.push_back(kNoGnuplot);
    return outcome;
  }
  for (const auto& plot : result.plots) {
    const auto script = gnuplot_script(result, plot, fmt::format("dumb size {},{}", width, height), "");
    if (script.empty()) continue;
    const auto run = run_process({"gnuplot"}, script, 60);
    if (run.exit_code != 0)
      outcome.warnings.push_back(gnuplot_failure(plot.name, run));
    else
      outcome.terminal_text += run.output;
  }
  return outcome;
}

}  // namespace dp
