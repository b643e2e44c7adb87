// The logging lab's ring (labs/m5/log_ring.hpp): under two threads every record arrives once, in
// order, with its arguments intact; full, it drops and counts (Overflow::drop) or waits
// (Overflow::block); its writer thread puts every line in the file. The suite's name holds
// "Concurrent" so that ./test also runs it under ThreadSanitizer.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "labs/m5/log_ring.hpp"
#include "support.hpp"

namespace dp::logring {
namespace {

const char* kWords[] = {"alpha", "beta", "gamma"};

// The line record i must become.
std::string want(std::uint64_t i) { return fmt::format("record {} twice {} {:.2f} {}", i, 2 * i, static_cast<double>(i) * 0.5, kWords[i % 3]); }

void log_one(LogRing& ring, std::uint64_t i, bool* accepted = nullptr) {
  const bool ok = ring.log("record {} twice {} {:.2f} {}", i, 2 * i, static_cast<double>(i) * 0.5, kWords[i % 3]);
  if (accepted) *accepted = ok;
}

// Splits the drained text into lines.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Checks the lines are a rising run of records, each intact; returns the sequence numbers.
std::vector<std::uint64_t> check_rising(const std::vector<std::string>& lines) {
  std::vector<std::uint64_t> seqs;
  for (const auto& line : lines) {
    unsigned long long seq = 0;
    EXPECT_EQ(std::sscanf(line.c_str(), "record %llu", &seq), 1) << line;
    if (!seqs.empty()) {
      EXPECT_GT(seq, seqs.back()) << "out of order at line " << seqs.size();
    }
    EXPECT_EQ(line, want(seq));
    seqs.push_back(seq);
  }
  return seqs;
}

// Drains `ring` on this thread until `done` is set and the ring is empty.
std::string drain_all(LogRing& ring, const std::atomic<bool>& done) {
  std::string text;
  fmt::memory_buffer buffer;
  for (;;) {
    const bool finished = done.load(std::memory_order_acquire);  // before draining: see log_ring.hpp
    while (ring.drain(buffer, 7) > 0) {
      text.append(buffer.data(), buffer.size());
      buffer.clear();
    }
    if (finished) return text;
    std::this_thread::yield();
  }
}

TEST(LogRingConcurrent, TwoThreadsBlockingRingDeliversEveryRecordInOrder) {
  constexpr std::uint64_t kRecords = 20'000;
  LogRing ring(16, Overflow::block);  // tiny: the producer waits for the consumer often
  std::atomic<bool> done{false};
  std::string text;
  std::thread consumer([&] { text = drain_all(ring, done); });
  for (std::uint64_t i = 0; i < kRecords; ++i) log_one(ring, i);
  done.store(true, std::memory_order_release);
  consumer.join();
  const auto lines = lines_of(text);
  ASSERT_EQ(lines.size(), kRecords);
  for (std::uint64_t i = 0; i < kRecords; ++i) ASSERT_EQ(lines[i], want(i)) << "record " << i;
  EXPECT_EQ(ring.dropped(), 0u);
}

TEST(LogRingConcurrent, TwoThreadsDroppingRingCountsEveryLostRecord) {
  constexpr std::uint64_t kRecords = 50'000;
  LogRing ring(16, Overflow::drop);
  std::atomic<bool> done{false};
  std::string text;
  std::thread consumer([&] { text = drain_all(ring, done); });
  std::uint64_t accepted = 0;
  for (std::uint64_t i = 0; i < kRecords; ++i) {
    bool ok = false;
    log_one(ring, i, &ok);
    accepted += ok;
  }
  done.store(true, std::memory_order_release);
  consumer.join();
  const auto seqs = check_rising(lines_of(text));
  EXPECT_EQ(seqs.size(), accepted);
  EXPECT_EQ(seqs.size() + ring.dropped(), kRecords) << "every record is either written or counted as dropped";
}

TEST(LogRingConcurrent, FullRingDropsTheNewestAndKeepsTheOldest) {
  LogRing ring(16, Overflow::drop);  // nobody drains while 100 are logged
  std::uint64_t accepted = 0;
  for (std::uint64_t i = 0; i < 100; ++i) {
    bool ok = false;
    log_one(ring, i, &ok);
    accepted += ok;
  }
  EXPECT_EQ(accepted, 16u);
  EXPECT_EQ(ring.dropped(), 84u);
  fmt::memory_buffer buffer;
  EXPECT_EQ(ring.drain(buffer, 1000), 16u);
  const auto lines = lines_of(fmt::to_string(buffer));
  ASSERT_EQ(lines.size(), 16u);
  for (std::uint64_t i = 0; i < 16; ++i) EXPECT_EQ(lines[i], want(i));
  // Space again: the next record goes in.
  bool ok = false;
  log_one(ring, 100, &ok);
  EXPECT_TRUE(ok);
}

TEST(LogRingConcurrent, WriterThreadPutsEveryLineInTheFile) {
  test::ScratchDir dir;
  const std::string path = dir / "ring.log";
  constexpr std::uint64_t kRecords = 20'000;
  {
    RingLogger logger(path, 64, Overflow::block, std::chrono::microseconds(50));
    for (std::uint64_t i = 0; i < kRecords; ++i)
      logger.log("record {} twice {} {:.2f} {}", i, 2 * i, static_cast<double>(i) * 0.5, kWords[i % 3]);
    logger.close();
    EXPECT_FALSE(logger.write_failed());
    EXPECT_EQ(logger.dropped(), 0u);
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const auto lines = lines_of(text.str());
  ASSERT_EQ(lines.size(), kRecords);
  for (std::uint64_t i = 0; i < kRecords; ++i) ASSERT_EQ(lines[i], want(i)) << "line " << i;
}

TEST(LogRingConcurrent, UnopenableFileIsAClearError) {
  EXPECT_THROW(RingLogger("/nonexistent-dir/x.log", 16, Overflow::drop), std::runtime_error);
}

}  // namespace
}  // namespace dp::logring
