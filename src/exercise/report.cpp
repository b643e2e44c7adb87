#include "exercise/report.hpp"

namespace dp::ex {

namespace {
nlohmann::json stats_json(const Stats& s) {
  return {{"median_ns", s.median_ns}, {"p10_ns", s.p10_ns}, {"p90_ns", s.p90_ns}, {"reps", s.reps}};
}
Stats stats_from(const nlohmann::json& j) {
  Stats s;
  s.median_ns = j.at("median_ns").get<double>();
  s.p10_ns = j.at("p10_ns").get<double>();
  s.p90_ns = j.at("p90_ns").get<double>();
  s.reps = j.at("reps").get<int>();
  return s;
}
nlohmann::json case_json(const CaseOutcome& c) {
  return {{"n", c.n}, {"seed", c.seed}, {"passed", c.passed}, {"detail", c.detail}};
}
}  // namespace

void to_json(nlohmann::json& j, const Report& r) {
  j = {{"exercise", r.exercise}, {"seed", r.seed}, {"correct", r.correct}, {"cases_run", r.cases_run},
       {"failure", r.failure ? case_json(*r.failure) : nlohmann::json(nullptr)}, {"speedup", r.speedup},
       {"worst_error", r.worst_error}, {"worst_baseline_error", r.worst_baseline_error}};
  nlohmann::json timed = nlohmann::json::array();
  for (const auto& t : r.timed)
    timed.push_back({{"n", t.n}, {"baseline", stats_json(t.baseline)}, {"yours", stats_json(t.yours)},
                     {"speedup", t.speedup}, {"baseline_error", t.baseline_error}, {"yours_error", t.yours_error}});
  j["timed"] = timed;
}

void from_json(const nlohmann::json& j, Report& r) {
  r.exercise = j.at("exercise").get<std::string>();
  r.seed = j.at("seed").get<std::uint64_t>();
  r.correct = j.at("correct").get<bool>();
  r.cases_run = j.at("cases_run").get<int>();
  r.speedup = j.at("speedup").get<double>();
  r.worst_error = j.at("worst_error").get<double>();
  r.worst_baseline_error = j.at("worst_baseline_error").get<double>();
  if (const auto& f = j.at("failure"); !f.is_null())
    r.failure = CaseOutcome{.n = f.at("n").get<std::int64_t>(), .seed = f.at("seed").get<std::uint64_t>(),
                            .passed = f.at("passed").get<bool>(), .detail = f.at("detail").get<std::string>()};
  r.timed.clear();
  for (const auto& t : j.at("timed"))
    r.timed.push_back({.n = t.at("n").get<std::int64_t>(), .baseline = stats_from(t.at("baseline")),
                       .yours = stats_from(t.at("yours")), .speedup = t.at("speedup").get<double>(),
                       .baseline_error = t.at("baseline_error").get<double>(),
                       .yours_error = t.at("yours_error").get<double>()});
}

}  // namespace dp::ex
