#include "core/params.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.hpp"

namespace dp {

ParamSpec ParamSpec::integer(std::string name, std::string help, long long full, long long quick,
                             long long min, long long max) {
  ParamSpec p{std::move(name), std::move(help), Kind::integer, std::to_string(full),
              std::to_string(quick), static_cast<double>(min), static_cast<double>(max), {}};
  return p;
}

ParamSpec ParamSpec::real(std::string name, std::string help, double full, double quick,
                          double min, double max) {
  return {std::move(name), std::move(help), Kind::real, fmt::format("{:g}", full),
          fmt::format("{:g}", quick), min, max, {}};
}

ParamSpec ParamSpec::choice(std::string name, std::string help, std::vector<std::string> choices,
                            std::string full, std::string quick) {
  if (quick.empty()) quick = full;
  return {std::move(name), std::move(help), Kind::choice, std::move(full), std::move(quick), 0, 0,
          std::move(choices)};
}

std::string ParamSpec::describe_valid() const {
  switch (kind) {
    case Kind::integer:
      return fmt::format("an integer from {} to {}", static_cast<long long>(min),
                         static_cast<long long>(max));
    case Kind::real:
      return fmt::format("a number from {:g} to {:g}", min, max);
    case Kind::choice:
      return fmt::format("one of: {}", fmt::join(choices, ", "));
  }
  return {};
}

std::pair<std::string, std::string> parse_assignment(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(fmt::format("--param '{}' is not of the form name=value (e.g. --param n=4096)",
                            text));
  return {text.substr(0, eq), text.substr(eq + 1)};
}

namespace {

// Parses `text` as the spec's kind and checks its range; throws dp::Error naming what is valid.
double parse_value(const ParamSpec& spec, const std::string& text) {
  const auto invalid = [&](const char* why) {
    return Error(fmt::format("parameter '{}' = '{}' {}; it must be {}", spec.name, text, why,
                             spec.describe_valid()));
  };
  if (spec.kind == ParamSpec::Kind::choice) {
    for (const auto& c : spec.choices)
      if (c == text) return 0;
    throw invalid("is not a valid choice");
  }
  if (text.empty()) throw invalid("is empty");
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (spec.kind == ParamSpec::Kind::integer) {
    long long v = 0;
    auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec == std::errc::result_out_of_range) throw invalid("is out of range");
    if (ec != std::errc{} || ptr != last) throw invalid("is not an integer");
    value = static_cast<double>(v);
  } else {
    auto [ptr, ec] = std::from_chars(first, last, value);
    if (ec != std::errc{} || ptr != last || !std::isfinite(value)) throw invalid("is not a number");
  }
  if (value < spec.min || value > spec.max) throw invalid("is out of range");
  return value;
}

// Labs name parameters in kebab-case (max-n); a user who types snake_case (max_n) means the same, so
// '-' and '_' are the same letter when a name is looked up (max_kib finds max-kib).
bool same_name(const std::string& declared, const std::string& typed) {
  if (declared.size() != typed.size()) return false;
  for (std::size_t i = 0; i < declared.size(); ++i) {
    const char a = declared[i] == '_' ? '-' : declared[i];
    const char b = typed[i] == '_' ? '-' : typed[i];
    if (a != b) return false;
  }
  return true;
}

}  // namespace

const ParamSpec* find_param(const std::vector<ParamSpec>& specs, const std::string& name) {
  const auto it = std::find_if(specs.begin(), specs.end(), [&](const ParamSpec& s) { return same_name(s.name, name); });
  return it == specs.end() ? nullptr : &*it;
}

Params Params::resolve(const std::vector<ParamSpec>& specs, bool quick,
                       const std::vector<std::string>& assignments) {
  Params params;
  for (const auto& spec : specs) {
    const std::string& text = quick && !spec.quick_value.empty() ? spec.quick_value
                                                                  : spec.default_value;
    params.values_[spec.name] = {spec.kind, text, parse_value(spec, text), false};
  }
  for (const auto& assignment : assignments) {
    auto [name, text] = parse_assignment(assignment);
    const ParamSpec* spec = find_param(specs, name);
    if (spec == nullptr) {
      std::vector<std::string> names;
      for (const auto& s : specs) names.push_back(s.name);
      throw Error(names.empty()
                      ? fmt::format("unknown parameter '{}': this lab takes no parameters", name)
                      : fmt::format("unknown parameter '{}'; this lab takes: {}", name,
                                    fmt::join(names, ", ")));
    }
    if (const Value& earlier = params.values_[spec->name]; earlier.user_set)
      throw Error(fmt::format("--param {} is given twice ({} and {}); give each parameter once",
                              spec->name, earlier.text, text));
    params.values_[spec->name] = {spec->kind, text, parse_value(*spec, text), true};
  }
  return params;
}

const Params::Value& Params::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw Error("internal: lab asked for undeclared parameter '" + name + "'");
  return it->second;
}

long long Params::integer(const std::string& name) const {
  return static_cast<long long>(at(name).number);
}
double Params::real(const std::string& name) const { return at(name).number; }
const std::string& Params::text(const std::string& name) const { return at(name).text; }
bool Params::was_set(const std::string& name) const { return at(name).user_set; }

nlohmann::json Params::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, v] : values_) {
    switch (v.kind) {
      case ParamSpec::Kind::integer: j[name] = static_cast<long long>(v.number); break;
      case ParamSpec::Kind::real: j[name] = v.number; break;
      case ParamSpec::Kind::choice: j[name] = v.text; break;
    }
  }
  return j;
}

}  // namespace dp
