// gpu-transfer — What does moving data between the CPU and the GPU cost, and can it hide behind work?
//
// Part 1, one copy of 4 KiB ... max-mib, each way data can travel:
//   host-to-device, pinned     a GPU copy from host-visible ("pinned") memory to device-local memory
//   host-to-device, pageable   first a memcpy from a std::vector into that pinned staging memory
//   device-to-host, pinned / pageable   the same, backwards
//   device-to-device           a GPU copy between two device-local buffers
//   memcpy into / out of staging   the host's part of the pageable paths, alone
// Part 2, stream-mib of data in chunks, each chunk run through a kernel (shaders/transfer/
// rounds.comp) that takes about as long as the chunk's copy:
//   serial                     copy, kernel, copy, kernel ... each waiting for the one before
//   overlapped, one queue      copy i+1 and kernel i between the same barriers: the GPU may overlap
//   overlapped, two queues     copies on the transfer queue (where the device has one), kernels on
//                              the compute queue, ordered by semaphores (gpu/copy_stream.hpp)
//   copies alone, kernels alone   the bounds: overlapped at best takes as long as the larger
// GPU copies and kernels are timed with GPU timestamps, memcpy with the CPU clock.
//
//   dontpanic run gpu-transfer            4 KiB ... 1 GiB; 256 MiB in 2 ... 64 chunks
//   dontpanic run gpu-transfer --quick    4 KiB ... 4 MiB; 2 MiB in 2 ... 16 chunks
//   --param max-mib=256 --param stream-mib=64    (both capped by the device's and the host's memory)
#if defined(DP_HAVE_GPU)

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "gpu/gpu.hpp"
#include "labs/gpu_lab.hpp"

