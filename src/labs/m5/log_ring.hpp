// log_ring.hpp — our logger for the logging lab (logging.cpp): a lock-free ring of fixed-size
// records, filled at the call site, formatted and written by a background thread.
//
// The idea (NanoLog, Quill and spdlog's async mode share it): the thread that logs should not
// format text or call the kernel. Here the call site only copies its arguments, raw, into a
// 64-byte record in a ring, with a pointer to the format string and to the function that will
// format them later. A background thread takes the records out, formats them with fmt, and hands
// the text to the OS in large write() calls. Nothing is allocated per message.
//
// Index
//   Overflow       what log() does when the ring is full: drop (and count) or block (spin)
//   Record         one message: a formatter, the format string, up to 40 bytes of arguments
//   LogRing        the ring: one producer thread (log), one consumer thread (drain)
//   RingLogger     a LogRing and the background thread that drains it into a file
//
// Rules for the arguments of log(): trivially copyable values (numbers, enums, pointers) whose
// decayed types fit in 40 bytes; a const char* must point at text that lives until it is written
// (a string literal), since only the pointer is copied. The format string is checked at compile
// time, as fmt::format's is.
//
// One producer: LogRing is single-producer, single-consumer. A program with several logging
// threads gives each its own ring (the writer drains them all), or needs a multi-producer ring.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <fmt/format.h>

namespace dp::logring {

// What log() does when the ring is full (the writer has fallen behind).
//   drop    return false at once and count the message in dropped(): the caller never waits,
//           which suits a frame loop; the log then has gaps, and the counter says how many.
//   block   spin (pause, a yield every 64 rounds) until the writer frees a slot: nothing is
//           lost, and the caller waits as long as the writer is behind.
enum class Overflow { drop, block };

inline constexpr std::size_t kRecordBytes = 64;  // one cache line per message
inline constexpr std::size_t kArgBytes = 40;     // what is left for the arguments

struct Record {
  using Formatter = void (*)(const Record&, fmt::memory_buffer&);
  Formatter format = nullptr;  // appends this record's text to the buffer
  fmt::string_view text;       // the format string (a literal: it outlives the record)
  alignas(8) std::byte args[kArgBytes];
};
static_assert(sizeof(Record) == kRecordBytes);

// The formatter for one set of argument types: the tuple the producer placed in args.
template <class Tuple>
void format_record(const Record& r, fmt::memory_buffer& out) {
  const Tuple& args = *std::launder(reinterpret_cast<const Tuple*>(r.args));
  std::apply([&](const auto&... a) { fmt::vformat_to(std::back_inserter(out), r.text, fmt::make_format_args(a...)); }, args);
}

class LogRing {
 public:
  // capacity: records, rounded up to a power of two (64 bytes each).
  LogRing(std::size_t capacity, Overflow overflow)
      : slots_(std::bit_ceil(std::max<std::size_t>(capacity, 2))), mask_(slots_.size() - 1), overflow_(overflow) {}

  // Producer side (one thread). Returns false when the message was dropped (Overflow::drop).
  template <class... Args>
  bool log(fmt::format_string<Args...> format, Args&&... args) {
    using Tuple = std::tuple<std::decay_t<Args>...>;
    static_assert((std::is_trivially_copyable_v<std::decay_t<Args>> && ...),
                  "log() copies its arguments raw: pass numbers, enums or pointers to literals, not std::string");
    static_assert(std::is_trivially_destructible_v<Tuple>);
    static_assert(sizeof(Tuple) <= kArgBytes && alignof(Tuple) <= 8, "log(): the arguments take more than 40 bytes");
    const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_cached_ == slots_.size()) {  // full, as far as we know: look again
      head_cached_ = head_.load(std::memory_order_acquire);
      for (unsigned spins = 0; tail - head_cached_ == slots_.size();) {
        if (overflow_ == Overflow::drop) {
          dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // one writer
          return false;
        }
        relax(spins);
        head_cached_ = head_.load(std::memory_order_acquire);
      }
    }
    Record& r = slots_[tail & mask_];
    r.format = &format_record<Tuple>;
    r.text = static_cast<fmt::string_view>(format);
    ::new (static_cast<void*>(r.args)) Tuple(std::forward<Args>(args)...);
    tail_.store(tail + 1, std::memory_order_release);  // publishes the record
    return true;
  }

