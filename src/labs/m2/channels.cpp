// channels — How fast can one thread pass messages to another, and how long does one take?
//
// One producer thread sends numbered messages to one consumer thread through four queues
// (channels_queues.hpp beside this file holds them):
//   mutex-cv     ours: a bounded deque behind one mutex, with two condition variables
//                (not-full, not-empty); a waiting thread sleeps in the kernel
//   spsc-ring    ours: a bounded lock-free ring for exactly one producer and one consumer; two
//                atomic indices on their own cache lines; a waiting thread spins
//   moodycamel   moodycamel::ConcurrentQueue (Debian libconcurrentqueue-dev): lock-free, many
//                producers and consumers; bounded here through try_enqueue (which never
//                allocates), so that it waits for the consumer as the others do; both sides spin
//   tbb          tbb::concurrent_bounded_queue: bounded, pop() spins a little, then sleeps
// Measured, in three parts:
//   throughput   messages/s for message sizes 16..256 bytes and batch sizes 1..256 (a batch is
//                pushed and popped in one call where the queue can: ring, mutex-cv, moodycamel)
//   latency by size and batch   one-way p50/p99/p99.9 per message, 16/64/256-byte messages one
//                at a time and 16-byte ones in batches of 1/8/64, a batch every 20 us; every
//                consumer spins (try_pop), so this is copying and batching, no wake-up. A
//                message's latency runs from its batch's push to the pop that returns it.
//   latency by gap   16-byte messages one at a time, 2 us to 1 ms apart, consumers waiting their
//                own way: one that sleeps must be woken, and that is the cost the gap reveals.
// Checked, in every transfer, timed or not: every message arrives once and in order (sequence
// numbers), payloads intact (checksum).
// Without the moodycamel header, and under ThreadSanitizer for moodycamel and TBB, a variant is
// left out (channels_queues.hpp says why) and the notes say so.
//
//   dontpanic run channels             200k messages per transfer; latency runs of 1 s each
//   dontpanic run channels --quick     5k messages; latency runs of 100 ms, gaps 2, 20, 200 us
//   --param capacity=1024              slots of the bounded queues
#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/checks_by_size.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"  // kSanitized
#include "core/sweep.hpp"
#include "core/table.hpp"  // format_duration_ns
#include "labs/m2/channels_queues.hpp"  // the four queues, for_each_queue, relax

