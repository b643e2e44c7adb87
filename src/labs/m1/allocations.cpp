// allocations.cpp — what does a heap allocation cost, and where does it put your data?
//
// What: two workloads, each run with five allocators.
//   blocks  allocate n blocks of 16..256 bytes (random sizes), write into each, then free them
//           all in the order they were allocated. Reported: ns per allocation + free.
//   list    build a singly linked list of n nodes (16 bytes each) one node at a time, then walk
//           it, summing the values. Reported: ns per node of the walk. The allocator decided
//           where each node lives; the walk pays for that decision, one dependent load per node.
//   Real programs do not run on a fresh heap. With heap=aged (the default) each general-purpose
//   allocator first serves 2n other blocks (half of them node-sized, half 16..256 B, interleaved)
//   and frees a random half, so new blocks land in holes scattered over the heap, as they do in
//   a program that has been running for a while. The arenas are not aged: an arena serves only
//   the data structure it was made for, which is the point of having one.
// Run:  dontpanic run allocations                     (n = 1 Ki .. 1 Mi, aged heap)
//       dontpanic run allocations --quick             (n = 1 Ki .. 16 Ki)
//       dontpanic run allocations --param heap=fresh  (no aging: watch the list walks change)
// Variants:
//   new/delete     ::operator new / ::operator delete, which is glibc's malloc / free
//   pmr monotonic  std::pmr::monotonic_buffer_resource on a buffer we hand it: bump, never free
//   bump arena     the same idea written by hand in 20 lines (below)
//   mimalloc       mi_malloc / mi_free   (Debian package libmimalloc2.0, loaded at run time)
//   jemalloc       mallocx / dallocx     (Debian package libjemalloc2, loaded at run time)
// Why mimalloc and jemalloc are loaded with dlopen: both libraries also export `malloc`, `free`
//   and `operator new`. Linked into the program the usual way, they would replace the allocator
//   of the whole process, so every other lab would measure them too. Opened with RTLD_LOCAL their
//   symbols stay out of the global lookup; we reach only their own API through dlsym, and a
//   check below confirms that `malloc` still resolves to the C library afterwards.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <memory_resource>
#include <new>
#include <numeric>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/check.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/private_library.hpp"
#include "core/sweep.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The variants: five allocators behind the same three calls
//   allocate(bytes) -> 16-byte aligned memory;  deallocate(p, bytes);  release() frees everything
// ---------------------------------------------------------------------------------------------

constexpr std::size_t kAlign = alignof(std::max_align_t);  // 16 on x86-64, what malloc promises

// A bump arena: one buffer and an offset. Allocating rounds the offset up to the alignment and
// moves it forward: a few instructions, no search, no header per block, and consecutive
// allocations sit next to each other in memory. There is no free, only release(), which forgets
// everything at once. If the buffer is too small it throws, as operator new would.
class BumpArena {
 public:
  explicit BumpArena(std::size_t capacity)
      : buffer_(std::make_unique_for_overwrite<std::byte[]>(capacity)), capacity_(capacity) {}

  void* allocate(std::size_t bytes) {
    const std::size_t start = (offset_ + kAlign - 1) & ~(kAlign - 1);  // round up to 16
    if (start > capacity_ || bytes > capacity_ - start) throw std::bad_alloc();
    offset_ = start + bytes;
    return buffer_.get() + start;  // new[] memory is 16-aligned, so buffer + start is too
  }
  void deallocate(void*, std::size_t) {}  // single blocks are never given back
  void release() { offset_ = 0; }

 private:
  std::unique_ptr<std::byte[]> buffer_;
  std::size_t capacity_;
  std::size_t offset_ = 0;
};

// The standard library's arena. We give it a buffer and no upstream (null_memory_resource), so
// it can never quietly fall back to malloc: too small a buffer throws std::bad_alloc. Calls go
// through a memory_resource pointer, as they do from std::pmr::vector or std::pmr::list.
class PmrMonotonic {
 public:
  explicit PmrMonotonic(std::size_t capacity)
      : buffer_(std::make_unique_for_overwrite<std::byte[]>(capacity)),
        monotonic_(buffer_.get(), capacity, std::pmr::null_memory_resource()) {}

  void* allocate(std::size_t bytes) { return resource_->allocate(bytes, kAlign); }
  void deallocate(void* p, std::size_t bytes) { resource_->deallocate(p, bytes, kAlign); }  // no-op
  void release() { monotonic_.release(); }  // back to the start of our buffer

