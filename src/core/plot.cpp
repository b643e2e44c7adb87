#include "core/plot.hpp"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "core/process.hpp"

namespace dp {

namespace {

std::string quote(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

bool wanted(const PlotSpec& plot, const Series& s) {
  if (plot.variants.empty()) return true;
  for (const auto& v : plot.variants)
    if (v == s.variant) return true;
  return false;
}

const char* kNoGnuplot =
    "gnuplot is not installed, so no plots were drawn (the JSON has every number); "
    "install it with: sudo apt-get install gnuplot-nox";

}  // namespace

std::string gnuplot_script(const Result& result, const PlotSpec& plot, const std::string& terminal,
                           const std::string& output) {
  std::string s;
  s += "set terminal " + terminal + "\n";
  if (!output.empty()) s += "set output " + quote(output) + "\n";
  s += "set title " + quote(plot.title) + " noenhanced\n";
  s += "set xlabel " + quote(plot.xlabel) + " noenhanced\n";
  s += "set ylabel " + quote(plot.ylabel) + " noenhanced\n";
  s += "set key outside right top noenhanced\nset grid\nset datafile missing 'nan'\n";
  bool x_is_bytes = false;
  for (const auto& series : result.series)
    if (wanted(plot, series) && series.x == "bytes") x_is_bytes = true;
  if (plot.logx) s += x_is_bytes ? "set logscale x 2\n" : "set logscale x\n";
  if (plot.logy) s += "set logscale y\n";
  if (x_is_bytes) s += "set format x \"%.0b %BB\"\n";
  for (const auto& m : plot.markers) {
    s += fmt::format("set arrow from first {0:g}, graph 0 to first {0:g}, graph 1 nohead dashtype 2 lc rgb '#888888'\n", m.x);
    s += fmt::format("set label {} at first {:g}, graph 0.97 rotate by 90 right offset -0.6,0 font ',9' tc rgb '#555555' noenhanced\n",
                     quote(m.label), m.x);
  }
  // Inline data blocks: x, median, p10, p90 (time or throughput; the spread becomes error bars).
  std::vector<std::pair<int, std::string>> blocks;
  int index = 0;
  for (const auto& series : result.series) {
    if (!wanted(plot, series) || series.points.empty()) continue;
    s += fmt::format("$s{} << EOD\n", index);
    for (const auto& p : series.points) {
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
    blocks.emplace_back(index++, series.variant);
  }
  if (blocks.empty()) return {};
  s += "plot ";
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (i > 0) s += ", \\\n     ";
    s += fmt::format("$s{} using 1:2:3:4 with yerrorlines lw 2 pointsize 0.7 title {}", blocks[i].first,
                     quote(blocks[i].second));
  }
  s += "\n";
  return s;
}

PlotOutcome render_svg(const Result& result, const std::string& out_dir) {
  PlotOutcome outcome;
  if (result.plots.empty()) return outcome;
  if (!find_program("gnuplot")) {
    outcome.warnings.push_back(kNoGnuplot);
    return outcome;
  }
  for (const auto& plot : result.plots) {
    const auto final_path = (std::filesystem::path(out_dir) / (result.lab + "-" + plot.name + ".svg")).string();
    const auto tmp_path = final_path + ".tmp";
    const auto script = gnuplot_script(
        result, plot, "svg size 800,500 dynamic enhanced font 'sans,14' background rgb 'white'",
        tmp_path);
    if (script.empty()) continue;
    const auto run = run_process({"gnuplot"}, script, 60);
    std::error_code ec;
    if (run.exit_code != 0) {
      std::filesystem::remove(tmp_path, ec);
      outcome.warnings.push_back(fmt::format("gnuplot failed on plot '{}': {}", plot.name, run.output));
      continue;
    }
    std::filesystem::rename(tmp_path, final_path, ec);
    if (ec) {
      outcome.warnings.push_back(fmt::format("could not write {}: {}", final_path, ec.message()));
      continue;
    }
    outcome.files.push_back(final_path);
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
      outcome.warnings.push_back(fmt::format("gnuplot failed on plot '{}': {}", plot.name, run.output));
    else
      outcome.terminal_text += run.output;
  }
  return outcome;
}

}  // namespace dp