namespace {

using namespace dp::channels;  // the queues: this lab is their only user

// A message: a sequence number, the time it was sent, and payload words to make up `Bytes`.
template <std::size_t Bytes>
struct Message {
  static_assert(Bytes >= 16 && Bytes % 8 == 0);
  std::uint64_t seq = 0;
  std::int64_t sent_ns = 0;
  std::array<std::uint64_t, (Bytes - 16) / 8> payload{};
};

// ---------------------------------------------------------------------------------------------
// A transfer and its check
// ---------------------------------------------------------------------------------------------

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::uint64_t word(std::uint64_t seq, std::size_t k) { return seq * 0x9e3779b97f4a7c15ULL + k; }

// The top bit of seq marks the last message of a transfer: a latency run ends at a deadline, so
// only the producer knows how many it sent.
constexpr std::uint64_t kLast = std::uint64_t{1} << 63;

struct Received {
  std::uint64_t sent = 0;  // by the producer
  std::uint64_t count = 0, out_of_order = 0, checksum = 0, first_bad = 0;
  std::vector<double> latency_ns;  // filled when asked
};

// How a transfer is paced. gap_ns = 0 (throughput): as fast as the queue goes, nothing timed.
// gap_ns > 0 (latency): one batch at most every gap_ns, every message stamped with its batch's
// send time, and no batch after `deadline` (steady-clock ns). poll: the consumer never sleeps, it
// spins on try_pop where it would call pop, so no latency includes a wake-up.
struct Pace {
  std::int64_t gap_ns = 0, deadline = 0;
  bool poll = false;
};

// The consumer: takes messages until the last one, checks the sequence, sums the payload words.
template <class T, class Q>
void consume(Q& queue, std::size_t batch, Pace pace, Received& r) {
  std::vector<T> buffer(batch);
  const bool timed = pace.gap_ns > 0;
  for (bool last = false; !last;) {
    std::size_t k = 0;
    if (pace.poll)
      for (unsigned spins = 0; (k = queue.try_pop(buffer.data(), batch)) == 0;) relax(spins);
    else
      k = queue.pop(buffer.data(), batch);
    const std::int64_t now = timed ? now_ns() : 0;  // receipt: when pop returned
    for (std::size_t i = 0; i < k; ++i) {
      const T& m = buffer[i];
      const std::uint64_t seq = m.seq & ~kLast;
      last = last || (m.seq & kLast) != 0;
      if (seq != r.count && r.out_of_order++ == 0) r.first_bad = r.count;
      r.checksum += seq;
      for (std::size_t w = 0; w < m.payload.size(); ++w) r.checksum += m.payload[w] ^ word(seq, w);  // 0 when intact
      if (timed) r.latency_ns.push_back(static_cast<double>(now - m.sent_ns));
      ++r.count;
    }
  }
}

// Sends `total` messages, `batch` per push (the last push may hold fewer).
template <class T, class Q>
Received transfer(std::size_t capacity, std::uint64_t total, std::size_t batch, Pace pace = {}) {
  Q queue(capacity);
  Received r;
  const bool timed = pace.gap_ns > 0;
  if (timed) r.latency_ns.reserve(std::min<std::uint64_t>(total, 1 << 20));
  {
    std::jthread consumer([&] { consume<T>(queue, batch, pace, r); });
    std::vector<T> buffer(batch);
    std::int64_t next = now_ns();
    for (std::uint64_t sent = 0;;) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(batch, total - sent));
      bool last = sent + k == total;
      if (timed) {  // at least gap_ns between batches: a late one is not followed by a burst
        std::int64_t now;  // a pure spin, no yield: a yield on a busy machine can cost milliseconds
        while ((now = now_ns()) < next) {
#if defined(__x86_64__) || defined(__i386__)
          _mm_pause();
#endif
        }
        next = now + pace.gap_ns;
        last = last || (pace.deadline > 0 && now >= pace.deadline);
      }
      for (std::size_t i = 0; i < k; ++i) {
        T& m = buffer[i];
        m.seq = sent + i;
        for (std::size_t w = 0; w < m.payload.size(); ++w) m.payload[w] = word(m.seq, w);
      }
      if (last) buffer[k - 1].seq |= kLast;
      const std::int64_t stamp = timed ? now_ns() : 0;  // the batch's send time: its messages are built
      for (std::size_t i = 0; i < k; ++i) buffer[i].sent_ns = stamp;
      queue.push(buffer.data(), k);
      sent += k;
      if (last) {
        r.sent = sent;
        break;
      }
    }
  }  // joins the consumer
  return r;
}

