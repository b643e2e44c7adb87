// amx_probe.cpp — can this process use AMX tiles? Prints what the CPU and Linux say, then runs one
// tile instruction sequence in a child process (a fault kills the child, not the probe).
//   g++ -O1 -std=c++20 bench/cpu/amx_probe.cpp -o amx_probe && ./amx_probe
#include <immintrin.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>

namespace {

constexpr int kGetXcompSupp = 0x1021, kGetXcompPerm = 0x1022, kReqXcompPerm = 0x1023, kXtiledata = 18;

[[gnu::target("amx-tile,amx-int8")]] int tiles() {
  struct alignas(64) Config {
    std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
    std::uint16_t bytes_per_row[16] = {};
    std::uint8_t rows[16] = {};
  } config;
  for (int t = 0; t < 8; ++t) config.bytes_per_row[t] = 64, config.rows[t] = 16;
  alignas(64) static std::uint8_t a[16 * 64], b[16 * 64];
  alignas(64) static std::int32_t c[16 * 16];
  for (int i = 0; i < 16 * 64; ++i) a[i] = 1, b[i] = 2;
  asm volatile("ldtilecfg %0" : : "m"(config));  // see src/tensor/quant/int8_amx.hpp
  _tile_zero(0);
  _tile_loadd(4, a, 64);
  _tile_loadd(6, b, 64);
  _tile_dpbusd(0, 4, 6);
  _tile_stored(0, c, 64);
  asm volatile("" : "+m"(c));
  _tile_release();
  return c[0];  // 64 products of 1 x 2 = 128
}

void in_child(const char* what, bool thread) {
  std::fflush(stdout);
  const pid_t pid = fork();
  if (pid == 0) {
    int got = 0;
    if (thread) std::thread([&] { got = tiles(); }).join();
    else got = tiles();
    std::printf("  %s: tdpbusd gave %d (want 128)\n", what, got);
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) std::printf("  %s: killed by signal %d (%s)\n", what, WTERMSIG(status), strsignal(WTERMSIG(status)));
}

}  // namespace

int main() {
  std::printf("cpu supports amx-tile %d, amx-int8 %d\n", __builtin_cpu_supports("amx-tile") != 0,
              __builtin_cpu_supports("amx-int8") != 0);
  unsigned long long bits = 0;
  long rc = syscall(SYS_arch_prctl, kGetXcompSupp, &bits);
  std::printf("ARCH_GET_XCOMP_SUPP: rc %ld errno %d, features %#llx (bit 18 = XTILEDATA: %d)\n", rc, rc ? errno : 0, bits,
              static_cast<int>((bits >> 18) & 1));
  in_child("before asking", false);
  rc = syscall(SYS_arch_prctl, kReqXcompPerm, kXtiledata);
  std::printf("ARCH_REQ_XCOMP_PERM: rc %ld errno %d\n", rc, rc ? errno : 0);
  bits = 0;
  rc = syscall(SYS_arch_prctl, kGetXcompPerm, &bits);
  std::printf("ARCH_GET_XCOMP_PERM: rc %ld, permitted %#llx\n", rc, bits);
  in_child("after asking, main thread", false);
  in_child("after asking, new thread", true);
}
