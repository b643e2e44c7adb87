// hash_maps.cpp — node-based hash map, open addressing, or a sorted array?
//
// What: n distinct random 64-bit keys, each with a 64-bit value, stored four ways. For
//   n = 1e3, 1e4, ... up to max-keys we time
//     insert   build the map from empty by inserting the n keys one by one (no reserve)
//     hit      look up keys that are present (random order, with repeats), sum their values
//     miss     look up keys that are absent
//   and count the bytes each map holds per entry with a counting allocator.
// Run:  dontpanic run hash-maps                        (n = 1e3 .. 1e7)
//       dontpanic run hash-maps --quick                (n = 1e3 .. 1e5)
//       dontpanic run hash-maps --param max-load=0.9   (a fuller table for our own map)
// Variants:
//   std::unordered_map     one heap node per entry, buckets of pointers (separate chaining)
//   absl::flat_hash_map    open addressing in one array, 16-wide SIMD probing of 1-byte tags
//                          (Debian package libabsl-dev; skipped in builds without it)
//   linear probing         open addressing by hand in ~40 lines (below): the lesson
//   sorted vector          keys sorted once, binary search; "insert" = append all, then sort
// Keys: splitmix64(counter) for distinct counters >= 1. splitmix64's finalizer is a bijection
//   that maps only 0 to 0, so the keys are distinct, never 0 (our map's empty marker), and the
//   absent keys (later counters) are guaranteed absent.
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#ifdef DP_HAVE_ABSL
#include <absl/container/flat_hash_map.h>
#endif

#include "core/check.hpp"
#include "core/counting_allocator.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"

namespace {

// ---------------------------------------------------------------------------------------------
// The variants we write ourselves
// ---------------------------------------------------------------------------------------------

struct KeyValue {
  std::uint64_t key;
  std::uint64_t value;
};

// Open addressing with linear probing. Keys and values sit side by side in one array of slots.
// A key's home slot comes from its hash; when that slot holds another key we try the next one,
// and the next, until we find the key or an empty slot. Capacity is a power of two, so "next
// slot, wrapping around" is (i + 1) & mask. Key 0 marks an empty slot and cannot be stored.
// The table doubles before it gets fuller than max_load: probe runs grow fast as it fills.
template <typename Allocator = std::allocator<KeyValue>>
class LinearProbingMap {
 public:
  using allocator_type = Allocator;

  explicit LinearProbingMap(double max_load = 0.5, const Allocator& alloc = Allocator())
      : slots_(16, KeyValue{kEmpty, 0}, alloc), max_load_(max_load) {}

  void insert(std::uint64_t key, std::uint64_t value) {  // inserts, or overwrites the value
    if (key == kEmpty) throw std::invalid_argument("LinearProbingMap: key 0 marks empty slots");
    if (static_cast<double>(size_ + 1) > max_load_ * static_cast<double>(slots_.size()))
      rehash(2 * slots_.size());
    KeyValue& slot = slots_[probe(key)];
    if (slot.key == kEmpty) ++size_;
    slot = {key, value};
  }

  const std::uint64_t* find(std::uint64_t key) const {  // nullptr when absent
    const KeyValue& slot = slots_[probe(key)];
    return slot.key == key && key != kEmpty ? &slot.value : nullptr;
  }

  std::size_t size() const { return size_; }

 private:
  static constexpr std::uint64_t kEmpty = 0;

  // Fibonacci hashing: multiply by 2^64 / golden ratio and keep the top bits, which depend on
  // every bit of the key. Returns the slot holding `key`, or the empty slot where it would go.
  std::size_t probe(std::uint64_t key) const {
    const std::size_t mask = slots_.size() - 1;
    const int shift = 64 - std::countr_zero(slots_.size());
    std::size_t i = (key * 0x9E3779B97F4A7C15ull) >> shift;
    while (slots_[i].key != key && slots_[i].key != kEmpty) i = (i + 1) & mask;
    return i;
  }

  void rehash(std::size_t capacity) {  // capacity: a power of two
    std::vector<KeyValue, Allocator> old(capacity, KeyValue{kEmpty, 0}, slots_.get_allocator());
    old.swap(slots_);
    for (const KeyValue& kv : old)
      if (kv.key != kEmpty) slots_[probe(kv.key)] = kv;
  }

