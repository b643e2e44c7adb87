// frame-loop — How steadily can a loop hit 60, 120 or 1000 frames a second, and what shakes it?
//
// A loop does a fixed amount of work per frame (a hash over 16 KiB, repeated so that it fills
// `work-fraction` of the frame: calibrated on this machine), then waits for the next frame's due
// time on a fixed schedule (frame i is due at i * period). Frame i misses its deadline when its
// work ends after frame i+1 is due. From every frame: frame times (start to next start) at
// p50 / p99 / p99.9 / max, and the deadline misses.
//   timer precision   first: how late does sleep_for(1 us ... 5 ms) really wake up?
//   pacing            how to wait for the due time:
//     sleep_for         sleep the whole remaining time (the kernel's timer decides when we wake)
//     busy-wait         read the clock until the due time (exact, and burns the whole core)
//     hybrid            sleep until `spin-margin-us` before the due time, then spin
//   jitter sources    the hybrid loop with one source of jitter switched on at a time:
//     + allocation      a fresh `alloc-bytes` buffer per frame (malloc, maybe mmap + page faults)
//     + mutex           the frame takes a lock that another thread holds for a fifth of a period
//     + logging         `log-lines` lines per frame to a file, each flushed (one write() each)
//     + page faults     the frame's scratch is `touch-bytes` of pages never touched before
//                       (madvise(MADV_DONTNEED) gives them back after each frame)
//   rates             the hybrid loop at 60, 120 and 1000 Hz, `rate-seconds` each
// The checks: the work's checksum equals a reference computed once on fresh random input (before
// timing), every frame's checksum equals it too, the timer's measured precision is sane (> 0),
// and the mutex's other thread really held the lock.
//
//   dontpanic run frame-loop            10,000 frames at 120 Hz per pacing variant (about 6 minutes)
//   dontpanic run frame-loop --quick    1000 Hz, a few hundred frames (a few seconds)
//   --param rate=60 --param frames=3000
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/page_mapping.hpp"
#include "labs/m5/frame_stats.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using Word = std::uint32_t;
using dp::frame_loop::FrameRecord;
constexpr std::size_t kWorkWords = 4096;  // 16 KiB: the frame's data, inside any L1 data cache

double ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::nano>(b - a).count();
}

// ---------------------------------------------------------------- the variants ----------------

// The frame's work: FNV-1a over the data, `rounds` times. One long chain of multiplies, so the
// time is proportional to rounds and the compiler cannot skip any of it.
[[gnu::noinline]] std::uint64_t frame_work(std::span<const Word> data, int rounds) {
  std::uint64_t h = 1469598103934665603ull;
  for (int r = 0; r < rounds; ++r)
    for (const Word x : data) h = (h ^ x) * 1099511628211ull;
  return h;
}

// Three ways to wait until `due`.
void wait_sleep_for(Clock::time_point due) {
  const auto now = Clock::now();
  if (due > now) std::this_thread::sleep_for(due - now);  // the kernel's timer decides when we wake
}

void wait_busy(Clock::time_point due) {
  while (Clock::now() < due) {
  }
}

void wait_hybrid(Clock::time_point due, std::chrono::nanoseconds margin) {
  const auto now = Clock::now();
  if (due - now > margin) std::this_thread::sleep_for(due - now - margin);  // sleep most of it ...
  while (Clock::now() < due) {                                             // ... spin the rest
  }
}

// One source of jitter: something the frame does (or suffers) besides its work. `before_work`
// runs inside the frame, before the work, and returns the data the work should hash (the same
// words every time, so the checksum can be checked).
struct Jitter {
  std::string name;
  std::function<std::span<const Word>(std::span<const Word> data)> before_work;
  std::function<void()> after_work = [] {};
};

