// plot.hpp — drawing a result's plots with gnuplot: SVG files for the guide, text for a terminal.
//
// Without gnuplot nothing is drawn and the caller gets a warning saying how to install it;
// the JSON is written either way.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"

namespace dp {

struct PlotOutcome {
  std::vector<std::string> files;  // SVGs written
  std::string terminal_text;       // text plots, for --plot term
  std::vector<std::string> warnings;
};

// The gnuplot script for one plot; `terminal` is e.g. "svg ..." or "dumb ...", output "" = stdout.
std::string gnuplot_script(const Result& result, const PlotSpec& plot, const std::string& terminal,
                           const std::string& output);

// SVGs go to <out_dir>/<lab>-<plot name>.svg.
PlotOutcome render_svg(const Result& result, const std::string& out_dir);
PlotOutcome render_terminal(const Result& result, int width = 100, int height = 28);

}  // namespace dp
