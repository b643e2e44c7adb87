#include "core/result.hpp"

#include <chrono>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace dp {

using nlohmann::json;

void Result::add_point(const std::string& variant, const std::string& x_name, double x,
                       const Stats& stats, double throughput, const std::string& unit,
                       const std::string& time_per) {
  Series* target = nullptr;
  for (auto& s : series)
    if (s.variant == variant) target = &s;
  if (target == nullptr) {
    series.push_back({variant, x_name, time_per, {}});
    target = &series.back();
  }
  target->points.push_back(
      {x, stats.median_ns, stats.p10_ns, stats.p90_ns, stats.reps, throughput, unit});
}

Check& Result::add_check(std::string name, bool passed, std::string detail) {
  checks.push_back({std::move(name), passed, std::move(detail)});
  return checks.back();
}

bool Result::all_checks_passed() const {
  for (const auto& c : checks)
    if (!c.passed) return false;
  return true;
}

const Series* Result::find_series(const std::string& variant) const {
  for (const auto& s : series)
    if (s.variant == variant) return &s;
  return nullptr;
}

const Point* Series::at(double x) const {
  for (const auto& p : points)
    if (p.x == x) return &p;
  return nullptr;
}

const Point* Series::nearest(double x) const {
  const auto distance = [x](const Point& p) { return std::abs(std::log(p.x / x)); };
  const Point* best = nullptr;
  for (const auto& p : points)
    if (best == nullptr || distance(p) < distance(*best)) best = &p;
  return best;
}

const Point* Result::point_at(const std::string& variant, double x) const {
  const Series* s = find_series(variant);
  return s ? s->at(x) : nullptr;
}

const Point* Result::nearest_point(const std::string& variant, double x) const {
  const Series* s = find_series(variant);
  return s ? s->nearest(x) : nullptr;
}

std::string now_iso8601() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void to_json(json& j, const Result& r) {
  j = json{{"schema", r.schema}, {"lab", r.lab},       {"title", r.title},
           {"started_at", r.started_at}, {"machine", r.machine}, {"params", r.params},
           {"quick", r.quick}};
  if (!r.code_version.empty()) j["code_version"] = r.code_version;
  if (r.wall_seconds > 0) j["wall_seconds"] = r.wall_seconds;
  j["series"] = json::array();
  for (const auto& s : r.series) {
    json js{{"variant", s.variant}, {"x", s.x}, {"points", json::array()}};
    if (!s.time_per.empty()) js["time_per"] = s.time_per;
    for (const auto& p : s.points)
      js["points"].push_back({{"x", p.x}, {"median_ns", p.median_ns}, {"p10_ns", p.p10_ns},
                              {"p90_ns", p.p90_ns}, {"reps", p.reps},
                              {"throughput", p.throughput}, {"unit", p.unit}});
    j["series"].push_back(std::move(js));
  }
  j["checks"] = json::array();
  for (const auto& c : r.checks)
    j["checks"].push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
  j["headlines"] = json::array();
  for (const auto& h : r.headlines) j["headlines"].push_back({{"name", h.name}, {"value", h.value}});
  j["notes"] = r.notes;
  j["plots"] = json::array();
  for (const auto& p : r.plots) {
    json jp{{"name", p.name},     {"title", p.title}, {"xlabel", p.xlabel},
            {"ylabel", p.ylabel}, {"y", p.y == PlotSpec::Y::time ? "time" : "throughput"},
            {"logx", p.logx},     {"logy", p.logy},   {"variants", p.variants}};
    jp["markers"] = json::array();
    for (const auto& m : p.markers) jp["markers"].push_back({{"x", m.x}, {"label", m.label}});
    j["plots"].push_back(std::move(jp));
  }
}

