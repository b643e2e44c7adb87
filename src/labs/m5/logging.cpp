// logging — What does one log line cost the thread that writes it, and what does logging every
// frame do to a frame loop's worst frames?
//
// Every variant writes the same line, "frame <n> took <x.xxx> ms: <note>", to a file in a scratch
// folder (and to /dev/null, where the disk and the page cache drop out):
//   none          no logging: the cost of the two clock reads that time a call (the floor)
//   printf        std::fprintf into stdio's buffer (4 KiB); a write() when it fills
//   printf-flush  the same, and fflush after every line: one write() system call per message,
//                 as code does that wants every line on disk if it crashes
//   iostream      std::ofstream << ... << '\n' (not std::endl, which would flush)
//   spdlog-sync   spdlog's logger with a file sink, pattern "%v" (the message alone): formats and
//                 writes on the calling thread, behind the sink's mutex
//   spdlog-async  spdlog's async logger: the call formats nothing; it queues the arguments
//                 (spdlog copies them into a queue slot) for a worker thread; queue full: block
//   ring-drop     ours (log_ring.hpp): the call copies raw arguments into a 64-byte record of a
//                 lock-free ring; a writer thread formats and writes; ring full: drop and count
//   ring-block    the same ring; ring full: wait for the writer
// Measured:
//   call-site latency   every call timed alone (two steady_clock reads), one message every
//                       `gap-ns`: p50, p90, p99, p99.9 per variant and destination
//   throughput          messages written per second in a tight loop, from the first call until
//                       the last line is handed to the OS (file closed, writer thread joined)
//   frame loop          a 1000 Hz loop of fixed work (about `work-us` of arithmetic), logging one
//                       line per frame: p50/p99/max of a frame's work + logging time, and deadline
//                       misses; `none` shows the loop alone
// Checked before timing: every variant's file holds every message, complete, in order (count and
// each line's text against fmt::format of the same arguments); ring-drop may drop, so its check
// is that the lines present are in order and correct and that present + dropped = sent; the
// overflow policies, in a tiny ring (64 records) flooded by a burst: drop loses some and counts
// every one, block loses none.
// Without spdlog (Debian libspdlog-dev) the two spdlog variants are left out and a note says so.
//
//   dontpanic run logging            200k messages per latency and throughput run, 3000 frames
//   dontpanic run logging --quick    10k messages, 200 frames (a few seconds)
//   --param queue=8192               slots of the async queues (spdlog-async, ring-*)
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"  // kSanitized
#include "core/table.hpp"        // format_duration_ns
#include "labs/m5/log_ring.hpp"  // our ring and its writer thread

#ifdef DP_HAVE_SPDLOG
#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// The message: what every variant writes for frame `seq`
// ---------------------------------------------------------------------------------------------

// Values with an exact 3-decimal form (multiples of 1/8), so printf, iostream and fmt all print
// the same digits and the check can compare text.
double frame_ms(std::uint64_t seq) { return static_cast<double>(seq % 4096) * 0.125; }
const char* frame_note(std::uint64_t seq) {
  static constexpr std::array<const char*, 4> notes = {"on time", "late", "input queued", "asset streamed in"};
  return notes[seq % notes.size()];
}
// The reference: the line as fmt::format writes it (every variant must match it).
std::string reference_line(std::uint64_t seq) {
  return fmt::format("frame {} took {:.3f} ms: {}", seq, frame_ms(seq), frame_note(seq));
}

// ---------------------------------------------------------------------------------------------
// The variants: one call per message, the same arguments
// ---------------------------------------------------------------------------------------------

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void frame(std::uint64_t seq, double ms, const char* note) = 0;  // the timed call
  virtual void close() = 0;                        // everything written and the file closed
  virtual std::uint64_t dropped() const { return 0; }
};

class NoLogging final : public Logger {
 public:
  void frame(std::uint64_t seq, double ms, const char* note) override {
    benchmark::DoNotOptimize(seq), benchmark::DoNotOptimize(ms), benchmark::DoNotOptimize(note);
  }
  void close() override {}
};

class Printf final : public Logger {
 public:
  Printf(const std::string& path, bool flush_each) : file_(std::fopen(path.c_str(), "w")), flush_each_(flush_each) {
    if (!file_) throw dp::Error(fmt::format("logging: cannot open {} for writing", path));
  }
  ~Printf() override { close(); }
  void frame(std::uint64_t seq, double ms, const char* note) override {
    std::fprintf(file_, "frame %llu took %.3f ms: %s\n", static_cast<unsigned long long>(seq), ms, note);
    if (flush_each_) std::fflush(file_);
  }
  void close() override {
    if (file_) std::fclose(file_), file_ = nullptr;
  }

