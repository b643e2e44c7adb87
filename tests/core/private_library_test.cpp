// Tests of core/private_library.hpp: a library opened privately gives its own functions, a
// missing one says what to install, and malloc stays where it was.
#include <gtest/gtest.h>

#include <string>

#include "core/private_library.hpp"

namespace dp {
namespace {

TEST(PrivateLibrary, OpensALibraryAndFindsItsFunctions) {
  std::string why_not;
  void* libm = open_private_library("libm.so.6", "libm", "libc6", why_not);
  ASSERT_NE(libm, nullptr) << why_not;
  auto* cosine = find_symbol<double(double)>(libm, "cos", why_not);
  ASSERT_NE(cosine, nullptr) << why_not;
  EXPECT_EQ(cosine(0.0), 1.0);
  EXPECT_EQ(find_symbol<void()>(libm, "no_such_function_here", why_not), nullptr);
  EXPECT_NE(why_not.find("no_such_function_here"), std::string::npos) << why_not;
}

TEST(PrivateLibrary, AMissingLibrarySaysWhatToInstall) {
  std::string why_not;
  EXPECT_EQ(open_private_library("libdoes-not-exist.so.7", "nothing", "libnothing7", why_not), nullptr);
  EXPECT_EQ(why_not.rfind("nothing skipped:", 0), 0u) << why_not;
  EXPECT_NE(why_not.find("libnothing7"), std::string::npos) << why_not;
}

TEST(PrivateLibrary, MallocComesFromASharedObjectWeCanName) {
  const std::string home = library_defining("malloc");
  EXPECT_NE(home, "?");
  EXPECT_EQ(library_defining("no_such_symbol_anywhere"), "?");
}

}  // namespace
}  // namespace dp