  std::vector<KeyValue, Allocator> slots_;  // size() is the capacity, a power of two
  std::size_t size_ = 0;
  double max_load_;
};

// A sorted array: no hashing, no empty slots, 16 bytes per entry. It cannot take one insert
// cheaply (everything after it moves), so it is built in bulk: append everything, sort once.
// A lookup is a binary search: log2(n) steps, each a load that depends on the previous one.
template <typename Allocator = std::allocator<KeyValue>>
class SortedVectorMap {
 public:
  using allocator_type = Allocator;

  explicit SortedVectorMap(std::vector<KeyValue, Allocator> entries)
      : entries_(std::move(entries)) {
    std::sort(entries_.begin(), entries_.end(),
              [](const KeyValue& a, const KeyValue& b) { return a.key < b.key; });
  }

  const std::uint64_t* find(std::uint64_t key) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                               [](const KeyValue& kv, std::uint64_t k) { return kv.key < k; });
    return it != entries_.end() && it->key == key ? &it->value : nullptr;
  }

 private:
  std::vector<KeyValue, Allocator> entries_;
};

// ---------------------------------------------------------------------------------------------
// All four behind the same two calls: build(keys, values) and find(map, key) -> value or nullptr
// ---------------------------------------------------------------------------------------------

template <typename Map>
const std::uint64_t* find_in(const Map& map, std::uint64_t key) {
  if constexpr (requires { map.end(); }) {  // the std / absl interface: an iterator or end()
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  } else {
    return map.find(key);
  }
}

template <typename Allocator>
using StdMap = std::unordered_map<std::uint64_t, std::uint64_t, std::hash<std::uint64_t>,
                                  std::equal_to<std::uint64_t>, Allocator>;
#ifdef DP_HAVE_ABSL
template <typename Allocator>
using AbslMap = absl::flat_hash_map<std::uint64_t, std::uint64_t, absl::Hash<std::uint64_t>,
                                    std::equal_to<std::uint64_t>, Allocator>;
#endif

// Builds one variant from keys[i] -> values[i], with the given allocator (std::allocator when
// timing, a counting one when measuring bytes).
template <typename Map>
Map build_map(std::span<const std::uint64_t> keys, std::span<const std::uint64_t> values,
              double max_load, const typename Map::allocator_type& alloc) {
  using Alloc = typename Map::allocator_type;
  if constexpr (std::is_same_v<Map, SortedVectorMap<Alloc>>) {
    std::vector<KeyValue, Alloc> entries(alloc);
    for (std::size_t i = 0; i < keys.size(); ++i) entries.push_back({keys[i], values[i]});
    return Map(std::move(entries));
  } else if constexpr (std::is_same_v<Map, LinearProbingMap<Alloc>>) {
    Map map(max_load, alloc);
    for (std::size_t i = 0; i < keys.size(); ++i) map.insert(keys[i], values[i]);
    return map;
  } else {  // std::unordered_map, absl::flat_hash_map
    Map map(alloc);
    for (std::size_t i = 0; i < keys.size(); ++i) map.emplace(keys[i], values[i]);
    return map;
  }
}

// ---------------------------------------------------------------------------------------------
// Keys, reference and check
// ---------------------------------------------------------------------------------------------