 private:
  std::FILE* file_;
  bool flush_each_;
};

class Iostream final : public Logger {
 public:
  explicit Iostream(const std::string& path) : out_(path) {
    if (!out_) throw dp::Error(fmt::format("logging: cannot open {} for writing", path));
    out_ << std::fixed << std::setprecision(3);
  }
  void frame(std::uint64_t seq, double ms, const char* note) override {
    out_ << "frame " << seq << " took " << ms << " ms: " << note << '\n';
  }
  void close() override { out_.close(); }

 private:
  std::ofstream out_;
};

#ifdef DP_HAVE_SPDLOG
// spdlog, synchronous or asynchronous, with a file sink and the pattern "%v": the line is the
// message alone, as in every other variant (spdlog's default pattern adds a time stamp and the
// level, which cost more).
class Spdlog final : public Logger {
 public:
  Spdlog(const std::string& path, bool async, std::size_t queue) {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, true);
    if (async) {
      pool_ = std::make_shared<spdlog::details::thread_pool>(queue, 1);
      logger_ = std::make_shared<spdlog::async_logger>("logging-lab", sink, pool_, spdlog::async_overflow_policy::block);
    } else {
      logger_ = std::make_shared<spdlog::logger>("logging-lab", sink);
    }
    logger_->set_pattern("%v");
  }
  ~Spdlog() override { close(); }
  void frame(std::uint64_t seq, double ms, const char* note) override {
    logger_->info("frame {} took {:.3f} ms: {}", seq, ms, note);
  }
  void close() override {
    // The pool first: its destructor lets the worker finish the queue (queued messages hold the
    // logger) and joins it. Only then the logger and its sink (and the file), on this thread: a
    // sink destroyed while the worker may still touch it is a race (ThreadSanitizer saw one).
    if (logger_) logger_->flush();
    pool_.reset();
    logger_.reset();
  }

 private:
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::logger> logger_;
};
#endif

class Ring final : public Logger {
 public:
  Ring(const std::string& path, std::size_t queue, dp::logring::Overflow overflow) : ring_(path, queue, overflow) {}
  void frame(std::uint64_t seq, double ms, const char* note) override {
    ring_.log("frame {} took {:.3f} ms: {}", seq, ms, note);  // copies 24 bytes; formats nothing
  }
  void close() override {
    ring_.close();
    if (ring_.write_failed()) throw dp::Error("logging: the ring's writer thread could not write its file (disk full?)");
  }
  std::uint64_t dropped() const override { return ring_.dropped(); }

 private:
  dp::logring::RingLogger ring_;
};

struct Variant {
  std::string name;
  bool writes = true;  // false: `none`, which has no file to check or throughput to measure
  std::function<std::unique_ptr<Logger>(const std::string& path, std::size_t queue)> open;
};

std::vector<Variant> variants() {
  using dp::logring::Overflow;
  std::vector<Variant> v = {
      {"none", false, [](const std::string&, std::size_t) { return std::make_unique<NoLogging>(); }},
      {"printf", true, [](const std::string& p, std::size_t) { return std::make_unique<Printf>(p, false); }},
      {"printf-flush", true, [](const std::string& p, std::size_t) { return std::make_unique<Printf>(p, true); }},
      {"iostream", true, [](const std::string& p, std::size_t) { return std::make_unique<Iostream>(p); }},
  };
#ifdef DP_HAVE_SPDLOG
  v.push_back({"spdlog-sync", true, [](const std::string& p, std::size_t q) { return std::make_unique<Spdlog>(p, false, q); }});
  v.push_back({"spdlog-async", true, [](const std::string& p, std::size_t q) { return std::make_unique<Spdlog>(p, true, q); }});
#endif
  v.push_back({"ring-drop", true, [](const std::string& p, std::size_t q) { return std::make_unique<Ring>(p, q, Overflow::drop); }});
  v.push_back({"ring-block", true, [](const std::string& p, std::size_t q) { return std::make_unique<Ring>(p, q, Overflow::block); }});
  return v;
}

// ---------------------------------------------------------------------------------------------
// The check: read a log file back and compare every line with the reference
// ---------------------------------------------------------------------------------------------