 private:
  std::unique_ptr<std::byte[]> buffer_;
  std::pmr::monotonic_buffer_resource monotonic_;
  std::pmr::memory_resource* resource_ = &monotonic_;
};

// The system allocator: operator new calls glibc's malloc (ptmalloc2): size-class bins, a
// per-thread cache (tcache) of recently freed blocks, an 8-byte size field in front of every
// block, sizes rounded up to a multiple of 16 (32 bytes at least).
struct NewDelete {
  void* allocate(std::size_t bytes) { return ::operator new(bytes); }
  void deallocate(void* p, std::size_t bytes) { ::operator delete(p, bytes); }
  void release() {}
};

// mimalloc: per-size-class pages of 64 KiB, a free list per page, no header per block.
struct Mimalloc {
  void* (*mi_malloc)(std::size_t);
  void (*mi_free)(void*);

  void* allocate(std::size_t bytes) { return mi_malloc(bytes); }
  void deallocate(void* p, std::size_t) { mi_free(p); }
  void release() {}
};

// jemalloc: per-size-class slabs, thread caches, no header per block. mallocx/dallocx are its
// own names for malloc/free (flags 0 = default alignment, default arena).
struct Jemalloc {
  void* (*mallocx)(std::size_t, int);
  void (*dallocx)(void*, int);

  void* allocate(std::size_t bytes) { return mallocx(bytes, 0); }
  void deallocate(void* p, std::size_t) { dallocx(p, 0); }
  void release() {}
};

// ---------------------------------------------------------------------------------------------
// The workloads, written once for every allocator
// ---------------------------------------------------------------------------------------------

struct Node {
  std::int64_t value;
  Node* next;
};  // 16 bytes

// blocks: allocate every size, write its first and last byte (so the memory is really touched),
// then free in allocation order.
template <typename Allocator>
void allocate_and_free_blocks(Allocator& a, std::span<const std::uint32_t> sizes,
                              std::span<unsigned char*> blocks) {
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto* p = static_cast<unsigned char*>(a.allocate(sizes[i]));
    p[0] = static_cast<unsigned char>(i);
    p[sizes[i] - 1] = static_cast<unsigned char>(i);
    blocks[i] = p;
  }
  for (std::size_t i = 0; i < sizes.size(); ++i) a.deallocate(blocks[i], sizes[i]);
  a.release();
}

// list: one allocation per node, appended at the tail, so the list order is allocation order.
template <typename Allocator>
Node* build_list(Allocator& a, std::span<const std::int64_t> values) {
  Node* head = nullptr;
  Node** tail = &head;
  for (std::int64_t v : values) {
    Node* node = new (a.allocate(sizeof(Node))) Node{v, nullptr};
    *tail = node;
    tail = &node->next;
  }
  return head;
}

// The walk: each node's address comes from the previous node, so the loads cannot overlap;
// where the nodes lie decides whether each load hits L1 or waits for DRAM.
std::int64_t sum_list(const Node* node) {
  std::int64_t sum = 0;
  for (; node != nullptr; node = node->next) sum += node->value;
  return sum;
}

template <typename Allocator>
void free_list(Allocator& a, Node* node) {
  while (node != nullptr) {
    Node* next = node->next;
    a.deallocate(node, sizeof(Node));
    node = next;
  }
  a.release();
}

// Puts a general-purpose allocator into the state of a program that has run for a while:
// 2n blocks, alternating node-sized and 16..256 B, then a random half of them freed. The other
// half is returned and stays alive while we measure (freed afterwards with free_blocks).
struct Block {
  void* p;
  std::uint32_t bytes;
};

template <typename Allocator>
std::vector<Block> age_heap(Allocator& a, std::size_t n, std::mt19937_64& rng) {
  std::uniform_int_distribution<std::uint32_t> size_dist(16, 256);
  std::vector<Block> all(2 * n);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::uint32_t bytes =
        i % 2 == 0 ? static_cast<std::uint32_t>(sizeof(Node)) : size_dist(rng);
    all[i] = {a.allocate(bytes), bytes};
  }
  std::shuffle(all.begin(), all.end(), rng);
  for (std::size_t i = 0; i < n; ++i) a.deallocate(all[i].p, all[i].bytes);
  all.erase(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
  return all;
}

