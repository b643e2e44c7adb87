// channels — How fast can one thread pass messages to another, and how long does one take?
//
// One producer thread sends numbered messages to one consumer thread through four queues:
//   mutex-cv     ours: a bounded deque behind one mutex, with two condition variables
//                (not-full, not-empty); a waiting thread sleeps in the kernel
//   spsc-ring    ours: a bounded lock-free ring for exactly one producer and one consumer; two
//                atomic indices on their own cache lines; a waiting thread spins
//   moodycamel   moodycamel::ConcurrentQueue (Debian libconcurrentqueue-dev): lock-free, many
//                producers and consumers; bounded here through try_enqueue (which never
//                allocates), so that it waits for the consumer as the others do; both sides spin
//   tbb          tbb::concurrent_bounded_queue: bounded, pop() spins a little, then sleeps
// Measured: throughput (messages/s) for message sizes 16..256 bytes and batch sizes 1..256
// (a batch is pushed and popped in one call where the queue can: ring, mutex-cv, moodycamel);
// one-way latency p50/p99/p99.9 of 16-byte messages sent one at a time with a gap between them,
// from 2 us to 1 ms: a consumer that sleeps must be woken, and that is the cost the gap reveals.
// Checked: every message arrives once and in order (sequence numbers), payloads intact (checksum).
// Without the moodycamel header (CMake defines DP_HAVE_MOODYCAMEL), and under ThreadSanitizer for
// moodycamel (fences TSan cannot follow) and TBB (not built for TSan: see src/tensor/parallel.cpp),
// a variant is left out and the notes say so.
//
//   dontpanic run channels             200k messages per transfer, gaps 2 us .. 1 ms
//   dontpanic run channels --quick     5k messages, gaps 2, 20, 200 us
//   --param capacity=1024              slots of the bounded queues
#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <fmt/format.h>

#include "core/checks_by_size.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"  // DP_TSAN
#include "core/sweep.hpp"
#include "core/table.hpp"  // format_duration_ns

// moodycamel is left out under ThreadSanitizer: it synchronises with atomic_thread_fence, which
// TSan cannot follow (GCC says so: -Wtsan), so TSan would report races that are not there.
#if defined(DP_HAVE_MOODYCAMEL) && !defined(DP_TSAN)
#define DP_CHANNELS_HAVE_MOODYCAMEL 1
// GCC 12 warns, wrongly, of an 8-byte atomic load "into a region of size 0" deep inside
// moodycamel's enqueue_bulk once it is inlined here. The warning comes from the optimiser, after
// push/pop scopes are gone, so it is switched off for this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
#include <concurrentqueue/concurrentqueue.h>
#endif
#if __has_include(<tbb/concurrent_queue.h>) && !defined(DP_TSAN)
#define DP_CHANNELS_HAVE_TBB 1
#include <tbb/concurrent_queue.h>
#endif

namespace {

// A message: a sequence number, the time it was sent, and payload words to make up `Bytes`.
template <std::size_t Bytes>
struct Message {
  static_assert(Bytes >= 16 && Bytes % 8 == 0);
  std::uint64_t seq = 0;
  std::int64_t sent_ns = 0;
  std::array<std::uint64_t, (Bytes - 16) / 8> payload{};
};

// Waiting without sleeping: a pause instruction (it tells the core we are spinning), and every
// 64 pauses a yield, so a spinning thread gives its core away when the other thread needs it.
inline void relax(unsigned& spins) {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
  if (++spins % 64 == 0) std::this_thread::yield();
}

// ---------------------------------------------------------------------------------------------
// Our queues. Every queue has push(first, n): blocks until all n are in, and
// pop(out, max): blocks until at least one is there, takes up to max, returns how many.
// ---------------------------------------------------------------------------------------------

template <class T>
class MutexQueue {
 public:
  explicit MutexQueue(std::size_t capacity) : capacity_(capacity) {}
  void push(const T* items, std::size_t n) {
    while (n > 0) {
      std::unique_lock lock(mutex_);
      not_full_.wait(lock, [&] { return queue_.size() < capacity_; });
      const std::size_t k = std::min(n, capacity_ - queue_.size());
      queue_.insert(queue_.end(), items, items + k);
      lock.unlock();
      not_empty_.notify_one();  // wakes the consumer if it sleeps (a system call), else cheap
      items += k, n -= k;
    }
  }
  std::size_t pop(T* out, std::size_t max) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty(); });
    const std::size_t k = std::min(max, queue_.size());
    std::copy_n(queue_.begin(), k, out);
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(k));
    lock.unlock();
    not_full_.notify_one();
    return k;
  }

 private:
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<T> queue_;
};