struct FileCheck {
  bool passed = false;
  std::string detail;
};

// `sent` messages 0..sent-1 were logged and `dropped` of them dropped at the call site. With
// dropped = 0, every line must be there, in order; otherwise the lines present must be a rising
// subsequence of the messages, each intact, and present + dropped = sent.
FileCheck check_file(const std::string& path, std::uint64_t sent, std::uint64_t dropped) {
  std::ifstream in(path);
  if (!in) return {false, fmt::format("cannot read {} back", path)};
  std::string line;
  std::uint64_t lines = 0, expect = 0, bad = 0;
  std::string first_bad;
  while (std::getline(in, line)) {
    ++lines;
    // The sequence number the line claims, then the whole line against the reference for it.
    unsigned long long seq = 0;
    const bool parsed = std::sscanf(line.c_str(), "frame %llu ", &seq) == 1;
    const bool in_order = parsed && (dropped == 0 ? seq == expect : seq >= expect) && seq < sent;
    if (!in_order || line != reference_line(seq)) {
      if (bad++ == 0)
        first_bad = fmt::format("line {} is \"{}\", want \"{}\"", lines, line.substr(0, 80),
                                reference_line(in_order ? seq : expect));
    }
    expect = (parsed ? seq : expect) + 1;
  }
  const bool complete = lines + dropped == sent;
  if (bad == 0 && complete)
    return {true, dropped == 0 ? fmt::format("{} lines, all in order and intact", lines)
                               : fmt::format("{} lines in order and intact + {} dropped (counted) = {} sent", lines, dropped, sent)};
  return {false, fmt::format("{} lines + {} dropped for {} sent; {} wrong{}{}", lines, dropped, sent, bad,
                             bad ? ", first: " : "", first_bad)};
}

// Logs messages 0..n-1 through a fresh logger on `path`, closes it, checks the file.
FileCheck logged_and_checked(const Variant& v, const std::string& path, std::size_t queue, std::uint64_t n) {
  auto logger = v.open(path, queue);
  for (std::uint64_t i = 0; i < n; ++i) logger->frame(i, frame_ms(i), frame_note(i));
  logger->close();
  return check_file(path, n, logger->dropped());
}