namespace {

using namespace dp::gpu;
using Word = std::uint32_t;

constexpr std::uint32_t kThreads = 256;    // per workgroup
constexpr std::uint32_t kMaxGroups = 1024; // grid-stride cap: fills a big GPU; lavapipe pays per group
constexpr Word kSentinel = 0xA5A5A5A5u;    // written over every destination before a checked copy

// ---------------------------------------------------------------- part 1: one transfer -------
// A Buffer in device-local memory has a host-visible staging mirror of the same size (buffer.hpp):
// the "pinned" memory a GPU copy can read and write directly.

void host_to_device(Sequence& seq, Buffer& b) { seq.upload(b); }     // staging -> device-local
void device_to_host(Sequence& seq, Buffer& b) { seq.download(b); }   // device-local -> staging
void device_to_device(Sequence& seq, Buffer& a, Buffer& b) { seq.copy(a.handle(), b.handle(), a.bytes()); }

std::span<Word> staged(Buffer& b) { return {reinterpret_cast<Word*>(b.staging().data()), b.bytes() / sizeof(Word)}; }
// The pageable paths add one memcpy on the host: a std::vector's memory is not pinned, so no GPU
// copy can read it; its bytes go through staging first (ClobberMemory keeps the memcpy in timing).
void memcpy_into_staging(std::span<const Word> from, Buffer& to) {
  std::memcpy(to.staging().data(), from.data(), from.size_bytes());
  benchmark::ClobberMemory();
}
void memcpy_out_of_staging(Buffer& from, std::span<Word> to) {
  std::memcpy(to.data(), from.staging().data(), to.size_bytes());
  benchmark::ClobberMemory();
}

// ---------------------------------------------------------------- part 2: copy and compute ---

// `count` chunks of `bytes` from a host-visible source, each copied into one of two device-local
// slots, then run through the kernel into its place in `out`.
struct ChunkedWork {
  Buffer& source;
  const Buffer* slots[2];      // device-local, one chunk each
  Buffer& out;
  const Kernel& kernel;
  std::size_t bytes, count;
  std::uint32_t rounds;
};

struct RoundsPush { std::uint32_t n, rounds, first; };  // shaders/transfer/rounds.comp

Sequence& record_copy(Sequence& seq, const ChunkedWork& w, std::size_t i) {
  return seq.copy(w.source.handle(), w.slots[i % 2]->handle(), w.bytes, i * w.bytes, 0);
}
Sequence& record_kernel(Sequence& seq, const ChunkedWork& w, std::size_t i, const Buffer& slot) {
  const auto words = static_cast<std::uint32_t>(w.bytes / sizeof(Word));
  return seq.dispatch(w.kernel, {slot, w.out}, {std::min(groups_for(words, kThreads), kMaxGroups)},
               RoundsPush{words, w.rounds, static_cast<std::uint32_t>(i) * words});
}

// Serial: every step waits for the one before.
void record_serial(Sequence& seq, const ChunkedWork& w) {
  for (std::size_t i = 0; i < w.count; ++i) {
    record_copy(seq, w, i).barrier();
    record_kernel(seq, w, i, *w.slots[i % 2]).barrier();
  }
}

// Overlapped on one queue: copy i+1 and kernel i sit between the same two barriers. Nothing orders
// them against each other (different slots), so the GPU may run them at once.
void record_overlapped(Sequence& seq, const ChunkedWork& w) {
  record_copy(seq, w, 0).barrier();
  for (std::size_t i = 0; i < w.count; ++i) {
    if (i + 1 < w.count) record_copy(seq, w, i + 1);
    record_kernel(seq, w, i, *w.slots[i % 2]).barrier();
  }
}

// The two bounds: all the copies alone, all the kernels alone.
void record_copies(Sequence& seq, const ChunkedWork& w) {
  for (std::size_t i = 0; i < w.count; ++i) record_copy(seq, w, i).barrier();
}
void record_kernels(Sequence& seq, const ChunkedWork& w) {
  for (std::size_t i = 0; i < w.count; ++i) record_kernel(seq, w, i, *w.slots[i % 2]).barrier();
}

// Overlapped on two queues: CopyStream (src/gpu/copy_stream.cpp) submits copy i to the transfer
// queue and record_kernel(i) to the compute queue; two timeline semaphores order them: copy i
// waits until kernel i-2 is done with slot i % 2, kernel i waits until copy i has landed.

// ---------------------------------------------------------------- reference + checks ----------

constexpr Word kMul = 747796405u, kAdd = 2891336453u;  // one step: x -> x * kMul + kAdd (mod 2^32)

// The simple reference: `rounds` steps, one after the other.
Word reference_rounds(Word x, std::uint32_t rounds) {
  for (std::uint32_t r = 0; r < rounds; ++r) x = x * kMul + kAdd;
  return x;
}

// The same for every word of `in`, fast: `rounds` steps of x -> a*x + c are one step x -> A*x + C.
// reference_rounds() checks this shortcut on samples (a shortcut alone could share a bug).
std::vector<Word> reference_all(std::span<const Word> in, std::uint32_t rounds) {
  Word a = 1, c = 0;
  for (std::uint32_t r = 0; r < rounds; ++r) a *= kMul, c = c * kMul + kAdd;
  std::vector<Word> out(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = a * in[i] + c;
  return out;
}

// One named check over many runs: every run must match exactly; the first mismatch is kept.
struct Tally {
  std::string name;
  int runs = 0, failed = 0;  // runs checked, runs that differed
  std::string first;
  void expect_equal(const std::string& where, std::span<const Word> got, std::span<const Word> want) {
    ++runs;
    if (got.size() == want.size() && std::memcmp(got.data(), want.data(), got.size_bytes()) == 0) return;
    if (failed++ == 0) first = where + ": " + dp::compare(got, want).detail;
  }
  void report(dp::Result& result) const {
    result.add_check(name, failed == 0,
                     failed == 0 ? fmt::format("bit for bit, in all {} runs", runs)
                                 : fmt::format("{} of {} runs differ; first at {}", failed, runs, first));
  }
};

// ---------------------------------------------------------------- the run ---------------------

void run_once(Device& device, const std::function<void(Sequence&)>& record) {
  Sequence seq(device);
  record(seq.begin());
  seq.end().run();
}

// Two parts timed apart that run one after the other: their medians add, and so do their
// percentiles (a slightly wide spread: the slow runs of the two need not coincide).
dp::Stats one_after_the_other(const dp::Stats& a, const dp::Stats& b) {
  return {a.median_ns + b.median_ns, a.p10_ns + b.p10_ns, a.p90_ns + b.p90_ns, a.min_ns + b.min_ns,
          std::min(a.reps, b.reps)};
}

std::vector<Word> random_words(std::size_t n) {  // fresh on every run
  std::vector<Word> v(n);
  std::ranges::generate(v, [rng = std::mt19937(std::random_device{}())]() mutable { return static_cast<Word>(rng()); });
  return v;
}

void one_transfer(dp::LabContext& ctx, Device& device, std::size_t max_bytes) {
  const auto sizes = dp::geometric_sizes(4096, max_bytes, ctx.quick ? 4 : 2);
  const std::vector<Word> source = random_words(max_bytes / sizeof(Word));
  std::vector<Word> landing(source.size());
  Tally pinned{"host-to-device and device-to-host, pinned: bytes equal the source"};
  Tally d2d{"device-to-device: bytes equal the source"};
  Tally pageable{"pageable (memcpy into and out of staging): bytes equal the source"};
  const int reps = gpu_reps(ctx);
  for (std::size_t bytes : dp::Sweep(ctx, "one transfer, bytes:", sizes, {.stops_early = false})) {
    const std::span<const Word> src(source.data(), bytes / sizeof(Word));
    const std::span<Word> dst(landing.data(), src.size());
    const std::string at = dp::format_bytes(bytes);
    Buffer a(device, bytes), b(device, bytes);

    // Check first. Every destination holds the sentinel before its copy, so a copy that did
    // nothing (or only part) cannot pass: the bytes must equal the fresh random source.
    memcpy_into_staging(src, a);
    pageable.expect_equal(at + ", memcpy into staging", staged(a), src);
    run_once(device, [&](Sequence& s) { s.fill(a, kSentinel).barrier(); host_to_device(s, a); });
    std::ranges::fill(staged(a), kSentinel);
    run_once(device, [&](Sequence& s) { device_to_host(s, a); });
    pinned.expect_equal(at, staged(a), src);
    std::ranges::fill(staged(b), kSentinel);
    run_once(device, [&](Sequence& s) {
      device_to_device(s.fill(b, kSentinel).barrier(), a, b);
      device_to_host(s.barrier(), b);
    });
    d2d.expect_equal(at, staged(b), src);
    std::ranges::fill(dst, kSentinel);
    memcpy_out_of_staging(b, dst);
    pageable.expect_equal(at + ", memcpy out of staging", dst, src);

    // Then time: GPU copies back to back on the GPU clock, memcpy on the CPU clock.
    auto gpu = [&](const std::function<void(Sequence&)>& record) {
      return gpu_time_repeated(device, record, reps, gpu_warmup_seconds(ctx));
    };
    const dp::Stats h2d = gpu([&](Sequence& s) { host_to_device(s, a); });
    const dp::Stats d2h = gpu([&](Sequence& s) { device_to_host(s, b); });
    const dp::Stats dd = gpu([&](Sequence& s) { device_to_device(s, a, b); });
    const dp::Stats in = ctx.measure(fmt::format("memcpy-in/{}", bytes), [&] { memcpy_into_staging(src, a); });
    const dp::Stats out = ctx.measure(fmt::format("memcpy-out/{}", bytes), [&] { memcpy_out_of_staging(b, dst); });
    const double x = static_cast<double>(bytes);
    auto point = [&](const std::string& variant, const dp::Stats& s) {
      ctx.result.add_point(variant, "bytes", x, s, x / s.median_ns, "GB/s");
    };
    point("host-to-device, pinned", h2d);
    point("host-to-device, pageable", one_after_the_other(in, h2d));
    point("device-to-host, pinned", d2h);
    point("device-to-host, pageable", one_after_the_other(d2h, out));
    point("device-to-device", dd);
    point("memcpy into staging", in);
    point("memcpy out of staging", out);
  }
  for (const Tally* t : {&pinned, &d2d, &pageable}) t->report(ctx.result);

  const std::vector<std::string> paths{"host-to-device, pinned", "host-to-device, pageable", "device-to-host, pinned",
                                       "device-to-host, pageable", "device-to-device"};
  for (const auto& v : paths)
    ctx.result.headlines.push_back({v, fmt::format("{:.1f} GB/s at {}", ctx.result.find_series(v)->points.back().throughput,
                                                   dp::format_bytes(max_bytes))});
  const dp::Point small = ctx.result.find_series(paths[0])->points.front();
  ctx.result.headlines.push_back({"one 4 KiB copy, host-to-device",
                                  fmt::format("{:.2f} us ({:.2f} GB/s)", small.median_ns / 1e3, small.throughput)});
  ctx.result.plots.push_back({.name = "bandwidth", .title = "One copy, each way data can travel",
                              .xlabel = "bytes per copy", .ylabel = "GB/s (bytes copied / time, log)",
                              .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = paths});
  ctx.result.plots.push_back({.name = "pageable", .title = "Where a pageable copy's time goes",
                              .xlabel = "bytes per copy", .ylabel = "time per copy (ns, log)",
                              .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
                              .variants = {"memcpy into staging", "host-to-device, pinned", "host-to-device, pageable",
                                           "memcpy out of staging", "device-to-host, pinned", "device-to-host, pageable"}});
}

// Rounds per word that make the kernel on one chunk take about as long as the chunk's copy.
std::uint32_t balanced_rounds(dp::LabContext& ctx, Device& device, ChunkedWork w) {
  auto time = [&](const std::function<void(Sequence&)>& record) {
    return gpu_time_repeated(device, record, gpu_reps(ctx), gpu_warmup_seconds(ctx)).median_ns;
  };
  const double copy = time([&](Sequence& s) { record_copy(s, w, 0); });
  w.rounds = 1;
  const double one = time([&](Sequence& s) { record_kernel(s, w, 0, *w.slots[0]); });
  w.rounds = 65;
  const double per_round = (time([&](Sequence& s) { record_kernel(s, w, 0, *w.slots[0]); }) - one) / 64;
  if (per_round <= 0) return 1u << 16;  // rounds cost nothing measurable: as many as we allow
  return static_cast<std::uint32_t>(std::clamp((copy - one) / per_round, 1.0, 65536.0));
}

void copy_and_compute(dp::LabContext& ctx, Device& device, std::size_t total) {
  const std::vector<Word> input = random_words(total / sizeof(Word));
  Buffer source(device, total, Memory::host), out(device, total);
  std::memcpy(source.staging().data(), input.data(), total);
  Kernel kernel(device, {.source = builtin_shader("transfer/rounds.comp"), .buffers = 2, .push_bytes = 12,
                         .specialization = {kThreads}});
  const bool two_queues = device.transfer_queue() != VK_NULL_HANDLE;

  std::vector<std::size_t> counts;
  for (std::size_t c = 2; c <= (ctx.quick ? 16u : 64u); c *= 2) counts.push_back(c);
  const Buffer probe_0(device, total / 8), probe_1(device, total / 8);  // one chunk of 8
  const std::uint32_t rounds = balanced_rounds(ctx, device, {source, {&probe_0, &probe_1}, out, kernel, total / 8, 8, 1});
  ctx.log << fmt::format("  kernel: {} rounds per word, about the time of the chunk's copy\n", rounds);

  // The reference for every word, and its shortcut checked step by step on samples.
  const std::vector<Word> want = reference_all(input, rounds);
  std::mt19937 rng(std::random_device{}());
  int shortcut_wrong = 0;
  for (int k = 0; k < 1000; ++k)
    if (const std::size_t i = rng() % input.size(); want[i] != reference_rounds(input[i], rounds)) ++shortcut_wrong;
  ctx.result.add_check("reference: the shortcut equals the steps one by one", shortcut_wrong == 0,
                       fmt::format("{} of 1000 random words differ ({} rounds)", shortcut_wrong, rounds));

  std::vector<Tally> tallies{{"serial: output equals the CPU reference"},
                             {"overlapped, one queue: output equals the CPU reference"},
                             {"overlapped, two queues: output equals the CPU reference"}};
  const int reps = gpu_reps(ctx);
  for (std::size_t count : counts) {
    const std::size_t chunk = total / count;
    ctx.log << fmt::format("  {} in {} chunks of {}\n", dp::format_bytes(total), count, dp::format_bytes(chunk));
    const Buffer slot_0(device, chunk), slot_1(device, chunk);
    const ChunkedWork w{source, {&slot_0, &slot_1}, out, kernel, chunk, count, rounds};
    auto check = [&](Tally& t, const std::function<void()>& run_variant) {
      run_once(device, [&](Sequence& s) { s.fill(out, kSentinel); });
      run_variant();
      t.expect_equal(fmt::format("{} chunks", count), out.download_vector<Word>(), want);
    };
    auto point = [&](const std::string& variant, const dp::Stats& s) {  // GB/s: all the data streamed
      ctx.result.add_point(variant, "chunks", static_cast<double>(count), s, total / s.median_ns, "GB/s");
    };
    // The one-queue variants: one command buffer each, timed between two timestamps.
    auto one_queue = [&](const char* variant, Tally* tally, void (*record)(Sequence&, const ChunkedWork&)) {
      Sequence seq(device, 2);
      seq.begin().timestamp();
      record(seq, w);
      seq.timestamp();
      seq.end();
      if (tally) check(*tally, [&] { seq.run(); });
      point(variant, gpu_time(seq, reps, 0, 1, 1, 2));
    };
    one_queue("serial", &tallies[0], record_serial);
    one_queue("overlapped, one queue", &tallies[1], record_overlapped);
    one_queue("copies alone", nullptr, record_copies);
    one_queue("kernels alone", nullptr, record_kernels);
    if (two_queues) {
      CopyStream stream(device, chunk, count,
                        [&](Sequence& s, std::size_t i, const Buffer& slot) { record_kernel(s, w, i, slot); });
      std::memcpy(stream.source().data(), input.data(), total);
      check(tallies[2], [&] { stream.run(); });
      for (int r = 0; r < 2; ++r) stream.run();  // warm up
      std::vector<double> ns;
      for (int r = 0; r < reps; ++r) ns.push_back(stream.run());
      point("overlapped, two queues", stats_of(ns));
    }
  }
  for (std::size_t t = 0; t < (two_queues ? 3u : 2u); ++t) tallies[t].report(ctx.result);

  ctx.result.headlines.push_back({"transfer queue", two_queues
      ? fmt::format("yes (queue family {}): copies can run beside kernels", device.transfer_queue_family())
      : fmt::format("none on '{}': the two-queue variant is left out", device.report().name)});
  for (const char* v : {"serial", "overlapped, one queue", "overlapped, two queues", "copies alone", "kernels alone"})
    if (const auto* series = ctx.result.find_series(v))
      ctx.result.headlines.push_back({fmt::format("{}, {} in {} chunks", v, dp::format_bytes(total), counts.back()),
                                      fmt::format("{:.3g} ms", series->points.back().median_ns / 1e6)});
  ctx.result.plots.push_back({.name = "overlap", .title = "Copy " + dp::format_bytes(total) + " and compute on it, in chunks",
                              .xlabel = "chunks", .ylabel = "time for all of it (ns, GPU clock)",
                              .y = dp::PlotSpec::Y::time, .logx = true, .logy = false});
}

void run(dp::LabContext& ctx) {
  auto device_owner = open_lab_device(ctx, {.timestamps = true});
  Device& device = *device_owner;
  const DeviceReport& report = device.report();

  // Part 1 holds two device buffers and four host copies of its largest transfer (six in RAM on
  // lavapipe); part 2 binds its whole stream to one kernel. Larger asks shrink to fit.
  const std::size_t mib = 1 << 20, asked = static_cast<std::size_t>(ctx.params.integer("max-mib")) * mib;
  const std::size_t asked_stream = static_cast<std::size_t>(ctx.params.integer("stream-mib")) * mib;
  const std::size_t host = ctx.machine.memory_bytes ? ctx.machine.memory_bytes / 16 : asked;
  const std::size_t fits = std::min<std::size_t>(report.device_local_bytes / 4, host) / mib * mib;
  const std::size_t max_bytes = std::min(asked, fits);
  const std::size_t stream_bytes = std::min({asked_stream, fits, report.max_storage_buffer_range / mib * mib});
  if (max_bytes < mib || stream_bytes < mib)
    throw dp::Unavailable(fmt::format("'{}' has too little memory for this lab (1 MiB per transfer)", report.name));
  if (max_bytes < asked || stream_bytes < asked_stream)
    ctx.result.notes.push_back(fmt::format("sizes capped at {} per transfer and {} streamed: what '{}' and this "
                                           "host can hold", dp::format_bytes(max_bytes),
                                           dp::format_bytes(stream_bytes), report.name));

  one_transfer(ctx, device, max_bytes);
  copy_and_compute(ctx, device, stream_bytes);
  ctx.result.notes.push_back("GPU copies and kernels are timed with GPU timestamps, memcpy with the CPU clock; a "
                             "pageable point adds the two, timed apart (medians and percentiles added). Part 1 copies "
                             "on the compute queue. Device-to-device GB/s counts bytes copied: the memory moves twice that.");
  if (device.is_cpu())
    ctx.result.notes.push_back(fmt::format("'{}' is Vulkan on this CPU: device-local and host-visible memory are "
                                           "the same RAM and every 'transfer' is a memcpy by the CPU; nothing "
                                           "crosses a bus.", report.name));
  add_validation_check(device, ctx);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "gpu-transfer",
             .title = "GPU transfers: pageable, pinned, device-local, and overlapping copies with compute",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "What does moving data between the CPU and the GPU cost, and can it hide behind work?",
             .guide_page = "m1/gpu-transfer.md",
             .source = "src/labs/m1/gpu_transfer.cpp",
             .requires_gpu = dp::gpu::kAnyVulkanDevice},
    .params = {dp::ParamSpec::integer("max-mib", "largest single transfer in MiB", 1024, 4, 1, 65536),
               dp::ParamSpec::integer("stream-mib", "data copied and computed on in chunks, in MiB", 256, 2, 1, 4096)},
    .run = run,
});

#endif  // DP_HAVE_GPU