// Message in order, each once, payload intact: the sum of 0..total-1 and no payload difference.
void record_check(dp::ChecksBySize& checks, const std::string& check, std::size_t n, const Received& r) {
  const std::uint64_t total = r.sent;
  const std::uint64_t want = total * (total - 1) / 2;
  const bool ok = r.count == total && r.out_of_order == 0 && r.checksum == want;
  checks.record(check, n, ok,
                ok ? fmt::format("{} messages", total)
                   : fmt::format("{} of {} received, {} out of order (first at {}), checksum {} want {}", r.count, total,
                                 r.out_of_order, r.first_bad, r.checksum, want));
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

struct Setup {
  dp::LabContext& ctx;
  dp::ChecksBySize& checks;
  std::size_t capacity;
  std::uint64_t messages;
};

// Times one queue at one message size and batch; check = true: one checked transfer instead.
template <std::size_t Bytes, template <class> class Q>
void throughput(Setup& s, const std::string& name, std::size_t batch, const std::string& series, double x, bool check) {
  using T = Message<Bytes>;
  if (check) {
    record_check(s.checks, name + ": every message once, in order, intact (bytes per message)", Bytes,
                 transfer<T, Q<T>>(s.capacity, s.messages, batch));
    return;
  }
  const auto stats = s.ctx.measure(fmt::format("{}/{}B/batch{}", name, Bytes, batch), [&] {
    benchmark::DoNotOptimize(transfer<T, Q<T>>(s.capacity, s.messages, batch).checksum);
  });
  const dp::Stats per = stats.per(static_cast<double>(s.messages));
  s.ctx.result.add_point(series, series == name ? "bytes" : "batch", x, per, 1e3 / per.median_ns, "M messages/s", "message");
}

void sweep_throughput(Setup& s, bool check) {
  for_each_queue([&]<template <class> class Q>(const std::string& name) {
    throughput<16, Q>(s, name, 1, name, 16, check);
    throughput<64, Q>(s, name, 1, name, 64, check);
    throughput<256, Q>(s, name, 1, name, 256, check);
    for (std::size_t batch : {16, 256}) throughput<16, Q>(s, name, batch, name + " batched", static_cast<double>(batch), check);
  });
}

// p50, p99 and p99.9 of one latency run, as points of the series "<name> p50<suffix>" and so on.
void add_latency(dp::Result& result, const std::string& name, const std::string& suffix, const std::string& x_name,
                 double x, const Received& r) {
  const int got = static_cast<int>(r.latency_ns.size());  // fewer than asked if the deadline came first
  const dp::Stats st{.median_ns = dp::percentile(r.latency_ns, 0.5), .p10_ns = dp::percentile(r.latency_ns, 0.1),
                     .p90_ns = dp::percentile(r.latency_ns, 0.9), .min_ns = 0, .reps = got};
  result.add_point(fmt::format("{} p50{}", name, suffix), x_name, x, st, 0, "", "message");
  for (const auto& [label, q] : {std::pair{"p99", 0.99}, std::pair{"p99.9", 0.999}}) {
    const double v = dp::percentile(r.latency_ns, q);
    result.add_point(fmt::format("{} {}{}", name, label, suffix), x_name, x,
                     dp::Stats{.median_ns = v, .p10_ns = v, .p90_ns = v, .min_ns = 0, .reps = got}, 0, "", "message");
  }
}

// Latency by message size and batch: a batch every 20 us, consumers that spin (Pace::poll), so
// no one is woken and what remains is the queue's own work: copies, indices, locks, batching.
constexpr std::int64_t kSpinGapNs = 20'000;

template <std::size_t Bytes, template <class> class Q>
void spin_latency(Setup& s, dp::ChecksBySize& checks, const std::string& name, std::size_t batch, bool by_batch, double step_ns) {
  using T = Message<Bytes>;
  const std::uint64_t n = batch * std::max<std::uint64_t>(100, static_cast<std::uint64_t>(step_ns) / kSpinGapNs);
  const Pace pace{.gap_ns = kSpinGapNs, .deadline = now_ns() + 2 * static_cast<std::int64_t>(step_ns), .poll = true};
  const Received r = transfer<T, Q<T>>(s.capacity, n, batch, pace);
  const char* what = by_batch ? "batch, spinning consumer, every message once, in order (messages per batch)"
                              : "size, spinning consumer, every message once, in order (bytes per message)";
  record_check(checks, fmt::format("{}: latency by {}", name, what), by_batch ? batch : Bytes, r);
  add_latency(s.ctx.result, name, by_batch ? " by batch" : " by size", by_batch ? "messages per batch" : "message bytes",
              static_cast<double>(by_batch ? batch : Bytes), r);
}

void sweep_spin_latency(Setup& s, dp::ChecksBySize& checks, double step_ns) {
  for_each_queue([&]<template <class> class Q>(const std::string& name) {
    spin_latency<16, Q>(s, checks, name, 1, false, step_ns);
    spin_latency<64, Q>(s, checks, name, 1, false, step_ns);
    spin_latency<256, Q>(s, checks, name, 1, false, step_ns);
    for (std::size_t batch : {1, 8, 64}) spin_latency<16, Q>(s, checks, name, batch, true, step_ns);
  });
}

// Eight plots: throughput by size and by batch; latency (p50, and p99.9 for the tail) by gap, by
// size and by batch. Each plot holds one series per queue: "<queue><suffix>".
void add_plots(dp::Result& result) {
  const auto plot = [&](const char* name, const char* title, const char* xlabel, const char* ylabel, dp::PlotSpec::Y y,
                        const std::string& suffix) {
    std::vector<std::string> variants;
    for_each_queue([&]<template <class> class Q>(const std::string& queue) { variants.push_back(queue + suffix); });
    result.plots.push_back(dp::PlotSpec{.name = name, .title = title, .xlabel = xlabel, .ylabel = ylabel, .y = y,
                                        .logx = true, .logy = true, .variants = variants});
  };
  using Y = dp::PlotSpec::Y;
  plot("throughput-size", "One producer, one consumer, one message per call", "message size (bytes)", "M messages/s",
       Y::throughput, "");
  plot("throughput-batch", "16-byte messages, pushed and popped in batches", "messages per push (batch size)",
       "M messages/s", Y::throughput, " batched");
  plot("latency", "One-way latency (median), one message at a time", "gap between messages (ns)",
       "ns from push to pop (p50)", Y::time, " p50");
  plot("latency-tail", "One-way latency, the slowest 1 in 1000", "gap between messages (ns)",
       "ns from push to pop (p99.9)", Y::time, " p99.9");
  plot("latency-size", "One-way latency (median) by message size, spinning consumer", "message size (bytes)",
       "ns from push to pop (p50)", Y::time, " p50 by size");
  plot("latency-size-tail", "One-way latency by message size, the slowest 1 in 1000", "message size (bytes)",
       "ns from push to pop (p99.9)", Y::time, " p99.9 by size");
  plot("latency-batch", "One-way latency (median) by batch, 16-byte messages, spinning consumer",
       "messages per push (batch size)", "ns from batch push to pop (p50)", Y::time, " p50 by batch");
  plot("latency-batch-tail", "One-way latency by batch, the slowest 1 in 1000", "messages per push (batch size)",
       "ns from batch push to pop (p99.9)", Y::time, " p99.9 by batch");
}

void run(dp::LabContext& ctx) {
  dp::ChecksBySize checks;
  Setup s{ctx, checks, static_cast<std::size_t>(ctx.params.integer("capacity")),
          static_cast<std::uint64_t>(ctx.params.integer("messages"))};
#ifndef DP_CHANNELS_HAVE_MOODYCAMEL
  ctx.result.notes.push_back(dp::kSanitized ? "ThreadSanitizer build: the moodycamel variant is left out (TSan cannot follow its atomic fences)."
                                            : "concurrentqueue/concurrentqueue.h was not found at build time (Debian: libconcurrentqueue-dev): the moodycamel variant is left out.");
#endif
#ifndef DP_CHANNELS_HAVE_TBB
  ctx.result.notes.push_back("The tbb variant is left out (ThreadSanitizer build, or no TBB headers).");
#endif

  if (dp::kSanitized && ctx.quick) {
    s.messages = std::min<std::uint64_t>(s.messages, 1000);
    ctx.result.notes.push_back("Sanitizer build: 1000 messages per transfer, 10 ms latency runs (5 ms by size and batch); the timings mean nothing here, the checks do.");
  }
  // Check first: every queue, every message size and batch, a full transfer each.
  sweep_throughput(s, true);
  checks.report(ctx.result);
  if (checks.failed()) return;

  sweep_throughput(s, false);
  // batch 1 belongs on the batch plot too: copy each queue's 16-byte point there.
  for_each_queue([&]<template <class> class Q>(const std::string& name) {
    if (const dp::Point* p = ctx.result.point_at(name, 16)) {
      const dp::Stats st{.median_ns = p->median_ns, .p10_ns = p->p10_ns, .p90_ns = p->p90_ns, .min_ns = 0, .reps = p->reps};
      ctx.result.add_point(name + " batched", "batch", 1, st, p->throughput, p->unit, "message");
    }
  });

  // Latency runs check what they carried too (a latency from a broken transfer means nothing).
  double step_ns = static_cast<double>(ctx.params.integer("latency-ms")) * 1e6;  // per queue and gap
  if (dp::kSanitized && ctx.quick) step_ns = std::min(step_ns, 1e7);
  dp::ChecksBySize latency_checks;
  sweep_spin_latency(s, latency_checks, step_ns / 2);  // at 20 us gaps, half as long is enough samples

  // Latency by gap: one 16-byte message every `gap`, from 2 us (the consumer barely rests) to 1 ms.
  const std::vector<std::uint64_t> gaps = ctx.quick ? std::vector<std::uint64_t>{2'000, 20'000, 200'000}
                                                    : std::vector<std::uint64_t>{2'000, 6'000, 20'000, 60'000, 200'000, 600'000, 1'000'000};
  dp::Sweep sweep(ctx, "gap between messages", gaps,
                  {.label = [](std::uint64_t ns) { return dp::format_duration_ns(static_cast<double>(ns)); }});
  for (std::uint64_t gap : sweep) {
    // As many messages as fit in the run's time: fewer at long gaps.
    const std::uint64_t n = std::max<std::uint64_t>(100, static_cast<std::uint64_t>(step_ns) / gap);
    for_each_queue([&]<template <class> class Q>(const std::string& name) {
      using T = Message<16>;
      const Pace pace{.gap_ns = static_cast<std::int64_t>(gap), .deadline = now_ns() + 2 * static_cast<std::int64_t>(step_ns)};
      const Received r = transfer<T, Q<T>>(s.capacity, n, 1, pace);
      record_check(latency_checks, name + ": latency runs, every message once, in order (gap ns)", gap, r);
      add_latency(ctx.result, name, "", "gap ns", static_cast<double>(gap), r);
    });
  }
  latency_checks.report(ctx.result);

  // Key figures: the ring against moodycamel, what size and batching add, what waking a sleeper costs.
  const dp::Point* ring = ctx.result.point_at("spsc-ring", 16);
  if (const dp::Point* mc = ctx.result.point_at("moodycamel", 16); ring && mc)
    ctx.result.headlines.push_back({"spsc-ring / moodycamel throughput (16 B, batch 1)",
                                    fmt::format("{:.2f} ({:.1f} vs {:.1f} M messages/s)", ring->throughput / mc->throughput,
                                                ring->throughput, mc->throughput)});
  const double last_gap = static_cast<double>(sweep.last_done());
  ctx.result.notes.push_back(fmt::format("A latency run sends for about {:g} s per queue and gap (at most twice that), so long gaps "
                                         "have fewer samples; the key figures give the count. p99.9 of fewer than 1000 is nearly the maximum. "
                                         "Latency by size and batch: {:g} s per queue and step, a batch every 20 us.",
                                         step_ns / 1e9, step_ns / 2e9));
  for_each_queue([&]<template <class> class Q>(const std::string& name) {
    const dp::Point* size16 = ctx.result.point_at(name + " p50 by size", 16);
    const dp::Point* size256 = ctx.result.point_at(name + " p50 by size", 256);
    const dp::Point* batch64 = ctx.result.point_at(name + " p50 by batch", 64);
    if (size16 && size256 && batch64)
      ctx.result.headlines.push_back({fmt::format("{} latency p50, spinning consumer: 16 B / 256 B / batches of 64 x 16 B", name),
                                      fmt::format("{} / {} / {}", dp::format_duration_ns(size16->median_ns),
                                                  dp::format_duration_ns(size256->median_ns), dp::format_duration_ns(batch64->median_ns))});
  });
  for_each_queue([&]<template <class> class Q>(const std::string& name) {
    const dp::Point* p50 = ctx.result.point_at(name + " p50", last_gap);
    const dp::Point* p99 = ctx.result.point_at(name + " p99", last_gap);
    const dp::Point* p999 = ctx.result.point_at(name + " p99.9", last_gap);
    if (p50 && p99 && p999)
      ctx.result.headlines.push_back({fmt::format("{} latency p50 / p99 / p99.9 ({} gaps, {} messages)", name,
                                                  dp::format_duration_ns(last_gap), p50->reps),
                                      fmt::format("{} / {} / {}", dp::format_duration_ns(p50->median_ns),
                                                  dp::format_duration_ns(p99->median_ns), dp::format_duration_ns(p999->median_ns))});
  });
  if (const dp::Point* cv = ctx.result.point_at("mutex-cv p50", last_gap); cv) {
    if (const dp::Point* spin = ctx.result.point_at("spsc-ring p50", last_gap)) {
      const double wake = cv->median_ns - spin->median_ns;  // negative on a busy machine: see the guide page
      ctx.result.headlines.push_back({"waking a sleeping consumer (mutex-cv p50 - spsc-ring p50)",
                                      wake > 0 ? dp::format_duration_ns(wake)
                                               : fmt::format("none: the sleeper was {} faster", dp::format_duration_ns(-wake))});
    }
  }
  add_plots(ctx.result);
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "channels",
             .title = "Message passing: queues and channels",
             .module = 2,
             .level = 3,
             .tracks = {},
             .question = "How many messages per second can one thread pass to another, and how long "
                         "does one message take?",
             .guide_page = "m2/channels.md",
             .source = "src/labs/m2/channels.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("capacity", "slots of the bounded queues", 1024, 1024, 2, 1 << 20),
               dp::ParamSpec::integer("messages", "messages per throughput transfer", 200'000, 5'000, 1000, 10'000'000),
               dp::ParamSpec::integer("latency-ms", "length of one latency run (one queue, one gap) in ms; a size or batch run takes half", 1000, 100, 10,
                                      60'000)},
    .run = run,
});
