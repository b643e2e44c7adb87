// params.hpp — a lab's parameters: what it accepts, and what the user asked for.
//
// Index
//   ParamSpec   one parameter: name, help, default, quick-mode value, valid range or choices
//   Params      the values for one run, checked against the specs; typed getters
//   parse_assignment  "n=4096" -> {"n", "4096"}
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace dp {

struct ParamSpec {
  enum class Kind { integer, real, choice };

  std::string name;                  // kebab-case, as typed after --param (max_n finds max-n too)
  std::string help;                  // one line
  Kind kind = Kind::integer;
  std::string default_value;         // used for full runs
  std::string quick_value;           // used with --quick (empty: same as default)
  double min = 0, max = 0;           // inclusive range for integer and real
  std::vector<std::string> choices;  // the allowed values for a choice

  static ParamSpec integer(std::string name, std::string help, long long full, long long quick,
                           long long min, long long max);
  static ParamSpec real(std::string name, std::string help, double full, double quick, double min,
                        double max);
  static ParamSpec choice(std::string name, std::string help, std::vector<std::string> choices,
                          std::string full, std::string quick = {});

  std::string describe_valid() const;  // "an integer from 1 to 64", "one of: a, b"
};

class Params {
 public:
  // Values for `specs`: quick or full defaults, overridden by "name=value" assignments.
  // Throws dp::Error naming the parameter and what would be valid.
  static Params resolve(const std::vector<ParamSpec>& specs, bool quick,
                        const std::vector<std::string>& assignments);

  long long integer(const std::string& name) const;
  double real(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  bool was_set(const std::string& name) const;  // given by the user, not a default

  nlohmann::json to_json() const;

 private:
  struct Value {
    ParamSpec::Kind kind;
    std::string text;
    double number = 0;
    bool user_set = false;
  };
  const Value& at(const std::string& name) const;
  std::map<std::string, Value> values_;
};

std::pair<std::string, std::string> parse_assignment(const std::string& text);

// The spec called `name` ('-' and '_' match each other: max_n finds max-n), or nullptr.
const ParamSpec* find_param(const std::vector<ParamSpec>& specs, const std::string& name);

}  // namespace dp
