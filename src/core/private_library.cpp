// private_library.cpp — dlopen, dlsym and dladdr, with messages a learner can act on.
#include "core/private_library.hpp"

#include <dlfcn.h>

#include <fmt/format.h>

namespace dp {

void* open_private_library(const char* soname, const char* variant, const char* debian_package,
                           std::string& why_not) {
  if (void* handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) return handle;
  const std::string error = dlerror();
  if (error.find("static TLS") != std::string::npos) {
    why_not = fmt::format(
        "{} skipped: {}. The library keeps its thread-local variables in glibc's static TLS "
        "block, and a running program has only a small reserve left for libraries opened "
        "later. Start the program with GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384 "
        "to give it room.",
        variant, error);
  } else {
    why_not = fmt::format("{} skipped: {} could not be loaded ({}); install the Debian package {}.",
                          variant, soname, error, debian_package);
  }
  return nullptr;
}

void* find_symbol_address(void* handle, const char* name, std::string& why_not) {
  void* address = dlsym(handle, name);
  if (address == nullptr) why_not = fmt::format("symbol {} not found in the library", name);
  return address;
}

std::string library_defining(const char* symbol) {
  Dl_info info{};
  void* address = dlsym(RTLD_DEFAULT, symbol);
  if (address == nullptr || dladdr(address, &info) == 0 || info.dli_fname == nullptr) return "?";
  return info.dli_fname;
}

}  // namespace dp