template <typename Allocator>
void free_blocks(Allocator& a, std::vector<Block>& blocks) {
  for (const Block& b : blocks) a.deallocate(b.p, b.bytes);
  blocks.clear();
}

// ---------------------------------------------------------------------------------------------
// Loading mimalloc and jemalloc without letting them replace malloc
// ---------------------------------------------------------------------------------------------

std::optional<Mimalloc> load_mimalloc(std::string& why_not) {
  void* lib = dp::open_private_library("libmimalloc.so.2", "mimalloc", "libmimalloc2.0", why_not);
  if (lib == nullptr) return std::nullopt;
  Mimalloc m{dp::find_symbol<void*(std::size_t)>(lib, "mi_malloc", why_not),
             dp::find_symbol<void(void*)>(lib, "mi_free", why_not)};
  if (m.mi_malloc == nullptr || m.mi_free == nullptr) {
    why_not = "mimalloc skipped: " + why_not;
    return std::nullopt;
  }
  return m;
}

std::optional<Jemalloc> load_jemalloc(std::string& why_not) {
  void* lib = dp::open_private_library("libjemalloc.so.2", "jemalloc", "libjemalloc2", why_not);
  if (lib == nullptr) return std::nullopt;
  Jemalloc j{dp::find_symbol<void*(std::size_t, int)>(lib, "mallocx", why_not),
             dp::find_symbol<void(void*, int)>(lib, "dallocx", why_not)};
  if (j.mallocx == nullptr || j.dallocx == nullptr) {
    why_not = "jemalloc skipped: " + why_not;
    return std::nullopt;
  }
  return j;
}

// ---------------------------------------------------------------------------------------------
// Inputs, reference and check
// ---------------------------------------------------------------------------------------------

constexpr std::uint64_t kSeed = 20240611;

struct Inputs {
  std::vector<std::uint32_t> sizes;   // block sizes, 16..256 bytes
  std::vector<std::int64_t> values;   // list node values
  std::size_t arena_bytes = 0;        // what an arena needs to hold all blocks, or the list
};

Inputs make_inputs(std::size_t n, std::mt19937_64& rng) {
  Inputs in;
  std::uniform_int_distribution<std::uint32_t> size_dist(16, 256);
  std::uniform_int_distribution<std::int64_t> value_dist(-1'000'000, 1'000'000);
  in.sizes.resize(n);
  in.values.resize(n);
  std::size_t block_bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    in.sizes[i] = size_dist(rng);
    in.values[i] = value_dist(rng);
    block_bytes += (in.sizes[i] + kAlign - 1) & ~(kAlign - 1);
  }
  in.arena_bytes = std::max(block_bytes, n * sizeof(Node)) + kAlign;
  return in;
}

// Checks one allocator: blocks are aligned and do not overlap (each is filled with its own byte,
// then all are read back), and a list built with it holds exactly the reference values.
template <typename Allocator>
void check_allocator(dp::LabContext& ctx, const std::string& variant, Allocator& a, bool aged,
                     const Inputs& in, std::mt19937_64& rng) {
  const std::size_t n = in.sizes.size();
  std::vector<Block> survivors;
  if (aged) survivors = age_heap(a, n, rng);

  std::vector<unsigned char*> blocks(n);
  std::size_t misaligned = 0, overwritten = 0;
  for (std::size_t i = 0; i < n; ++i) {
    blocks[i] = static_cast<unsigned char*>(a.allocate(in.sizes[i]));
    if (reinterpret_cast<std::uintptr_t>(blocks[i]) % kAlign != 0) ++misaligned;
    std::fill_n(blocks[i], in.sizes[i], static_cast<unsigned char>(i * 131));
  }
  for (std::size_t i = 0; i < n; ++i)
    if (std::any_of(blocks[i], blocks[i] + in.sizes[i],
                    [&](unsigned char c) { return c != static_cast<unsigned char>(i * 131); }))
      ++overwritten;
  for (std::size_t i = 0; i < n; ++i) a.deallocate(blocks[i], in.sizes[i]);
  a.release();
  ctx.result.add_check(
      fmt::format("{}: {} blocks are {}-byte aligned and do not overlap", variant, n, kAlign),
      misaligned == 0 && overwritten == 0,
      fmt::format("{} misaligned, {} overwritten by a later block", misaligned, overwritten));

  Node* head = build_list(a, in.values);
  std::vector<std::int64_t> got;
  for (const Node* node = head; node != nullptr; node = node->next) got.push_back(node->value);
  const std::int64_t sum = sum_list(head);
  free_list(a, head);
  free_blocks(a, survivors);
  const std::int64_t want_sum =
      std::accumulate(in.values.begin(), in.values.end(), std::int64_t{0});
  const auto cmp = dp::compare(std::span<const std::int64_t>(got),
                               std::span<const std::int64_t>(in.values));
  ctx.result.add_check(fmt::format("{}: list holds the reference values in order", variant),
                       cmp.passed && sum == want_sum,
                       fmt::format("{}; sum {} (reference {})", cmp.detail, sum, want_sum));
}

