// report.hpp — what the runner (the child process) tells `exercise check`, as JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/measure.hpp"

namespace dp::ex {

struct CaseOutcome {
  std::int64_t n = 0;
  std::uint64_t seed = 0;
  bool passed = false;
  std::string detail;
};

struct TimedSize {
  std::int64_t n = 0;
  Stats baseline;  // ns per call
  Stats yours;
  double speedup = 0;  // baseline median / yours median
  double baseline_error = -1;  // accuracy exercises: each one's Verdict::error here (-1: not measured)
  double yours_error = -1;
};

struct Report {
  std::string exercise;
  std::uint64_t seed = 0;
  bool correct = false;
  int cases_run = 0;
  std::optional<CaseOutcome> failure;  // the first case that failed
  std::vector<TimedSize> timed;        // empty: not timed (wrong, or --sanitize)
  double speedup = 0;                  // geometric mean over timed sizes; 0 when not timed
  double worst_error = -1;             // accuracy: the largest yours_error over the timed sizes
  double worst_baseline_error = -1;    // and the baseline's
};

void to_json(nlohmann::json& j, const Report& r);
void from_json(const nlohmann::json& j, Report& r);

}  // namespace dp::ex
