// plot.hpp — drawing a result's plots with gnuplot: SVG files for the guide, text for a terminal.
//
// Without gnuplot nothing is drawn and the caller gets a warning saying how to install it;
// the JSON is written either way.
//
// Every plot is drawn the same way, so that it reads on a laptop and on a phone:
//   - the legend sits under the data (outside it), so the data keep the full width;
//   - the x range is the data's own range, and a marker (a cache size) outside it is not drawn;
//   - a bytes axis gets its tick labels from format_bytes (4 KiB, 1 MiB: never gnuplot's "kiB").
//
// Index
//   plot_problems()     what a reader would trip over in a plot's labels (an axis with no unit)
//   distinct_x_count()  how many x values a plot shows; a curve needs kMinCurvePoints
//   gnuplot_script()    the script for one plot
//   render_svg_plot()   one plot to one SVG file
//   render_svg()        every plot of a result to <out_dir>/<lab>-<plot>.svg
//   render_terminal()   every plot as text, for --plot term
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace dp {

struct PlotOutcome {
  std::vector<std::string> files;  // SVGs written
  std::string terminal_text;       // text plots, for --plot term
  std::vector<std::string> warnings;
};

// A plot with fewer x values than this shows dots, not a curve: the guide does not publish it.
inline constexpr std::size_t kMinCurvePoints = 3;

// One line per problem with the plot's labels (empty = none): a y axis that does not name the
// unit of its numbers (ns for time, the points' unit such as GB/s for throughput), an empty x
// label, a decimal or lower-case spelling of a binary unit ("kiB", "KB" where KiB is meant).
std::vector<std::string> plot_problems(const Result& result, const PlotSpec& plot);

// The number of different x values among the series the plot draws.
std::size_t distinct_x_count(const Result& result, const PlotSpec& plot);

// The gnuplot script for one plot; `terminal` is e.g. "svg ..." or "dumb ...", output "" = stdout.
// Empty when the plot has no points to draw.
std::string gnuplot_script(const Result& result, const PlotSpec& plot, const std::string& terminal,
                           const std::string& output);

// Draws `plot` into the SVG file `path` (written atomically). Warnings say why it was not drawn.
PlotOutcome render_svg_plot(const Result& result, const PlotSpec& plot, const std::string& path);

// SVGs go to <out_dir>/<lab>-<plot name>.svg. A plot with problems is drawn, with a warning.
PlotOutcome render_svg(const Result& result, const std::string& out_dir);
PlotOutcome render_terminal(const Result& result, int width = 100, int height = 28);

}  // namespace dp