// + allocation: a fresh buffer each frame, the data copied into it, freed at the end of the frame.
Jitter allocation_jitter(std::size_t bytes, std::vector<Word>& holder) {
  return {"hybrid + allocation",
          [bytes, &holder](std::span<const Word> data) {
            holder = std::vector<Word>(std::max(bytes / sizeof(Word), data.size()));  // malloc + zeroing
            std::copy(data.begin(), data.end(), holder.begin());
            return std::span<const Word>(holder.data(), data.size());
          },
          [&holder] { std::vector<Word>().swap(holder); }};  // free
}

// + mutex: another thread takes the lock, holds it for `hold` (spinning, as if working on the
// shared state), lets go for a random time up to a period, and again. The frame takes the same lock
// once to read the shared state.
class LockHolder {
 public:
  LockHolder(std::chrono::nanoseconds hold, std::chrono::nanoseconds period)
      : thread_([this, hold, period](std::stop_token stop) {
          std::mt19937 rng(12345);
          std::uniform_int_distribution<long long> gap(0, period.count());
          while (!stop.stop_requested()) {
            {
              std::lock_guard lock(mutex_);
              const auto until = Clock::now() + hold;
              while (Clock::now() < until) {
              }
              ++shared_;
            }
            holds_.fetch_add(1, std::memory_order_relaxed);
            std::this_thread::sleep_for(std::chrono::nanoseconds(gap(rng)));
          }
        }) {}
  std::uint64_t read_shared() {
    std::lock_guard lock(mutex_);
    return shared_;
  }
  std::uint64_t holds() const { return holds_.load(std::memory_order_relaxed); }

 private:
  std::mutex mutex_;
  std::uint64_t shared_ = 0;  // guarded by mutex_
  std::atomic<std::uint64_t> holds_{0};
  std::jthread thread_;  // declared last: stopped and joined first
};

// + logging: `lines` formatted lines per frame, each flushed: one write() system call per line.
Jitter logging_jitter(std::FILE* file, int lines) {
  return {"hybrid + logging", [file, lines, frame = std::uint64_t{0}](std::span<const Word> data) mutable {
            ++frame;
            for (int i = 0; i < lines; ++i) {
              std::fprintf(file, "frame %llu line %d: first word %u, all well\n",
                           static_cast<unsigned long long>(frame), i, data[static_cast<std::size_t>(i) % data.size()]);
              std::fflush(file);
            }
            return data;
          }};
}

// + page faults: the scratch lives in pages the process has never touched (or has given back), so
// each first write to a 4 KiB page traps into the kernel, which finds and zeroes a page.
Jitter page_fault_jitter(dp::PageMapping& scratch, std::size_t bytes) {
  return {"hybrid + page faults",
          [&scratch, bytes](std::span<const Word> data) {
            std::byte* p = scratch.data();
            for (std::size_t off = 0; off < bytes; off += 4096) p[off] = std::byte{1};  // first touch
            auto* words = reinterpret_cast<Word*>(p);
            std::copy(data.begin(), data.end(), words);
            return std::span<const Word>(words, data.size());
          },
          [&scratch, bytes] { ::madvise(scratch.data(), bytes, MADV_DONTNEED); }};  // give the pages back
}

// ---------------------------------------------------------------- reference and check ---------

// The checksum written the plainest way, for the check: index by index, round by round.
std::uint64_t reference_work(const std::vector<Word>& data, int rounds) {
  std::uint64_t h = 1469598103934665603ull;
  for (int r = 0; r < rounds; ++r)
    for (std::size_t i = 0; i < data.size(); ++i) {
      h ^= data[i];
      h *= 1099511628211ull;
    }
  return h;
}

// ---------------------------------------------------------------- the loop --------------------

struct LoopOutcome {
  std::vector<FrameRecord> frames;  // the frames shown
  std::size_t dropped = 0;          // frames never started: the loop was a whole period behind
  std::size_t wrong_checksums = 0;
  long minor_faults = 0;  // page faults the loop's thread took (getrusage, RUSAGE_THREAD)
};

