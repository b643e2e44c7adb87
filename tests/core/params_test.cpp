#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/params.hpp"

namespace dp {
namespace {

std::vector<ParamSpec> specs() {
  return {ParamSpec::integer("n", "elements", 4096, 64, 1, 1 << 20),
          ParamSpec::real("scale", "a factor", 1.5, 0.5, 0.0, 10.0),
          ParamSpec::choice("mode", "how", {"fast", "slow"}, "fast", "slow")};
}

std::string error_of(const std::vector<std::string>& assignments) {
  try {
    Params::resolve(specs(), false, assignments);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Params, DefaultsDependOnQuickMode) {
  const auto full = Params::resolve(specs(), false, {});
  EXPECT_EQ(full.integer("n"), 4096);
  EXPECT_DOUBLE_EQ(full.real("scale"), 1.5);
  EXPECT_EQ(full.text("mode"), "fast");
  EXPECT_FALSE(full.was_set("n"));
  const auto quick = Params::resolve(specs(), true, {});
  EXPECT_EQ(quick.integer("n"), 64);
  EXPECT_EQ(quick.text("mode"), "slow");
}

TEST(Params, AssignmentsOverrideDefaults) {
  const auto p = Params::resolve(specs(), true, {"n=100", "scale=2.25", "mode=fast"});
  EXPECT_EQ(p.integer("n"), 100);
  EXPECT_DOUBLE_EQ(p.real("scale"), 2.25);
  EXPECT_EQ(p.text("mode"), "fast");
  EXPECT_TRUE(p.was_set("n"));
  EXPECT_EQ(p.to_json()["n"], 100);
}

TEST(Params, DashAndUnderscoreAreTheSameInNames) {
  const std::vector<ParamSpec> mixed{ParamSpec::integer("max_kib", "snake", 64, 8, 1, 1024),
                                     ParamSpec::integer("max-depth", "kebab", 64, 8, 1, 1024)};
  const auto p = Params::resolve(mixed, false, {"max-kib=16", "max_depth=32"});
  EXPECT_EQ(p.integer("max_kib"), 16);  // stored under the declared name
  EXPECT_EQ(p.integer("max-depth"), 32);
  EXPECT_TRUE(p.was_set("max_kib"));
  EXPECT_EQ(p.to_json()["max_kib"], 16);
  EXPECT_THROW(Params::resolve(mixed, false, {"maxkib=16"}), Error);
}

TEST(Params, BadInputNamesTheProblemAndTheFix) {
  EXPECT_NE(error_of({"size=3"}).find("unknown parameter 'size'; this lab takes: n, scale, mode"), std::string::npos);
  EXPECT_NE(error_of({"n=0"}).find("out of range; it must be an integer from 1 to 1048576"), std::string::npos);
  EXPECT_NE(error_of({"n=abc"}).find("is not an integer"), std::string::npos);
  EXPECT_NE(error_of({"n=12x"}).find("is not an integer"), std::string::npos);
  EXPECT_NE(error_of({"n=99999999999999999999"}).find("out of range"), std::string::npos);
  EXPECT_NE(error_of({"n="}).find("is empty"), std::string::npos);
  EXPECT_NE(error_of({"scale=nan"}).find("is not a number"), std::string::npos);
  EXPECT_NE(error_of({"scale=11"}).find("a number from 0 to 10"), std::string::npos);
  EXPECT_NE(error_of({"mode=medium"}).find("one of: fast, slow"), std::string::npos);
  EXPECT_NE(error_of({"n"}).find("not of the form name=value"), std::string::npos);
  EXPECT_NE(error_of({"=5"}).find("not of the form name=value"), std::string::npos);
}

TEST(Params, LabWithoutParametersSaysSo) {
  try {
    Params::resolve({}, false, {"n=1"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("takes no parameters"), std::string::npos);
  }
}

}  // namespace
}  // namespace dp