  // Consumer side (one thread): formats up to `max` records, one line each, onto `out`, frees
  // their slots, and returns how many.
  std::size_t drain(fmt::memory_buffer& out, std::size_t max) {
    const std::uint64_t head = head_.load(std::memory_order_relaxed);
    const std::uint64_t tail = tail_.load(std::memory_order_acquire);  // sees the records before it
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(max, tail - head));
    for (std::size_t i = 0; i < n; ++i) {
      const Record& r = slots_[(head + i) & mask_];
      r.format(r, out);
      out.push_back('\n');
    }
    head_.store(head + n, std::memory_order_release);  // gives the slots back to the producer
    return n;
  }

  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::size_t capacity() const { return slots_.size(); }

  // How a spinning thread waits: a pause instruction, and every 64 rounds a yield, so that on a
  // machine with few cores the thread it waits for can run.
  static void relax(unsigned& spins) {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
    if (++spins % 64 == 0) std::this_thread::yield();
  }

 private:
  std::vector<Record> slots_;
  std::size_t mask_;
  Overflow overflow_;
  // Each index on its own cache line, so the two threads do not trade a line for every message;
  // the producer keeps a copy of head_ and reads the real one only when the ring looks full.
  alignas(64) std::atomic<std::uint64_t> tail_{0};  // written by the producer
  std::uint64_t head_cached_ = 0;                   // the producer's view of head_
  std::atomic<std::uint64_t> dropped_{0};           // written by the producer
  alignas(64) std::atomic<std::uint64_t> head_{0};  // written by the consumer
};

// A LogRing and its writer thread, which drains the ring into a file: it formats up to 1024
// records at a time, writes once 64 KiB have gathered or the ring is empty, and sleeps `poll`
// when it finds nothing to do. close() (or the destructor) writes whatever was logged before it
// and closes the file. Throws std::runtime_error if the file cannot be opened.
class RingLogger {
 public:
  RingLogger(const std::string& path, std::size_t capacity, Overflow overflow,
             std::chrono::microseconds poll = std::chrono::microseconds(1000))
      : ring_(capacity, overflow), poll_(poll) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw std::runtime_error(fmt::format("cannot open {} for writing: {}", path, std::strerror(errno)));
    writer_ = std::jthread([this](std::stop_token stop) { write_until(stop); });
  }
  RingLogger(const RingLogger&) = delete;
  RingLogger& operator=(const RingLogger&) = delete;
  ~RingLogger() { close(); }

  template <class... Args>
  bool log(fmt::format_string<Args...> format, Args&&... args) {
    return ring_.log(format, std::forward<Args>(args)...);
  }

  // Writes everything logged so far, stops the writer, closes the file. Call from the thread
  // that logs (or after it has stopped logging).
  void close() {
    if (!writer_.joinable()) return;
    writer_.request_stop();
    writer_.join();
    ::close(fd_);
  }

  std::uint64_t dropped() const { return ring_.dropped(); }
  bool write_failed() const { return write_failed_.load(); }  // after close(): a write() failed
  std::size_t capacity() const { return ring_.capacity(); }

 private:
  void write_until(const std::stop_token& stop) {
    fmt::memory_buffer text;
    for (;;) {
      // Read the stop flag before draining: whatever was logged before close() asked is then in
      // the ring (request_stop happens after those log calls), so the last round takes it all.
      const bool stopping = stop.stop_requested();
      while (ring_.drain(text, 1024) > 0)
        if (text.size() >= 64 * 1024) flush(text);
      flush(text);
      if (stopping) return;
      std::this_thread::sleep_for(poll_);
    }
  }
  void flush(fmt::memory_buffer& text) {
    const char* p = text.data();
    std::size_t left = text.size();
    while (left > 0) {
      const ssize_t w = ::write(fd_, p, left);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        write_failed_ = true;
        break;
      }
      p += w, left -= static_cast<std::size_t>(w);
    }
    text.clear();
  }

  LogRing ring_;
  std::chrono::microseconds poll_;
  int fd_ = -1;
  std::atomic<bool> write_failed_{false};
  std::jthread writer_;  // last: started once everything above exists
};

}  // namespace dp::logring
