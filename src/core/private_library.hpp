// private_library.hpp — loading a shared library at run time without letting it take over
// process-wide symbols.
//
// An allocator library (mimalloc, jemalloc) exports `malloc`, `free` and `operator new` too:
// linked the usual way, or opened with RTLD_GLOBAL, it would replace the allocator of the whole
// process. Opened with RTLD_LOCAL its symbols stay out of the global lookup, and only its own API
// is reached, through find_symbol().
//
// Index
//   open_private_library()  dlopen(RTLD_NOW | RTLD_LOCAL), or a message saying why not and what to do
//   find_symbol<F>()        dlsym as a typed function pointer, or a message
//   library_defining()      which shared object the process-wide definition of a symbol comes from
#pragma once

#include <string>

namespace dp {

// Opens `soname` privately. On failure returns nullptr and sets `why_not` to a sentence that
// starts "<variant> skipped:" and says what to do (install `debian_package`, or give glibc more
// static TLS room). The handle is never closed: an allocator keeps per-thread state and fork
// handlers that must outlive every thread that used it; the process exit reclaims it.
void* open_private_library(const char* soname, const char* variant, const char* debian_package,
                           std::string& why_not);

// The address of `name` in `handle`; nullptr (and `why_not` set) when the library lacks it.
void* find_symbol_address(void* handle, const char* name, std::string& why_not);

template <typename Function>
Function* find_symbol(void* handle, const char* name, std::string& why_not) {
  return reinterpret_cast<Function*>(find_symbol_address(handle, name, why_not));
}

// The file of the shared object that the process-wide `symbol` resolves to ("libc.so.6" for
// malloc normally; the sanitizer runtime in a sanitizer build); "?" when it cannot be told.
std::string library_defining(const char* symbol);

}  // namespace dp