// One producer, one consumer. The producer alone writes tail_, the consumer alone writes head_;
// each reads the other's index with acquire, which makes the slots written before the matching
// release visible. Two habits keep the cores from trading cache lines for every message:
//   - each side keeps a copy of the other's index and reloads it only when the ring looks full
//     (or empty);
//   - the consumer gives slots back (stores head_) every kGiveBack messages, or before it waits,
//     not after each one: the producer only needs head_ when the ring is full.
template <class T>
class SpscRing {
 public:
  explicit SpscRing(std::size_t capacity)
      : slots_(std::bit_ceil(capacity)), mask_(slots_.size() - 1), give_back_(std::max<std::size_t>(1, std::min<std::size_t>(32, slots_.size() / 4))) {}
  void push(const T* items, std::size_t n) {
    std::size_t tail = tail_.load(std::memory_order_relaxed);
    unsigned spins = 0;
    while (n > 0) {
      if (tail - head_cached_ == slots_.size()) {  // full, as far as we know: look again
        head_cached_ = head_.load(std::memory_order_acquire);
        if (tail - head_cached_ == slots_.size()) { relax(spins); continue; }
      }
      const std::size_t k = std::min(n, slots_.size() - (tail - head_cached_));
      for (std::size_t i = 0; i < k; ++i) slots_[(tail + i) & mask_] = items[i];
      tail += k, items += k, n -= k;
      tail_.store(tail, std::memory_order_release);  // publishes the k slots
    }
  }
  std::size_t pop(T* out, std::size_t max) {
    unsigned spins = 0;
    while (tail_cached_ == head_mine_) {  // empty, as far as we know
      if (head_given_ != head_mine_) give_back();  // before waiting: the producer may be waiting too
      tail_cached_ = tail_.load(std::memory_order_acquire);
      if (tail_cached_ == head_mine_) relax(spins);
    }
    const std::size_t k = std::min(max, tail_cached_ - head_mine_);
    for (std::size_t i = 0; i < k; ++i) out[i] = slots_[(head_mine_ + i) & mask_];
    head_mine_ += k;
    if (head_mine_ - head_given_ >= give_back_) give_back();
    return k;
  }

 private:
  void give_back() {
    head_.store(head_mine_, std::memory_order_release);  // after the copies: the slots may be reused
    head_given_ = head_mine_;
  }

  static constexpr std::size_t kLine = 64;
  std::vector<T> slots_;
  std::size_t mask_, give_back_;
  alignas(kLine) std::atomic<std::size_t> tail_{0};  // written by the producer
  std::size_t head_cached_ = 0;                      // the producer's copy of head_
  alignas(kLine) std::atomic<std::size_t> head_{0};  // written by the consumer
  std::size_t head_mine_ = 0, head_given_ = 0;       // the consumer's: read so far, and stored in head_
  std::size_t tail_cached_ = 0;                      // the consumer's copy of tail_
};

// ---------------------------------------------------------------------------------------------
// The library queues, behind the same two calls
// ---------------------------------------------------------------------------------------------

#ifdef DP_CHANNELS_HAVE_MOODYCAMEL
// Bounded like the others, so that a fast producer waits for the consumer here too: the queue
// preallocates `capacity` slots and try_enqueue never allocates, it fails when they are taken.
// (Its plain enqueue would grow the queue instead; a producer that never waits wins any race.)
template <class T>
class Moodycamel {
 public:
  explicit Moodycamel(std::size_t capacity)
      : queue_(capacity), chunk_(std::max<std::size_t>(1, capacity / 4)), producer_(queue_), consumer_(queue_) {}
  void push(const T* items, std::size_t n) {
    unsigned spins = 0;
    while (n > 0) {
      const std::size_t k = std::min(n, chunk_);  // a bulk larger than the free space never fits
      if (!queue_.try_enqueue_bulk(producer_, items, k)) { relax(spins); continue; }
      items += k, n -= k;
    }
  }
  std::size_t pop(T* out, std::size_t max) {
    unsigned spins = 0;
    for (;;) {
      if (const std::size_t k = queue_.try_dequeue_bulk(consumer_, out, max)) return k;
      relax(spins);
    }
  }

 private:
  moodycamel::ConcurrentQueue<T> queue_;
  std::size_t chunk_;
  moodycamel::ProducerToken producer_;  // tokens: the fast path for a known producer/consumer
  moodycamel::ConsumerToken consumer_;
};
#endif