long thread_minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// `slots` frame slots at `period` (so the loop runs slots x period of wall time, however slow the
// frames are): wait for the due time, take the jitter source's data, do the work, record. A loop
// that finds itself more than a whole period behind drops the frames it can no longer show, as a
// game or a player does; each dropped frame is a missed deadline too.
LoopOutcome run_loop(std::size_t slots, std::chrono::nanoseconds period, const std::function<void(Clock::time_point)>& wait,
                     std::span<const Word> data, int rounds, std::uint64_t want, const Jitter* jitter) {
  LoopOutcome out;
  out.frames.reserve(slots);
  const long faults_before = thread_minor_faults();
  const Clock::time_point t0 = Clock::now() + period;
  std::size_t slot = 0;
  while (slot < slots || out.frames.size() < 2) {  // two frames at least, for one frame time
    const Clock::time_point due = t0 + period * slot;
    wait(due);
    const Clock::time_point start = Clock::now();
    const std::span<const Word> input = jitter ? jitter->before_work(data) : data;
    out.wrong_checksums += frame_work(input, rounds) != want;
    if (jitter) jitter->after_work();
    const Clock::time_point end = Clock::now();
    out.frames.push_back({ns_between(t0, due), ns_between(t0, start), ns_between(t0, end)});
    const Clock::time_point next_due = due + period;
    ++slot;
    if (end > next_due + period) {  // more than a whole frame behind: drop the frames we cannot show
      const auto behind = std::min(static_cast<std::size_t>((end - next_due) / period), slots > slot ? slots - slot : 0);
      slot += behind;
      out.dropped += behind;
    }
  }
  out.minor_faults = thread_minor_faults() - faults_before;
  return out;
}

// ---------------------------------------------------------------- the run ---------------------

dp::Stats exactly(double ns, int reps) {
  dp::Stats s;
  s.median_ns = s.p10_ns = s.p90_ns = s.min_ns = ns;
  s.reps = reps;
  return s;
}

// The time that 1 frame in N exceeded, for N = 2 (the median), 10, 100, ... while at least 10
// frames lie beyond that point; the last point, at N = the number of frame times, is the slowest.
void add_tail(dp::Result& result, const std::string& variant, const std::vector<double>& times) {
  const auto reps = static_cast<int>(times.size());
  for (double one_in : {2.0, 10.0, 100.0, 1e3, 1e4, 1e5})
    if (one_in * 10 <= static_cast<double>(times.size()))
      result.add_point(variant, "1 frame in N", one_in, exactly(dp::frame_loop::tail_percentile(times, 1 - 1 / one_in), reps), 0, "");
  result.add_point(variant, "1 frame in N", static_cast<double>(times.size()), exactly(dp::frame_loop::tail_percentile(times, 1), reps), 0, "");
}

std::string ms(double ns) { return fmt::format("{:.3f} ms", ns / 1e6); }

// Timer precision: how much later than asked sleep_for returns, for requests from 1 us to 5 ms.
// Returns the median oversleep of the shortest request: the finest step the timer really gives.
double measure_timer(dp::LabContext& ctx, int sleeps) {
  double finest = 0;
  for (const long long us : {1LL, 10LL, 100LL, 1000LL, 5000LL}) {
    std::vector<double> over;
    for (int i = 0; i < sleeps; ++i) {
      const auto t0 = Clock::now();
      std::this_thread::sleep_for(std::chrono::microseconds(us));
      over.push_back(ns_between(t0, Clock::now()) - static_cast<double>(us) * 1e3);
    }
    dp::Stats s;
    s.median_ns = dp::percentile(over, 0.5);
    s.p10_ns = dp::percentile(over, 0.1);
    s.p90_ns = dp::percentile(over, 0.9);
    s.min_ns = dp::percentile(over, 0);
    s.reps = sleeps;
    ctx.result.add_point("sleep_for oversleep", "requested sleep (us)", static_cast<double>(us), s, 0, "");
    if (us == 1) finest = s.median_ns;
    ctx.result.headlines.push_back({fmt::format("sleep_for({} us) wakes late by", us),
                                    fmt::format("median {:.0f} us, p90 {:.0f} us, worst {:.0f} us", s.median_ns / 1e3,
                                                s.p90_ns / 1e3, dp::percentile(over, 1) / 1e3)});
  }
  return finest;
}