// ---------------------------------------------------------------------------------------------
// The measurements
// ---------------------------------------------------------------------------------------------

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The scratch folder for the log files, removed when the lab ends.
class ScratchDir {
 public:
  ScratchDir() : path_(std::filesystem::temp_directory_path() / fmt::format("dontpanic-logging-{}", ::getpid())) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / (name + ".log")).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Call-site latency: n calls, one every gap_ns (a spin on the clock between them, so the pace
// holds on a busy machine), each call timed alone. Returns the n times in ns.
std::vector<double> call_latencies(Logger& logger, std::uint64_t n, std::int64_t gap_ns) {
  std::vector<double> ns(n);
  std::int64_t next = now_ns();
  for (std::uint64_t i = 0; i < n; ++i) {
    while (now_ns() < next) {
#if defined(__x86_64__) || defined(__i386__)
      _mm_pause();
#endif
    }
    const double ms = frame_ms(i);
    const char* note = frame_note(i);
    const std::int64_t t0 = now_ns();
    logger.frame(i, ms, note);
    const std::int64_t t1 = now_ns();
    ns[i] = static_cast<double>(t1 - t0);
    next = t1 + gap_ns;
  }
  return ns;
}

// The frame loop: `frames` frames at 1000 Hz. A frame does fixed work, logs one line, and sleeps
// until the next 1 ms tick. Measured per frame: work + logging, from the frame's start (after the
// wake-up, so the sleep's own lateness is not counted) to the end of the log call.
struct FrameRun {
  std::vector<double> frame_ns;
  std::uint64_t missed = 0;  // frames whose work + logging ended after their 1 ms slot
};

std::uint64_t fixed_work(std::uint64_t iterations, std::uint64_t seed) {
  std::uint64_t x = seed | 1;
  for (std::uint64_t i = 0; i < iterations; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL, x ^= x >> 29;
  return x;
}

FrameRun frame_loop(Logger& logger, std::uint64_t frames, std::uint64_t work_iterations) {
  constexpr std::int64_t kPeriod = 1'000'000;  // 1 ms: 1000 Hz
  FrameRun run;
  run.frame_ns.reserve(frames);
  std::int64_t tick = now_ns();
  for (std::uint64_t i = 0; i < frames; ++i) {
    const std::int64_t start = now_ns();
    benchmark::DoNotOptimize(fixed_work(work_iterations, i));
    logger.frame(i, frame_ms(i), frame_note(i));
    const std::int64_t end = now_ns();
    run.frame_ns.push_back(static_cast<double>(end - start));
    tick += kPeriod;
    if (end > tick) ++run.missed, tick = end;  // late: the next frame starts now, no catching up
    std::this_thread::sleep_for(std::chrono::nanoseconds(tick - now_ns()));
  }
  return run;
}

// Iterations of fixed_work that take about work_us here (the median of a few tries).
std::uint64_t calibrate_work(double work_us) {
  std::uint64_t iterations = 1000;
  std::vector<double> per;
  for (int k = 0; k < 7; ++k) {
    const std::int64_t t0 = now_ns();
    benchmark::DoNotOptimize(fixed_work(iterations, static_cast<std::uint64_t>(k)));
    per.push_back(static_cast<double>(now_ns() - t0) / static_cast<double>(iterations));
  }
  const double ns_per = std::max(0.1, dp::percentile(per, 0.5));
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(work_us * 1000.0 / ns_per));
}

// Percentiles as points of one series: x = N in "the slowest 1 in N" (2 = p50, 100 = p99).
constexpr std::array<double, 4> kOneIn = {2, 10, 100, 1000};
void add_percentiles(dp::Result& result, const std::string& series, const std::vector<double>& ns, const char* per) {
  for (double one_in : kOneIn) {
    const double v = dp::percentile(ns, 1.0 - 1.0 / one_in);
    result.add_point(series, "slowest 1 in N", one_in,
                     dp::Stats{.median_ns = v, .p10_ns = v, .p90_ns = v, .min_ns = 0, .reps = static_cast<int>(ns.size())}, 0,
                     "", per);
  }
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto all = variants();
  const std::size_t queue = static_cast<std::size_t>(ctx.params.integer("queue"));
  std::uint64_t messages = static_cast<std::uint64_t>(ctx.params.integer("messages"));
  std::uint64_t frames = static_cast<std::uint64_t>(ctx.params.integer("frames"));
  const std::int64_t gap_ns = ctx.params.integer("gap-ns");
  const int reps = ctx.quick ? 3 : 7;
  if (dp::kSanitized && ctx.quick) {
    messages = std::min<std::uint64_t>(messages, 5000), frames = std::min<std::uint64_t>(frames, 100);
    ctx.result.notes.push_back("Sanitizer build: 5000 messages per run, 100 frames; the times mean nothing here, the checks do.");
  }
#ifndef DP_HAVE_SPDLOG
  ctx.result.notes.push_back("spdlog was not found at build time (Debian: libspdlog-dev): spdlog-sync and spdlog-async are left out.");
#endif
  ScratchDir scratch;
  ctx.log << fmt::format("  log files in {}\n", scratch.path().string());

  // 1. Check first: every variant, every message, in a file; then the overflow policies.
  bool all_passed = true;
  for (const Variant& v : all) {
    if (!v.writes) continue;
    const FileCheck c = logged_and_checked(v, scratch.file("check-" + v.name), queue, messages);
    const bool may_drop = v.name == "ring-drop";
    ctx.result.add_check(may_drop ? fmt::format("{}: the lines in the file in order and intact, every missing one counted as dropped", v.name)
                                  : fmt::format("{}: every message in the file, complete and in order", v.name),
                         c.passed, c.detail);
    all_passed = all_passed && c.passed;
  }
  {  // A burst of `messages` into a 64-record ring: drop must lose some and count every one, block none.
    using dp::logring::Overflow;
    const std::size_t tiny = 64;
    for (Overflow policy : {Overflow::drop, Overflow::block}) {
      const bool drop = policy == Overflow::drop;
      const Variant v{drop ? "ring-drop" : "ring-block", true, [&](const std::string& p, std::size_t q) {
                        return std::make_unique<Ring>(p, q, policy);
                      }};
      auto logger = v.open(scratch.file(v.name + "-tiny"), tiny);
      for (std::uint64_t i = 0; i < messages; ++i) logger->frame(i, frame_ms(i), frame_note(i));
      logger->close();
      FileCheck c = check_file(scratch.file(v.name + "-tiny"), messages, logger->dropped());
      const bool policy_held = drop ? logger->dropped() > 0 : logger->dropped() == 0;
      if (!policy_held)
        c.detail += drop ? "; but nothing was dropped: a 64-record ring flooded by a burst should overflow"
                         : "; but the blocking ring dropped messages";
      ctx.result.add_check(fmt::format("{}: overflow policy in a {}-record ring ({})", v.name, tiny,
                                       drop ? "full: drop and count" : "full: wait for the writer"),
                           c.passed && policy_held, c.detail);
      all_passed = all_passed && c.passed && policy_held;
    }
  }
  if (!all_passed) return;

  // 2. Call-site latency, paced, to the file and to /dev/null.
  const std::vector<std::pair<std::string, std::string>> destinations = {{"file", ""}, {"/dev/null", "/dev/null"}};
  for (const auto& [dest, fixed_path] : destinations) {
    for (const Variant& v : all) {
      if (!v.writes && dest != "file") continue;  // `none` writes nowhere: once is enough
      auto logger = v.open(fixed_path.empty() ? scratch.file("latency-" + v.name) : fixed_path, queue);
      const std::vector<double> ns = call_latencies(*logger, messages, gap_ns);
      logger->close();
      add_percentiles(ctx.result, fmt::format("{} calls to {}", v.name, v.writes ? dest : "nowhere"), ns, "call");
      if (logger->dropped() > 0)
        ctx.result.notes.push_back(fmt::format("{} dropped {} of {} messages in the paced latency run to {}", v.name,
                                               logger->dropped(), messages, dest));
    }
  }

  // 3. Throughput: a tight loop of `messages` calls, until everything is written.
  std::vector<std::string> names;
  for (const auto& [dest, fixed_path] : destinations) {
    double x = 0;
    for (const Variant& v : all) {
      if (!v.writes) continue;
      if (dest == "file") names.push_back(v.name);
      std::vector<double> per_written;
      std::uint64_t dropped = 0;
      for (int r = 0; r < reps; ++r) {
        const std::int64_t t0 = now_ns();
        auto logger = v.open(fixed_path.empty() ? scratch.file("throughput-" + v.name) : fixed_path, queue);
        for (std::uint64_t i = 0; i < messages; ++i) logger->frame(i, frame_ms(i), frame_note(i));
        logger->close();
        const std::int64_t t1 = now_ns();
        dropped += logger->dropped();
        const std::uint64_t written = messages - logger->dropped();
        per_written.push_back(static_cast<double>(t1 - t0) / static_cast<double>(std::max<std::uint64_t>(1, written)));
      }
      const double median = dp::percentile(per_written, 0.5);
      ctx.result.add_point(fmt::format("throughput to {}", dest), "variant", ++x,
                           dp::Stats{.median_ns = median, .p10_ns = dp::percentile(per_written, 0.1),
                                     .p90_ns = dp::percentile(per_written, 0.9), .min_ns = 0, .reps = reps},
                           1e3 / median, "M messages/s", "message written");
      if (dropped > 0)
        ctx.result.headlines.push_back({fmt::format("{} dropped in a burst to {} ({}-record ring)", v.name, dest, queue),
                                        fmt::format("{:.1f}% of {} messages", 100.0 * static_cast<double>(dropped) /
                                                                                   static_cast<double>(messages * reps),
                                                    messages * reps)});
    }
  }

  // 4. The frame loop: fixed work at 1000 Hz, one log line per frame, to the file.
  const std::uint64_t work_iterations = calibrate_work(static_cast<double>(ctx.params.integer("work-us")));
  std::vector<std::string> frame_series;
  double none_p99 = 0;
  for (const Variant& v : all) {
    auto logger = v.open(scratch.file("frames-" + v.name), queue);
    const FrameRun fr = frame_loop(*logger, frames, work_iterations);
    logger->close();
    const std::string series = v.name + " frame";
    frame_series.push_back(series);
    add_percentiles(ctx.result, series, fr.frame_ns, "frame");
    const double p50 = dp::percentile(fr.frame_ns, 0.5), p99 = dp::percentile(fr.frame_ns, 0.99);
    const double worst = *std::max_element(fr.frame_ns.begin(), fr.frame_ns.end());
    if (!v.writes) none_p99 = p99;
    ctx.result.headlines.push_back(
        {fmt::format("frame loop, {}: p50 / p99 / max of work + logging ({} frames)", v.name, frames),
         fmt::format("{} / {} / {}{}{}", dp::format_duration_ns(p50), dp::format_duration_ns(p99), dp::format_duration_ns(worst),
                     v.writes ? fmt::format(" (p99 {:+.1f} us vs none)", (p99 - none_p99) / 1e3) : "",
                     fr.missed ? fmt::format(", {} deadlines missed", fr.missed) : "")});
    if (logger->dropped() > 0)
      ctx.result.notes.push_back(fmt::format("{} dropped {} of {} frame lines", v.name, logger->dropped(), frames));
  }

  // Key figures: p50 and p99 of a call to the file, and throughput to the file.
  for (const Variant& v : all) {
    const std::string s = fmt::format("{} calls to {}", v.name, v.writes ? "file" : "nowhere");
    const dp::Point* p50 = ctx.result.point_at(s, 2);
    const dp::Point* p99 = ctx.result.point_at(s, 100);
    if (p50 && p99)
      ctx.result.headlines.push_back({fmt::format("{}: call p50 / p99 (file, one every {})", v.name, dp::format_duration_ns(double(gap_ns))),
                                      fmt::format("{} / {}", dp::format_duration_ns(p50->median_ns), dp::format_duration_ns(p99->median_ns))});
  }
  for (std::size_t i = 0; i < names.size(); ++i)
    if (const dp::Point* p = ctx.result.point_at("throughput to file", static_cast<double>(i + 1)))
      ctx.result.headlines.push_back({fmt::format("{}: throughput to file", names[i]), fmt::format("{:.2f} M messages/s", p->throughput)});
  ctx.result.notes.push_back(fmt::format(
      "Call times include the two clock reads around each call (the `none` variant is that floor). Throughput runs "
      "{} messages in a tight loop, opening and closing the logger included, median of {} runs. Frames: {} at 1000 Hz, "
      "work calibrated to {} us; a deadline is missed when a frame ends after its 1 ms slot, a late wake-up from the "
      "sleep between frames included (on a busy machine, even without logging). Files in {} (removed at the end).",
      messages, reps, frames, ctx.params.integer("work-us"), scratch.path().string()));

  // Plots.
  std::string order;
  for (std::size_t i = 0; i < names.size(); ++i) order += fmt::format("{}{} {}", i ? ", " : "", i + 1, names[i]);
  const auto latency_plot = [&](const char* name, const std::string& dest) {
    std::vector<std::string> series;
    for (const Variant& v : all) series.push_back(fmt::format("{} calls to {}", v.name, v.writes ? dest : "nowhere"));
    ctx.result.plots.push_back(dp::PlotSpec{.name = name, .title = fmt::format("The cost of one log call, to {}", dest),
                                            .xlabel = "the slowest 1 in N calls (N = 2: median, 100: p99)",
                                            .ylabel = "ns per call", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
                                            .variants = series});
  };
  latency_plot("latency-file", "file");
  latency_plot("latency-null", "/dev/null");
  ctx.result.plots.push_back(dp::PlotSpec{.name = "throughput", .title = "Messages written per second, a tight loop",
                                          .xlabel = "variant: " + order, .ylabel = "M messages/s",
                                          .y = dp::PlotSpec::Y::throughput, .logx = false, .logy = true,
                                          .variants = {"throughput to file", "throughput to /dev/null"}});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "frames", .title = "A 1000 Hz frame loop that logs every frame",
                                          .xlabel = "the slowest 1 in N frames (N = 2: median, 100: p99)",
                                          .ylabel = "ns of work + logging per frame", .y = dp::PlotSpec::Y::time,
                                          .logx = true, .logy = true, .variants = frame_series});
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "logging",
             .title = "Logging without stalling the loop",
             .module = 5,
             .level = 3,
             .tracks = {},
             .question = "What does one log line cost the thread that writes it, and what does logging every "
                         "frame do to a frame loop's slowest frames?",
             .guide_page = "m5/logging.md",
             .source = "src/labs/m5/logging.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("messages", "messages per check, latency and throughput run", 200'000, 10'000, 1000, 10'000'000),
               dp::ParamSpec::integer("queue", "slots of the async queues (spdlog-async, ring-drop, ring-block)", 8192, 8192, 64, 1 << 22),
               dp::ParamSpec::integer("gap-ns", "ns between two calls in the latency runs", 1000, 1000, 0, 1'000'000),
               dp::ParamSpec::integer("frames", "frames of the 1000 Hz frame loop, per variant", 3000, 200, 10, 600'000),
               dp::ParamSpec::integer("work-us", "fixed work per frame, in us", 200, 200, 1, 900)},
    .run = run,
});