void from_json(const json& j, Result& r) {
  r.schema = j.at("schema").get<int>();
  r.lab = j.at("lab").get<std::string>();
  r.title = j.value("title", "");
  r.started_at = j.value("started_at", "");
  r.machine = j.at("machine").get<MachineInfo>();
  r.params = j.value("params", json::object());
  r.quick = j.value("quick", false);
  r.code_version = j.value("code_version", "");
  r.wall_seconds = j.value("wall_seconds", 0.0);
  r.series.clear();
  for (const auto& js : j.at("series")) {
    Series s{js.at("variant").get<std::string>(), js.value("x", ""), js.value("time_per", ""), {}};
    for (const auto& p : js.at("points"))
      s.points.push_back({p.at("x").get<double>(), p.at("median_ns").get<double>(),
                          p.value("p10_ns", 0.0), p.value("p90_ns", 0.0), p.value("reps", 0),
                          p.value("throughput", 0.0), p.value("unit", "")});
    r.series.push_back(std::move(s));
  }
  r.checks.clear();
  for (const auto& c : j.at("checks"))
    r.checks.push_back({c.at("name").get<std::string>(), c.at("passed").get<bool>(),
                        c.value("detail", "")});
  r.headlines.clear();
  for (const auto& h : j.value("headlines", json::array()))
    r.headlines.push_back({h.value("name", ""), h.value("value", "")});
  r.notes = j.value("notes", std::vector<std::string>{});
  r.plots.clear();
  for (const auto& jp : j.value("plots", json::array())) {
    PlotSpec p;
    p.name = jp.value("name", "");
    p.title = jp.value("title", "");
    p.xlabel = jp.value("xlabel", "");
    p.ylabel = jp.value("ylabel", "");
    p.y = jp.value("y", "time") == "time" ? PlotSpec::Y::time : PlotSpec::Y::throughput;
    p.logx = jp.value("logx", true);
    p.logy = jp.value("logy", false);
    p.variants = jp.value("variants", std::vector<std::string>{});
    for (const auto& m : jp.value("markers", json::array()))
      p.markers.push_back({m.value("x", 0.0), m.value("label", "")});
    r.plots.push_back(std::move(p));
  }
}

std::vector<std::string> validate_result_json(const json& j) {
  std::vector<std::string> problems;
  const auto need = [&](const json& obj, const char* key, json::value_t type, const std::string& where) {
    if (!obj.is_object() || !obj.contains(key)) {
      problems.push_back(fmt::format("{}: missing '{}'", where, key));
      return false;
    }
    const auto t = obj.at(key).type();
    const bool number_ok = type == json::value_t::number_float &&
                           (t == json::value_t::number_integer || t == json::value_t::number_unsigned);
    const bool int_ok = type == json::value_t::number_integer && t == json::value_t::number_unsigned;
    if (t != type && !number_ok && !int_ok) {
      problems.push_back(fmt::format("{}: '{}' has the wrong type ({})", where, key,
                                     obj.at(key).type_name()));
      return false;
    }
    return true;
  };
  using vt = json::value_t;
  if (!j.is_object()) return {"document is not a JSON object"};
  if (need(j, "schema", vt::number_integer, "root") && j["schema"] != 1)
    problems.push_back("root: schema is not 1");
  need(j, "lab", vt::string, "root");
  need(j, "title", vt::string, "root");
  need(j, "started_at", vt::string, "root");
  need(j, "params", vt::object, "root");
  if (need(j, "machine", vt::object, "root")) {
    const auto& m = j["machine"];
    need(m, "cpu", vt::string, "machine");
    need(m, "cores", vt::number_integer, "machine");
    need(m, "memory_bytes", vt::number_integer, "machine");
    need(m, "os", vt::string, "machine");
    need(m, "compiler", vt::string, "machine");
    need(m, "build", vt::string, "machine");
    if (need(m, "caches", vt::array, "machine"))
      for (const auto& c : m["caches"]) {
        need(c, "level", vt::number_integer, "machine.caches[]");
        need(c, "kind", vt::string, "machine.caches[]");
        need(c, "bytes", vt::number_integer, "machine.caches[]");
      }
    if (!m.contains("gpu") || !(m["gpu"].is_null() || m["gpu"].is_object()))
      problems.push_back("machine: 'gpu' must be an object or null");
  }
  if (need(j, "series", vt::array, "root"))
    for (const auto& s : j["series"]) {
      need(s, "variant", vt::string, "series[]");
      need(s, "x", vt::string, "series[]");
      if (need(s, "points", vt::array, "series[]"))
        for (const auto& p : s["points"]) {
          for (const char* key : {"x", "median_ns", "p10_ns", "p90_ns", "throughput"})
            need(p, key, vt::number_float, "series[].points[]");
          need(p, "reps", vt::number_integer, "series[].points[]");
          need(p, "unit", vt::string, "series[].points[]");
        }
    }
  if (need(j, "checks", vt::array, "root"))
    for (const auto& c : j["checks"]) {
      need(c, "name", vt::string, "checks[]");
      need(c, "passed", vt::boolean, "checks[]");
      need(c, "detail", vt::string, "checks[]");
    }
  return problems;
}

}  // namespace dp