// splitmix64's finalizer: a bijection on 64-bit integers with mix(0) = 0.
std::uint64_t mix(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

constexpr std::uint64_t kSeed = 20240613;

struct Keys {
  std::vector<std::uint64_t> keys, values;  // the map's contents: keys[i] -> values[i]
  std::vector<std::uint64_t> hits;          // lookups of present keys
  std::vector<std::uint64_t> misses;        // lookups of absent keys
  std::uint64_t hit_value_sum = 0;          // what the hit lookups must add up to
};

Keys make_keys(std::size_t n, std::size_t lookups, std::mt19937_64& rng) {
  Keys k;
  const std::uint64_t first = 1 + (rng() >> 8);  // counters first .. first + n + lookups: no wrap
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  for (std::size_t i = 0; i < n; ++i) {
    k.keys.push_back(mix(first + i));
    k.values.push_back(rng() >> 12);  // 52 bits: exact as a double, for dp::compare
  }
  for (std::size_t j = 0; j < lookups; ++j) {
    const std::size_t i = pick(rng);
    k.hits.push_back(k.keys[i]);
    k.hit_value_sum += k.values[i];
    k.misses.push_back(mix(first + n + j));
  }
  return k;
}

struct LookupResult {
  std::uint64_t found = 0;
  std::uint64_t value_sum = 0;  // wraps around: only compared, never interpreted
};

template <typename Map>
LookupResult look_up(const Map& map, std::span<const std::uint64_t> keys) {
  LookupResult r;
  for (std::uint64_t key : keys)
    if (const std::uint64_t* v = find_in(map, key)) ++r.found, r.value_sum += *v;
  return r;
}

// Each variant must return, for every key, exactly the reference value (the input arrays are the
// simplest reference there is: keys[i] -> values[i]), and find none of the absent keys.
template <typename Map>
void check_map(dp::LabContext& ctx, const std::string& variant, const Keys& k, double max_load) {
  const Map map = build_map<Map>(k.keys, k.values, max_load, typename Map::allocator_type());
  std::vector<std::uint64_t> got;
  std::size_t absent = 0;
  for (std::size_t i = 0; i < k.keys.size(); ++i) {
    const std::uint64_t* v = find_in(map, k.keys[i]);
    if (v == nullptr) ++absent;
    got.push_back(v != nullptr ? *v : k.values[i] + 1);  // + 1: a missing key cannot match
  }
  const auto cmp = dp::compare(std::span<const std::uint64_t>(got),
                               std::span<const std::uint64_t>(k.values));
  const LookupResult hits = look_up(map, k.hits);
  ctx.result.add_check(
      fmt::format("{}: all {} keys found with their values", variant, k.keys.size()),
      cmp.passed && absent == 0 && hits.found == k.hits.size() && hits.value_sum == k.hit_value_sum,
      fmt::format("{} keys missing; values: {}; hit lookups found {} of {}", absent, cmp.detail,
                  hits.found, k.hits.size()));
  const LookupResult misses = look_up(map, k.misses);
  ctx.result.add_check(fmt::format("{}: none of {} absent keys found", variant, k.misses.size()),
                       misses.found == 0,
                       fmt::format("{} absent keys reported present", misses.found));
}

// ---------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------

struct Figures {
  double insert_ns = 0, hit_ns = 0, miss_ns = 0;
  double bytes_per_entry = 0;  // asked of the allocator, plus the map object
  double heap_per_entry = 0;   // the same blocks as glibc's malloc charges them
};

template <template <typename> class MapOf>
Figures time_map(dp::LabContext& ctx, const std::string& variant, const Keys& k, double max_load,
                 std::size_t batch_keys, const dp::MeasureConfig& config) {
  using Map = MapOf<std::allocator<int>>;  // rebound to what the map stores
  const std::size_t n = k.keys.size();
  const auto name = [&](const char* op) {
    return fmt::format("{}/{}/{}/n={}", ctx.result.lab, variant, op, n);
  };
  Figures f;

  // insert: small maps are built `batch` at a time (batch_keys keys in all) so that pausing the
  // clock to destroy them (we time inserting, not freeing) costs about 1% of the timed work.
  const std::size_t batch = std::max<std::size_t>(1, batch_keys / n);
  std::vector<std::optional<Map>> maps(batch);
  const dp::Stats insert = dp::measure_state(name("insert"), [&](benchmark::State& state) {
    for (auto _ : state) {
      for (auto& m : maps) m.emplace(build_map<Map>(k.keys, k.values, max_load, {}));
      state.PauseTiming();
      for (auto& m : maps) m.reset();
      state.ResumeTiming();
    }
  }, config).per(static_cast<double>(n * batch));
  maps.clear();
  ctx.result.add_point(variant + " insert", "keys", static_cast<double>(n), insert,
                       1e3 / insert.median_ns, "M inserts/s", "insert");
  f.insert_ns = insert.median_ns;

  // Lookups and bytes share one build through the counting allocator: it only adds up the
  // sizes of the blocks it passes to std::allocator, so the map's layout is the same.
  dp::AllocationCount count;
  using CountedMap = MapOf<dp::CountingAllocator<int>>;
  const CountedMap map = build_map<CountedMap>(k.keys, k.values, max_load,
                                               typename CountedMap::allocator_type(&count));
  const auto object = static_cast<std::int64_t>(sizeof(map));  // the map object counts too
  f.bytes_per_entry = static_cast<double>(count.live_bytes + object) / static_cast<double>(n);
  f.heap_per_entry = static_cast<double>(count.live_heap_bytes + object) / static_cast<double>(n);

  const auto lookups = static_cast<double>(k.hits.size());
  const dp::Stats hit = dp::measure(name("hit"), [&] {
    benchmark::DoNotOptimize(look_up(map, k.hits));
  }, config).per(lookups);
  ctx.result.add_point(variant + " hit", "keys in the map", static_cast<double>(n), hit,
                       1e3 / hit.median_ns, "M lookups/s", "lookup");
  const dp::Stats miss = dp::measure(name("miss"), [&] {
    benchmark::DoNotOptimize(look_up(map, k.misses));
  }, config).per(lookups);
  ctx.result.add_point(variant + " miss", "keys in the map", static_cast<double>(n), miss,
                       1e3 / miss.median_ns, "M lookups/s", "lookup");
  f.hit_ns = hit.median_ns;
  f.miss_ns = miss.median_ns;
  return f;
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

// The variants as templates of their allocator, so time_map can build each with either.
template <typename A>
using LinearMapOf =
    LinearProbingMap<typename std::allocator_traits<A>::template rebind_alloc<KeyValue>>;
template <typename A>
using SortedMapOf =
    SortedVectorMap<typename std::allocator_traits<A>::template rebind_alloc<KeyValue>>;
template <typename A>
using StdMapOf = StdMap<typename std::allocator_traits<A>::template rebind_alloc<
    std::pair<const std::uint64_t, std::uint64_t>>>;
#ifdef DP_HAVE_ABSL
template <typename A>
using AbslMapOf = AbslMap<typename std::allocator_traits<A>::template rebind_alloc<
    std::pair<const std::uint64_t, std::uint64_t>>>;
#endif

void run(dp::LabContext& ctx) {
  const auto max_keys = static_cast<std::size_t>(ctx.params.integer("max-keys"));
  const double max_load = ctx.params.real("max-load");

  std::vector<std::string> variants = {"std::unordered_map"};
#ifdef DP_HAVE_ABSL
  variants.push_back("absl::flat_hash_map");
#else
  ctx.result.notes.push_back(
      "absl::flat_hash_map skipped: this build has no Abseil. Install the Debian package "
      "libabsl-dev and configure the build again.");
#endif
  variants.push_back("linear probing");
  variants.push_back("sorted vector");

  // Calls f.template operator()<MapOf>(variant) for every variant.
  auto for_each_variant = [&](auto&& f) {
    f.template operator()<StdMapOf>("std::unordered_map");
#ifdef DP_HAVE_ABSL
    f.template operator()<AbslMapOf>("absl::flat_hash_map");
#endif
    f.template operator()<LinearMapOf>("linear probing");
    f.template operator()<SortedMapOf>("sorted vector");
  };

  // 1. Check: enough keys for many rehashes of every hash table, plus hits and misses.
  std::mt19937_64 rng(kSeed);
  {
    const Keys k = make_keys(std::min<std::size_t>(max_keys, 20000), 4096, rng);
    for_each_variant([&]<template <typename> class MapOf>(const std::string& variant) {
      check_map<MapOf<std::allocator<int>>>(ctx, variant, k, max_load);
    });
  }
  if (!ctx.result.all_checks_passed()) return;

  // 2. Time at n = 1e3, 1e4, ... (and max-keys itself). Lookups: n random hit keys and n miss
  //    keys, at least 64 Ki (so small maps are timed over many lookups) and at most 1 Mi; in
  //    quick mode 4 Ki .. 16 Ki, so that a sanitizer build gets through it too.
  const std::size_t min_lookups = ctx.quick ? 1 << 12 : 1 << 16;
  const std::size_t max_lookups = ctx.quick ? 1 << 14 : 1 << 20;
  const std::size_t batch_keys = ctx.quick ? 1 << 14 : 1 << 16;
  std::vector<std::pair<std::string, Figures>> at_max;  // at largest_n, the largest n measured
  std::size_t largest_n = 0;
  std::vector<std::string> bytes_notes;
  for (std::size_t n : dp::Sweep(ctx, "keys:", dp::geometric_sizes(std::min<std::size_t>(1000, max_keys), max_keys, 10))) {
    const std::size_t lookups = std::clamp(n, min_lookups, max_lookups);
    const Keys k = make_keys(n, lookups, rng);
    at_max.clear();
    largest_n = n;
    // Builds of 1e6+ keys take a second or more each: fewer repetitions, and no warm-up run
    // (every iteration builds a map from nothing anyway), keep the full run in minutes.
    dp::MeasureConfig config = ctx.measure_config;
    if (n >= 1'000'000) {
      config.repetitions = std::min(config.repetitions, n >= 10'000'000 ? 3 : 5);
      config.warmup_seconds = 0;
    }
    std::string bytes_line;
    for_each_variant([&]<template <typename> class MapOf>(const std::string& variant) {
      const Figures f = time_map<MapOf>(ctx, variant, k, max_load, batch_keys, config);
      bytes_line += fmt::format("{}{} {:.1f} / {:.1f}", bytes_line.empty() ? "" : ", ", variant,
                                f.bytes_per_entry, f.heap_per_entry);
      at_max.emplace_back(variant, f);
    });
    bytes_notes.push_back(
        fmt::format("Bytes per entry at n={}, asked / on glibc's heap: {}.", n, bytes_line));
  }

  // 3. Plots, headlines, notes.
  auto series = [&](const char* op) {
    std::vector<std::string> names;
    for (const std::string& v : variants) names.push_back(v + " " + op);
    return names;
  };
  // Where a table of 16-byte entries at half load (32 bytes per key) outgrows each cache.
  std::vector<dp::Marker> markers;
  for (int level : {2, 3})
    if (ctx.machine.cache_bytes(level) > 0)
      markers.push_back({static_cast<double>(ctx.machine.cache_bytes(level)) / 32.0,
                         fmt::format("L{} at 32 B/key", level)});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "insert", .title = "Insert n keys into an empty map", .xlabel = "keys (n)",
      .ylabel = "ns per insert", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = series("insert"), .markers = markers});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "hit", .title = "Look up a key that is present", .xlabel = "keys in the map (n)",
      .ylabel = "ns per lookup", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = series("hit"), .markers = markers});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "miss", .title = "Look up a key that is absent", .xlabel = "keys in the map (n)",
      .ylabel = "ns per lookup", .y = dp::PlotSpec::Y::time, .logx = true, .logy = true,
      .variants = series("miss"), .markers = markers});

  for (const auto& [label, member] :
       {std::pair{"ns per insert", &Figures::insert_ns},
        std::pair{"ns per hit lookup", &Figures::hit_ns},
        std::pair{"ns per miss lookup", &Figures::miss_ns},
        std::pair{"bytes per entry", &Figures::bytes_per_entry},
        std::pair{"bytes per entry on glibc's heap", &Figures::heap_per_entry}}) {
    std::string line;
    for (const auto& [variant, f] : at_max)
      line += fmt::format("{}{} {:.1f}", line.empty() ? "" : ", ", variant, f.*member);
    ctx.result.headlines.push_back({fmt::format("{}, n={}", label, largest_n), line});
  }
  for (const std::string& note : bytes_notes) ctx.result.notes.push_back(note);
  ctx.result.notes.push_back(
      "Bytes per entry: what the map asked its allocator for (counted by a counting allocator), "
      "plus the map object itself. 'On glibc's heap' charges each block as glibc's malloc does "
      "(8-byte size field, rounded up to 16, 32 at least): only std::unordered_map, with one "
      "block per entry, pays that n times.");
  ctx.result.notes.push_back(fmt::format(
      "Our linear-probing map doubles when it would pass {:.0f}% full (max-load); "
      "absl::flat_hash_map at 87.5%; std::unordered_map at 1 entry per bucket.", 100 * max_load));
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "hash-maps",
             .title = "Hash maps: node-based vs open addressing vs sorted arrays",
             .module = 1,
             .level = 3,
             .tracks = {},
             .question = "How much do a node-based hash map, an open-addressing one and a sorted "
                         "array cost per insert, per lookup and per entry, from 1e3 to 1e7 keys?",
             .guide_page = "m1/hash-maps.md",
             .source = "src/labs/m1/hash_maps.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-keys",
                                      "largest map; n = 1e3, 1e4, ... up to this are measured",
                                      10'000'000, 100'000, 1000, 30'000'000),
               dp::ParamSpec::real("max-load",
                                   "how full our linear-probing map may get before it doubles",
                                   0.5, 0.5, 0.1, 0.95)},
    .run = run,
    // At max-keys: the keys and lookup keys, and the largest map of each kind alive one at a time
    // (a node-based map takes about 64 bytes a key with its bucket array).
    .memory_need = [](const dp::Params& p, const dp::MachineInfo&, bool) {
      const auto n = static_cast<std::uint64_t>(p.integer("max-keys"));
      return dp::MemoryNeed{n * 96, fmt::format("maps of {} keys", n)};
    },
    .memory_param = "max-keys",
});