// Rounds of the hash that fill `target` on this machine: time a few rounds, scale, then confirm.
int calibrate_rounds(std::span<const Word> data, double target_ns) {
  auto median_ns = [&](int rounds) {
    std::vector<double> t;
    for (int i = 0; i < 15; ++i) {
      const auto t0 = Clock::now();
      benchmark::DoNotOptimize(frame_work(data, rounds));
      t.push_back(ns_between(t0, Clock::now()));
    }
    return dp::percentile(t, 0.5);
  };
  const int probe = 4;
  const double per_round = median_ns(probe) / probe;
  return std::max(1, static_cast<int>(target_ns / per_round));
}

void run(dp::LabContext& ctx) {
  const double rate = ctx.params.real("rate");
  const auto frames = static_cast<std::size_t>(ctx.params.integer("frames"));
  const auto jitter_frames = static_cast<std::size_t>(ctx.params.integer("jitter-frames"));
  const double rate_seconds = ctx.params.real("rate-seconds");
  const double work_fraction = ctx.params.real("work-fraction");
  const std::chrono::nanoseconds margin(static_cast<long long>(ctx.params.integer("spin-margin-us")) * 1000);
  const auto period = std::chrono::nanoseconds(static_cast<long long>(1e9 / rate));
  const double period_ns = static_cast<double>(period.count());

  // Fresh random input; its checksum by the plain reference, once, before anything is timed.
  std::mt19937 rng(std::random_device{}());
  std::vector<Word> data(kWorkWords);
  for (Word& w : data) w = static_cast<Word>(rng());
  const int rounds = calibrate_rounds(data, work_fraction * period_ns);
  const std::uint64_t want = reference_work(data, rounds);
  const std::uint64_t got = frame_work(data, rounds);
  ctx.result.add_check("the frame's work gives the reference checksum (before timing)", got == want,
                       fmt::format("frame_work {:#018x}, reference {:#018x}, {} rounds over {} words", got, want, rounds, data.size()));
  if (got != want) return;

  ctx.log << "  timer precision: sleep_for from 1 us to 5 ms\n";
  const double precision_ns = measure_timer(ctx, ctx.quick ? 20 : 200);
  ctx.result.add_check("the timer's measured precision is sane (> 0)", precision_ns > 0 && precision_ns < 1e9,
                       fmt::format("sleep_for(1 us) returned {:.1f} us late (median)", precision_ns / 1e3));
  if (!(precision_ns > 0 && precision_ns < 1e9)) return;

  std::size_t wrong = 0;
  auto record = [&](const std::string& variant, const LoopOutcome& o, double period_of_run) {
    wrong += o.wrong_checksums;
    const auto s = dp::frame_loop::summarize(o.frames, period_of_run);
    add_tail(ctx.result, variant, dp::frame_loop::frame_times(o.frames));
    ctx.result.headlines.push_back(
        {variant, fmt::format("frame time p50 {} / p99 {} / p99.9 {} / max {}; {} of {} deadlines missed ({} late, "
                              "{} dropped); latest start {:.0f} us; {:.1f} page faults a frame",
                              ms(s.p50_ns), ms(s.p99_ns), ms(s.p999_ns), ms(s.max_ns), s.misses + o.dropped,
                              s.frames + o.dropped, s.misses, o.dropped,
                              s.worst_late_ns / 1e3, static_cast<double>(o.minor_faults) / static_cast<double>(s.frames))});
    ctx.log << fmt::format("    {}: p99.9 {}, {} late and {} dropped of {}\n", variant, ms(s.p999_ns), s.misses, o.dropped,
                           s.frames + o.dropped);
  };

  // Pacing: the three ways to wait, no jitter source.
  const auto hybrid = [margin](Clock::time_point due) { wait_hybrid(due, margin); };
  ctx.log << fmt::format("  pacing: {} frames at {:g} Hz each (work {} of {})\n", frames, rate,
                         ms(work_fraction * period_ns), ms(period_ns));
  record("sleep_for", run_loop(frames, period, wait_sleep_for, data, rounds, want, nullptr), period_ns);
  record("busy-wait", run_loop(frames, period, wait_busy, data, rounds, want, nullptr), period_ns);
  record("hybrid", run_loop(frames, period, hybrid, data, rounds, want, nullptr), period_ns);

  // Jitter sources, one at a time, on the hybrid loop.
  ctx.log << fmt::format("  jitter sources: {} frames each, hybrid pacing\n", jitter_frames);
  std::vector<Word> holder;
  const Jitter alloc = allocation_jitter(static_cast<std::size_t>(ctx.params.integer("alloc-bytes")), holder);
  record(alloc.name, run_loop(jitter_frames, period, hybrid, data, rounds, want, &alloc), period_ns);
  {
    LockHolder other(period / 5, period);
    const Jitter mutex{"hybrid + mutex", [&other](std::span<const Word> d) {
                         benchmark::DoNotOptimize(other.read_shared());
                         return d;
                       }};
    record(mutex.name, run_loop(jitter_frames, period, hybrid, data, rounds, want, &mutex), period_ns);
    ctx.result.add_check("the other thread held the mutex during the mutex variant", other.holds() > 0,
                         fmt::format("it took and released the lock {} times", other.holds()));
  }
  {
    const auto path = std::filesystem::temp_directory_path() / fmt::format("dontpanic-frame-loop-{}.log", ::getpid());
    std::FILE* file = std::fopen(path.c_str(), "w");
    if (!file) throw dp::Error(fmt::format("frame-loop: cannot open the log file {} for writing", path.string()));
    const Jitter logging = logging_jitter(file, static_cast<int>(ctx.params.integer("log-lines")));
    const LoopOutcome o = run_loop(jitter_frames, period, hybrid, data, rounds, want, &logging);
    std::fclose(file);
    std::filesystem::remove(path);
    record(logging.name, o, period_ns);
  }
  {
    const auto bytes = static_cast<std::size_t>(ctx.params.integer("touch-bytes"));
    dp::PageMapping scratch(bytes, /*huge=*/false);
    const Jitter faults = page_fault_jitter(scratch, bytes);
    record(faults.name, run_loop(jitter_frames, period, hybrid, data, rounds, want, &faults), period_ns);
  }

  // Rates: the hybrid loop at 60, 120 and 1000 Hz, each for rate-seconds; the work fills the same
  // fraction of each frame.
  std::vector<std::string> rate_variants;
  for (const double hz : {60.0, 120.0, 1000.0}) {
    const auto p = std::chrono::nanoseconds(static_cast<long long>(1e9 / hz));
    const int r = std::max(1, static_cast<int>(std::lround(rounds * (1e9 / hz) / period_ns)));
    const std::uint64_t want_r = reference_work(data, r);
    const auto n = std::max<std::size_t>(20, static_cast<std::size_t>(rate_seconds * hz));
    ctx.log << fmt::format("  rate {:g} Hz: {} frames, hybrid pacing\n", hz, n);
    rate_variants.push_back(fmt::format("hybrid at {:g} Hz", hz));
    record(rate_variants.back(), run_loop(n, p, hybrid, data, r, want_r, nullptr), static_cast<double>(p.count()));
  }

  ctx.result.add_check("every frame's work gave the reference checksum", wrong == 0,
                       fmt::format("{} frames with a wrong checksum", wrong));

  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "timer",
      .title = "How late sleep_for wakes up",
      .xlabel = "requested sleep (us)",
      .ylabel = "oversleep, ns (median, p10-p90 bars)",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = true,
      .variants = {"sleep_for oversleep"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "pacing",
      .title = fmt::format("Frame times at {:g} Hz: the time that 1 frame in N exceeded", rate),
      .xlabel = "N (2: the median, 1000: p99.9; last point: the slowest frame)",
      .ylabel = "frame time, ns",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = true,
      .variants = {"sleep_for", "busy-wait", "hybrid"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "jitter",
      .title = fmt::format("One source of jitter at a time (hybrid pacing, {:g} Hz)", rate),
      .xlabel = "N (2: the median, 1000: p99.9; last point: the slowest frame)",
      .ylabel = "frame time, ns",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = true,
      .variants = {"hybrid", "hybrid + allocation", "hybrid + mutex", "hybrid + logging", "hybrid + page faults"}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "rates",
      .title = "The hybrid loop at three rates",
      .xlabel = "N (2: the median; last point: the slowest frame)",
      .ylabel = "frame time, ns",
      .y = dp::PlotSpec::Y::time,
      .logx = true,
      .logy = true,
      .variants = rate_variants});
  ctx.result.notes.push_back(fmt::format(
      "Each frame's work is {} rounds of a hash over 16 KiB, calibrated to fill {:.0f}% of a {:g} Hz frame on this machine; "
      "a deadline is missed when a frame's work ends after the next frame is due (late), or when the loop, a whole "
      "frame behind, skips a frame (dropped). The plots show tail percentiles "
      "(the time 1 frame in N exceeded), not histograms: the plot contract draws curves of points, not bars. "
      "Timings on a loaded machine: other programs' threads delay ours, and every variant then misses more.",
      rounds, 100 * work_fraction, rate));
}

