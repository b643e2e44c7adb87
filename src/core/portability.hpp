// portability.hpp — the compiler switches and build facts lesson code needs, in one small header
// so that lab files hold only the lesson.
//
//   DP_PLAIN_LOOP       on a function: keep its loops as written (GCC and Clang would otherwise
//                       turn `for (i) a[i] = b[i]` into a memcpy call, a fill into memset), and
//                       never inline it, so the measured loop is the one on the page
//   DP_NO_VECTORIZE     on a function: never inline it, and leave its loops scalar (GCC; Clang
//                       needs DP_LOOP_SCALAR before the loop too), so a scalar variant stays scalar
//   DP_LOOP_SCALAR      before a loop: do not vectorize it (Clang; GCC is told by DP_NO_VECTORIZE)
//   DP_SANITIZED        defined (1) in AddressSanitizer and ThreadSanitizer builds
//   kAddressSanitizer   true under AddressSanitizer: its allocator replaces glibc's malloc
//   kSanitized          true under either sanitizer: timings there mean nothing (tens of times
//                       slower), only the checks do
//   cpu_relax()         the body of a spin-wait loop: x86's `pause` (tells the core it is spinning:
//                       it frees the other hyper-thread's share and avoids a costly pipeline flush
//                       when the awaited value changes), ARM's `yield`, nothing elsewhere
#pragma once

#if defined(__clang__)
#define DP_PLAIN_LOOP __attribute__((noinline, no_builtin))
#elif defined(__GNUC__)
#define DP_PLAIN_LOOP __attribute__((noinline, optimize("no-tree-loop-distribute-patterns")))
#else
#define DP_PLAIN_LOOP
#endif

#if defined(__clang__)
#define DP_NO_VECTORIZE __attribute__((noinline))
#define DP_LOOP_SCALAR _Pragma("clang loop vectorize(disable) interleave(disable)")
#elif defined(__GNUC__)
#define DP_NO_VECTORIZE __attribute__((noinline, optimize("no-tree-vectorize")))
#define DP_LOOP_SCALAR
#else
#define DP_NO_VECTORIZE
#define DP_LOOP_SCALAR
#endif

// GCC announces sanitizers with __SANITIZE_*__, Clang with __has_feature.
#if defined(__SANITIZE_ADDRESS__)
#define DP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DP_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define DP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DP_TSAN 1
#endif
#endif

#if defined(DP_ASAN) || defined(DP_TSAN)
#define DP_SANITIZED 1
#endif

namespace dp {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield");
#endif
}

#if defined(DP_ASAN)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

#if defined(DP_SANITIZED)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace dp