// ---------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------

struct Timings {
  double alloc_free_ns = 0;  // per block
  double walk_ns = 0;        // per node
};

template <typename Allocator>
Timings time_allocator(dp::LabContext& ctx, const std::string& variant, Allocator& a, bool aged,
                       const Inputs& in, std::mt19937_64& rng) {
  const std::size_t n = in.sizes.size();
  const auto count = static_cast<double>(n);
  std::vector<Block> survivors;
  if (aged) survivors = age_heap(a, n, rng);

  std::vector<unsigned char*> blocks(n);
  const dp::Stats blocks_stats = ctx.measure(fmt::format("{}/blocks/n={}", variant, n), [&] {
    allocate_and_free_blocks(a, in.sizes, blocks);
    benchmark::ClobberMemory();
  });
  const dp::Stats per_block = blocks_stats.per(count);
  ctx.result.add_point(variant, "blocks", count, per_block, 1e3 / per_block.median_ns,
                       "M allocs/s", "allocation + free");

  Node* head = build_list(a, in.values);
  const dp::Stats walk_stats = ctx.measure(fmt::format("{}/walk/n={}", variant, n), [&] {
    benchmark::DoNotOptimize(sum_list(head));
  });
  free_list(a, head);
  free_blocks(a, survivors);
  const dp::Stats per_node = walk_stats.per(count);
  ctx.result.add_point(variant + " walk", "nodes", count, per_node, 1e3 / per_node.median_ns,
                       "M nodes/s", "node");
  return {per_block.median_ns, per_node.median_ns};
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto n_max = static_cast<std::size_t>(ctx.params.integer("max-n"));
  const bool aged = ctx.params.text("heap") == "aged";

  std::string mimalloc_missing, jemalloc_missing;
  const std::optional<Mimalloc> mimalloc = load_mimalloc(mimalloc_missing);
  const std::optional<Jemalloc> jemalloc = load_jemalloc(jemalloc_missing);
  if (!mimalloc) ctx.result.notes.push_back(mimalloc_missing);
  if (!jemalloc) ctx.result.notes.push_back(jemalloc_missing);

  // Calls `f(variant name, allocator, is general purpose)` for every variant available, with
  // the arenas sized for `in`. Copies of the small API structs are fine: they hold pointers.
  auto for_each_variant = [&](const Inputs& in, auto&& f) {
    NewDelete system;
    f("new/delete", system, true);
    PmrMonotonic pmr(in.arena_bytes);
    f("pmr monotonic", pmr, false);
    BumpArena arena(in.arena_bytes);
    f("bump arena", arena, false);
    if (mimalloc) {
      Mimalloc m = *mimalloc;
      f("mimalloc", m, true);
    }
    if (jemalloc) {
      Jemalloc j = *jemalloc;
      f("jemalloc", j, true);
    }
  };

  // 1. Check every variant on an aged heap (even in heap=fresh runs: correctness must not
  //    depend on the heap's history), and that loading the libraries left malloc alone.
  std::mt19937_64 rng(kSeed);
  const Inputs check_in = make_inputs(std::min<std::size_t>(n_max, 1 << 14), rng);
  for_each_variant(check_in, [&](const std::string& variant, auto& a, bool general) {
    check_allocator(ctx, variant, a, general, check_in, rng);
  });
  const std::string malloc_home = dp::library_defining("malloc");  // must not be mimalloc or jemalloc
  const bool replaced = malloc_home.find("mimalloc") != std::string::npos ||
                        malloc_home.find("jemalloc") != std::string::npos;
  ctx.result.add_check("malloc is still the system's after loading mimalloc and jemalloc",
                       !replaced && malloc_home != "?",
                       fmt::format("malloc resolves to {}", malloc_home));
  if (!ctx.result.all_checks_passed()) return;

  // 2. Time: n = 1 Ki, 4 Ki, ... up to max-n (and max-n itself).
  const auto sizes = dp::geometric_sizes(1024, n_max, 4);
  std::vector<std::pair<std::string, Timings>> at_max;
  for (std::size_t n : dp::Sweep(ctx, "blocks / nodes:", sizes, {.stops_early = false})) {
    const Inputs in = make_inputs(n, rng);
    for_each_variant(in, [&](const std::string& variant, auto& a, bool general) {
      const Timings t = time_allocator(ctx, variant, a, aged && general, in, rng);
      if (n == n_max) at_max.emplace_back(variant, t);
    });
  }

  // 3. Plots, headlines, notes. Series "mimalloc" holds the blocks workload, "mimalloc walk"
  //    the list walk.
  std::vector<std::string> block_series, walk_series;
  for (const auto& [variant, t] : at_max) {
    block_series.push_back(variant);
    walk_series.push_back(variant + " walk");
  }
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "alloc-free", .title = "Allocate and free one block of 16..256 bytes",
      .xlabel = "blocks allocated before the first free (n)", .ylabel = "ns per allocation + free",
      .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = block_series,
      .markers = {}});
  const auto nodes_in = [](std::uint64_t bytes) {
    return static_cast<double>(bytes) / sizeof(Node);
  };
  std::vector<dp::Marker> cache_markers;
  if (ctx.machine.cache_bytes(2) > 0)
    cache_markers.push_back({nodes_in(ctx.machine.cache_bytes(2)), "L2 full of 16-B nodes"});
  if (ctx.machine.cache_bytes(3) > 0)
    cache_markers.push_back({nodes_in(ctx.machine.cache_bytes(3)), "L3 full of 16-B nodes"});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "list-walk", .title = aged ? "Walk a linked list built on an aged heap"
                                         : "Walk a linked list built on a fresh heap",
      .xlabel = "nodes in the list (n)", .ylabel = "ns per node", .y = dp::PlotSpec::Y::time,
      .logx = true, .logy = true, .variants = walk_series, .markers = cache_markers});

  std::string alloc_line, walk_line;
  for (const auto& [variant, t] : at_max) {
    alloc_line +=
        fmt::format("{}{} {:.1f}", alloc_line.empty() ? "" : ", ", variant, t.alloc_free_ns);
    walk_line += fmt::format("{}{} {:.1f}", walk_line.empty() ? "" : ", ", variant, t.walk_ns);
  }
  ctx.result.headlines.push_back({fmt::format("ns per alloc+free, n={}", n_max), alloc_line});
  ctx.result.headlines.push_back(
      {fmt::format("ns per node of the list walk, n={} ({} heap)", n_max, aged ? "aged" : "fresh"),
       walk_line});
  const auto find = [&](const std::string& variant) -> const Timings* {
    for (const auto& [name, t] : at_max)
      if (name == variant) return &t;
    return nullptr;
  };
  if (const Timings *system = find("new/delete"), *arena = find("bump arena"); system && arena)
    ctx.result.headlines.push_back(
        {fmt::format("list walk, new/delete / bump arena, n={}", n_max),
         fmt::format("{:.1f}x slower", system->walk_ns / arena->walk_ns)});
  ctx.result.notes.push_back(
      "The arenas are sized up front and release everything at once; their 'free' costs nothing "
      "because they never free single blocks. new/delete, mimalloc and jemalloc free each block.");
  ctx.result.notes.push_back(
      "mimalloc and jemalloc are called through function pointers (dlsym), which adds about a "
      "nanosecond per call compared with linking them directly.");
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "allocations",
             .title = "Allocations: malloc, arenas, pmr, mimalloc/jemalloc",
             .module = 1,
             .level = 2,
             .tracks = {},
             .question = "What does a small allocation cost, and how does the allocator's choice "
                         "of address change the speed of the data structure built with it?",
             .guide_page = "m1/allocations.md",
             .source = "src/labs/m1/allocations.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-n",
                                      "largest number of blocks / list nodes; n = 1 Ki, 4 Ki, ... "
                                      "up to this are measured",
                                      1 << 20, 1 << 14, 1024, 1 << 22),
               dp::ParamSpec::choice("heap",
                                     "aged: fragment each general-purpose allocator first; fresh: "
                                     "measure it as it is",
                                     {"aged", "fresh"}, "aged")},
    .run = run,
});