dp::MemoryNeed memory_need(const dp::Params& params, const dp::MachineInfo&, bool) {
  return {static_cast<std::uint64_t>(params.integer("frames")) * sizeof(FrameRecord) * 2 +
              static_cast<std::uint64_t>(params.integer("alloc-bytes") + params.integer("touch-bytes")),
          "the recorded frames and the per-frame scratch"};
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "frame-loop",
             .title = "The frame loop: pacing, deadlines and jitter",
             .module = 5,
             .level = 2,
             .tracks = {},
             .question = "How steadily can a loop hit 60, 120 or 1000 frames a second, and what shakes it?",
             .guide_page = "m5/frame-loop.md",
             .source = "src/labs/m5/frame_loop.cpp"},
    .params = {dp::ParamSpec::real("rate", "frames a second for the pacing and jitter variants", 120, 1000, 10, 2000),
               dp::ParamSpec::integer("frames", "frames per pacing variant (each lasts frames / rate seconds)", 10'000, 500, 20,
                                      10'000'000),
               dp::ParamSpec::integer("jitter-frames", "frames per jitter source (each lasts jitter-frames / rate seconds)", 2000, 300, 20, 10'000'000),
               dp::ParamSpec::real("rate-seconds", "seconds the hybrid loop runs at each of 60, 120, 1000 Hz", 10, 0.4, 0.1, 3600),
               dp::ParamSpec::real("work-fraction", "share of a frame the work fills (calibrated)", 0.75, 0.75, 0.01, 0.99),
               dp::ParamSpec::integer("spin-margin-us", "hybrid: spin this long before the due time", 1000, 1000, 0, 100'000),
               dp::ParamSpec::integer("alloc-bytes", "allocation jitter: bytes allocated per frame", 1 << 20, 1 << 20, 64, 1LL << 30),
               dp::ParamSpec::integer("log-lines", "logging jitter: lines written and flushed per frame", 20, 20, 1, 100'000),
               dp::ParamSpec::integer("touch-bytes", "page-fault jitter: fresh bytes touched per frame", 2 << 20, 2 << 20, 4096,
                                      1LL << 30)},
    .run = run,
    .memory_need = memory_need,
    .memory_param = "frames",
});
