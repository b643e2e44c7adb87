// result.hpp — what a lab run produces: series of measured points, checks, plots to draw.
//
// It serialises to the schema-1 JSON described in the design notes:
//   { schema, lab, title, started_at, machine, params, series[{variant, x, points[...]}], checks[...] }
// plus optional "headlines" (key figures for history and the summary) and "plots" (how to draw).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/machine.hpp"
#include "core/measure.hpp"

namespace dp {

struct Point {
  double x = 0;
  double median_ns = 0;  // time per `time_per` unit of the series (per iteration by default)
  double p10_ns = 0;
  double p90_ns = 0;
  int reps = 0;
  double throughput = 0;
  std::string unit;      // "GB/s", "GFLOP/s", "items/s" ...
};

struct Series {
  std::string variant;   // what was measured, e.g. "sequential"
  std::string x;         // what x means, e.g. "bytes"
  std::string time_per;  // what median_ns is per, e.g. "element" ("" = per iteration)
  std::vector<Point> points;

  const Point* at(double x) const;       // the point measured at exactly x; nullptr if none
  const Point* nearest(double x) const;  // the point nearest x on a log scale (x > 0); nullptr
                                         // if the series is empty
};

struct Check {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct Marker {          // a vertical line on a plot, e.g. a cache size
  double x = 0;
  std::string label;
};

struct PlotSpec {
  std::string name;      // file stem: <lab>-<name>.svg
  std::string title;
  std::string xlabel;
  std::string ylabel;
  enum class Y { time, throughput } y = Y::time;
  bool logx = true;
  bool logy = false;
  std::vector<std::string> variants;  // empty: every series
  std::vector<Marker> markers;
};

struct Headline {        // a key figure, e.g. {"L1 read", "95.1 GB/s"}
  std::string name;
  std::string value;
};

struct Result {
  int schema = 1;
  std::string lab;
  std::string title;
  std::string started_at;   // ISO-8601, UTC
  MachineInfo machine;
  nlohmann::json params = nlohmann::json::object();
  bool quick = false;
  std::string code_version;        // the lab's source version (LabInfo::code_version)
  double wall_seconds = 0;         // how long the lab ran, checks and measuring included
  std::vector<Series> series;
  std::vector<Check> checks;
  std::vector<Headline> headlines;
  std::vector<PlotSpec> plots;
  std::vector<std::string> notes;  // things the reader should know (a skipped peer, a limit)

  // Adds a point to the series `variant`, creating the series on first use.
  void add_point(const std::string& variant, const std::string& x_name, double x,
                 const Stats& stats, double throughput, const std::string& unit,
                 const std::string& time_per = {});
  Check& add_check(std::string name, bool passed, std::string detail);
  bool all_checks_passed() const;
  const Series* find_series(const std::string& variant) const;
  // Series::at and Series::nearest of the series `variant`; nullptr without that series.
  const Point* point_at(const std::string& variant, double x) const;
  const Point* nearest_point(const std::string& variant, double x) const;
};

void to_json(nlohmann::json& j, const Result& r);
void from_json(const nlohmann::json& j, Result& r);

// Checks a JSON document against schema 1; returns the problems found (empty = valid).
std::vector<std::string> validate_result_json(const nlohmann::json& j);

std::string now_iso8601();

}  // namespace dp