#ifdef DP_CHANNELS_HAVE_TBB
template <class T>
class TbbBounded {
 public:
  explicit TbbBounded(std::size_t capacity) { queue_.set_capacity(static_cast<std::ptrdiff_t>(capacity)); }
  void push(const T* items, std::size_t n) {  // no bulk push: one call per message
    for (std::size_t i = 0; i < n; ++i) queue_.push(items[i]);
  }
  std::size_t pop(T* out, std::size_t max) {
    queue_.pop(out[0]);  // blocks: spins briefly, then sleeps
    std::size_t k = 1;
    while (k < max && queue_.try_pop(out[k])) ++k;
    return k;
  }

 private:
  tbb::concurrent_bounded_queue<T> queue_;
};
#endif

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

// The consumer: takes messages until the last one, checks the sequence, sums the payload words.
template <class T, class Q>
void consume(Q& queue, std::size_t batch, bool timed, Received& r) {
  std::vector<T> buffer(batch);
  for (bool last = false; !last;) {
    const std::size_t k = queue.pop(buffer.data(), batch);
    const std::int64_t now = timed ? now_ns() : 0;
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

// Sends `total` messages in batches. With gap_ns > 0 (latency): one message at a time, at least
// gap_ns apart, and no more once `deadline` (steady-clock ns) has passed.
template <class T, class Q>
Received transfer(std::size_t capacity, std::uint64_t total, std::size_t batch, std::int64_t gap_ns, std::int64_t deadline = 0) {
  Q queue(capacity);
  Received r;
  if (gap_ns > 0) batch = 1, r.latency_ns.reserve(std::min<std::uint64_t>(total, 1 << 20));
  {
    std::jthread consumer([&] { consume<T>(queue, batch, gap_ns > 0, r); });
    std::vector<T> buffer(batch);
    std::int64_t next = now_ns();
    for (std::uint64_t sent = 0;;) {
      const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(batch, total - sent));
      bool last = sent + k == total;
      if (gap_ns > 0) {  // at least gap_ns between messages: a late one is not followed by a burst
        std::int64_t now;  // a pure spin, no yield: a yield on a busy machine can cost milliseconds
        while ((now = now_ns()) < next) {
#if defined(__x86_64__) || defined(__i386__)
          _mm_pause();
#endif
        }
        next = now + gap_ns;
        last = last || (deadline > 0 && now >= deadline);
      }
      for (std::size_t i = 0; i < k; ++i) {
        T& m = buffer[i];
        m.seq = sent + i;
        for (std::size_t w = 0; w < m.payload.size(); ++w) m.payload[w] = word(m.seq, w);
        m.sent_ns = gap_ns > 0 ? now_ns() : 0;
      }
      if (last) buffer[k - 1].seq |= kLast;
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
                 transfer<T, Q<T>>(s.capacity, s.messages, batch, 0));
    return;
  }
  const auto stats = s.ctx.measure(fmt::format("{}/{}B/batch{}", name, Bytes, batch), [&] {
    benchmark::DoNotOptimize(transfer<T, Q<T>>(s.capacity, s.messages, batch, 0).checksum);
  });
  const dp::Stats per = stats.per(static_cast<double>(s.messages));
  s.ctx.result.add_point(series, series == name ? "bytes" : "batch", x, per, 1e3 / per.median_ns, "M messages/s", "message");
}

// Every queue this build has, as one call: F(name, tag) with tag a Q template's stand-in.
template <class F>
void for_each_queue(F&& f) {
  f.template operator()<MutexQueue>("mutex-cv");
  f.template operator()<SpscRing>("spsc-ring");
#ifdef DP_CHANNELS_HAVE_MOODYCAMEL
  f.template operator()<Moodycamel>("moodycamel");
#endif
#ifdef DP_CHANNELS_HAVE_TBB
  f.template operator()<TbbBounded>("tbb");
#endif
}

void sweep_throughput(Setup& s, bool check) {
  for_each_queue([&]<template <class> class Q>(const std::string& name) {
    throughput<16, Q>(s, name, 1, name, 16, check);
    throughput<64, Q>(s, name, 1, name, 64, check);
    throughput<256, Q>(s, name, 1, name, 256, check);
    for (std::size_t batch : {16, 256}) throughput<16, Q>(s, name, batch, name + " batched", static_cast<double>(batch), check);
  });
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
    ctx.result.notes.push_back("Sanitizer build: 1000 messages per transfer and 10 ms latency runs; the timings mean nothing here, the checks do.");
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

  // Latency: one 16-byte message every `gap`, from 2 us (the consumer barely rests) to 1 ms.
  const std::vector<std::uint64_t> gaps = ctx.quick ? std::vector<std::uint64_t>{2'000, 20'000, 200'000}
                                                    : std::vector<std::uint64_t>{2'000, 6'000, 20'000, 60'000, 200'000, 600'000, 1'000'000};
  double step_ns = static_cast<double>(ctx.params.integer("latency-ms")) * 1e6;  // per queue and gap
  if (dp::kSanitized && ctx.quick) step_ns = std::min(step_ns, 1e7);
  dp::ChecksBySize latency_checks;
  dp::Sweep sweep(ctx, "gap between messages", gaps,
                  {.label = [](std::uint64_t ns) { return dp::format_duration_ns(static_cast<double>(ns)); }});
  for (std::uint64_t gap : sweep) {
    // As many messages as fit in the run's time: fewer at long gaps.
    const std::uint64_t n = std::max<std::uint64_t>(100, static_cast<std::uint64_t>(step_ns) / gap);
    for_each_queue([&]<template <class> class Q>(const std::string& name) {
      using T = Message<16>;
      const Received r = transfer<T, Q<T>>(s.capacity, n, 1, static_cast<std::int64_t>(gap), now_ns() + 2 * static_cast<std::int64_t>(step_ns));
      record_check(latency_checks, name + ": latency runs, every message once, in order (gap ns)", gap, r);
      const int got = static_cast<int>(r.latency_ns.size());  // fewer than n if the deadline came first
      const dp::Stats st{.median_ns = dp::percentile(r.latency_ns, 0.5), .p10_ns = dp::percentile(r.latency_ns, 0.1),
                         .p90_ns = dp::percentile(r.latency_ns, 0.9), .min_ns = 0, .reps = got};
      ctx.result.add_point(name + " p50", "gap ns", static_cast<double>(gap), st, 0, "", "message");
      for (const auto& [label, q] : {std::pair{"p99", 0.99}, std::pair{"p99.9", 0.999}}) {
        const double v = dp::percentile(r.latency_ns, q);
        ctx.result.add_point(fmt::format("{} {}", name, label), "gap ns", static_cast<double>(gap),
                             dp::Stats{.median_ns = v, .p10_ns = v, .p90_ns = v, .min_ns = 0, .reps = got}, 0, "", "message");
      }
    });
  }
  latency_checks.report(ctx.result);

  // Key figures: the ring against moodycamel, and what waking a sleeper costs.
  const dp::Point* ring = ctx.result.point_at("spsc-ring", 16);
  if (const dp::Point* mc = ctx.result.point_at("moodycamel", 16); ring && mc)
    ctx.result.headlines.push_back({"spsc-ring / moodycamel throughput (16 B, batch 1)",
                                    fmt::format("{:.2f} ({:.1f} vs {:.1f} M messages/s)", ring->throughput / mc->throughput,
                                                ring->throughput, mc->throughput)});
  const double last_gap = static_cast<double>(sweep.last_done());
  ctx.result.notes.push_back(fmt::format("A latency run sends for about {:g} s per queue and gap (at most twice that), so long gaps "
                                         "have fewer samples; the key figures give the count. p99.9 of fewer than 1000 is nearly the maximum.",
                                         step_ns / 1e9));
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

  std::vector<std::string> by_size, by_batch, p50, p999;
  for_each_queue([&]<template <class> class Q>(const std::string& name) {
    by_size.push_back(name), by_batch.push_back(name + " batched"), p50.push_back(name + " p50"), p999.push_back(name + " p99.9");
  });
  ctx.result.plots.push_back(dp::PlotSpec{.name = "throughput-size", .title = "One producer, one consumer, one message per call",
                                          .xlabel = "message size (bytes)", .ylabel = "M messages/s",
                                          .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = by_size});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "throughput-batch", .title = "16-byte messages, pushed and popped in batches",
                                          .xlabel = "messages per push (batch size)", .ylabel = "M messages/s",
                                          .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = by_batch});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "latency", .title = "One-way latency (median), one message at a time",
                                          .xlabel = "gap between messages (ns)", .ylabel = "ns from push to pop (p50)",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = p50});
  ctx.result.plots.push_back(dp::PlotSpec{.name = "latency-tail", .title = "One-way latency, the slowest 1 in 1000",
                                          .xlabel = "gap between messages (ns)", .ylabel = "ns from push to pop (p99.9)",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = p999});
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
               dp::ParamSpec::integer("latency-ms", "length of one latency run (one queue, one gap) in ms", 1000, 100, 10,
                                      60'000)},
    .run = run,
});
