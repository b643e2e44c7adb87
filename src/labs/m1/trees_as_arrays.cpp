// trees_as_arrays.cpp — a tree of pointers, or a tree in one array with indices?
//
// What: n random spheres in the unit cube and a bounding volume hierarchy (BVH) over them, the
//   same tree stored four ways. For n = 1e4 .. max-spheres we time the build (ns per sphere),
//   two queries, and count the bytes each tree holds:
//     ray   the nearest sphere along a random ray (what a ray tracer asks, millions of times)
//     box   every sphere whose bounding box overlaps a small random box (a collision broad phase)
// Run:  dontpanic run trees-as-arrays                 (n = 1e4 .. 1e6)
//       dontpanic run trees-as-arrays --quick         (n = 1e4 .. 1e5)
// Variants:
//   pointer nodes        one `new` per node, children by pointer (the textbook tree); leaves index
//                        an array of sphere indices into the scene
//   pointer nodes,       the same, built after freeing node-sized blocks in a random order: the
//     aged heap          nodes land scattered, as in a long-running program's heap
//   flat array           the same tree in one std::vector of 32-byte nodes, children by index,
//                        depth-first (labs/m1/bvh.hpp: the BVH a path tracer would use)
//   flat, Morton order   the flat array built over the scene sorted first in Z-order (Morton
//                        codes of the centres): spheres near in space are near in memory
// Check: before timing, every variant must return exactly brute force's hits, for boxes and rays.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "labs/m1/bvh.hpp"

namespace {

using dp::bvh::Aabb;
using dp::bvh::FlatBvh;
using dp::bvh::Hit;
using dp::bvh::Ray;
using dp::bvh::Sphere;
using dp::bvh::Vec3;

// ---------------------------------------------------------------------------------------------
// The variants
// ---------------------------------------------------------------------------------------------

// The textbook BVH: every node its own heap block, found through its parent's pointer. Built by
// the same median_split as FlatBvh, so it is the same tree; only where the nodes live differs.
class PointerBvh {
 public:
  struct Node {                 // 48 bytes asked of the allocator; glibc's malloc hands out 64
    Aabb box;
    Node* left = nullptr;       // both null: a leaf
    Node* right = nullptr;
    std::uint32_t first = 0;    // leaf: its spheres are order_[first, first + count)
    std::uint32_t count = 0;
  };

  PointerBvh(std::span<const Sphere> spheres, std::uint32_t leaf_size) : spheres_(spheres), order_(spheres.size()) {
    for (std::uint32_t i = 0; i < order_.size(); ++i) order_[i] = i;
    if (!spheres.empty()) root_ = build(0, static_cast<std::uint32_t>(spheres.size()), leaf_size);
  }
  ~PointerBvh() { destroy(root_); }
  PointerBvh(const PointerBvh&) = delete;
  PointerBvh& operator=(const PointerBvh&) = delete;

  void overlapping(const Aabb& box, std::vector<std::uint32_t>& hits) const {
    if (!root_) return;
    const Node* stack[64];
    int top = 0;
    stack[top++] = root_;
    while (top > 0) {
      const Node* n = stack[--top];
      if (!n->box.overlaps(box)) continue;
      if (!n->left) {
        for (std::uint32_t j = n->first; j < n->first + n->count; ++j)
          if (box_of(spheres_[order_[j]]).overlaps(box)) hits.push_back(order_[j]);
      } else {
        stack[top++] = n->right;
        stack[top++] = n->left;
      }
    }
  }

  Hit closest_hit(const Ray& ray) const {  // the same walk as FlatBvh::closest_hit
    Hit best;
    if (!root_) return best;
    const Vec3 inv = dp::bvh::inverse(ray.dir);
    using dp::bvh::box_entry;
    using dp::bvh::kNoHit;
    struct Entry {
      const Node* node;
      float t;
    } stack[64];
    int top = 0;
    const float t_root = box_entry(root_->box, ray.origin, inv, kNoHit);
    if (t_root == kNoHit) return best;
    stack[top++] = {root_, t_root};
    while (top > 0) {
      const Entry e = stack[--top];
      if (e.t > best.t) continue;
      const Node* n = e.node;
      if (!n->left) {
        for (std::uint32_t j = n->first; j < n->first + n->count; ++j) {
          const float t = dp::bvh::hit_sphere(ray, spheres_[order_[j]]);
          if (t < best.t || (t == best.t && t < kNoHit && order_[j] < best.index)) best = {t, order_[j]};
        }
        continue;
      }
      Entry near{n->left, box_entry(n->left->box, ray.origin, inv, best.t)};
      Entry far{n->right, box_entry(n->right->box, ray.origin, inv, best.t)};
      if (far.t < near.t) std::swap(near, far);
      if (far.t < kNoHit) stack[top++] = far;
      if (near.t < kNoHit) stack[top++] = near;
    }
    return best;
  }

  std::size_t node_count() const { return nodes_; }
  std::size_t bytes() const { return nodes_ * sizeof(Node) + order_.size() * sizeof(std::uint32_t); }
  // glibc's malloc charges a block its size plus an 8-byte header, rounded up to 16 (32 at least).
  std::size_t heap_bytes() const {
    return nodes_ * std::max<std::size_t>(32, (sizeof(Node) + 8 + 15) / 16 * 16) + order_.size() * sizeof(std::uint32_t);
  }

 private:
  Node* build(std::uint32_t first, std::uint32_t last, std::uint32_t leaf_size) {
    const dp::bvh::Split s = dp::bvh::median_split(spheres_, order_, first, last, leaf_size);
    Node* n = new Node{s.box, nullptr, nullptr, first, last - first};
    ++nodes_;
    if (s.mid != 0) {
      n->left = build(first, s.mid, leaf_size);
      n->right = build(s.mid, last, leaf_size);
      n->count = 0;
    }
    return n;
  }
  static void destroy(Node* n) {
    if (!n) return;
    destroy(n->left);
    destroy(n->right);
    delete n;
  }

  std::span<const Sphere> spheres_;
  std::vector<std::uint32_t> order_;
  Node* root_ = nullptr;
  std::size_t nodes_ = 0;
};

// An aged heap, as a long-running program has: the nodes of a tree built over time sit wherever
// the allocator found a free block, between other allocations. We imitate it: allocate `blocks`
// node-sized blocks, and free them in a random order. glibc keeps freed small blocks in
// last-in-first-out lists (tcache, fastbins), so the next `new Node` calls get them back in that
// random order, and the tree's nodes land scattered over the region. (It relies on glibc's
// allocator; another allocator may give the blocks back in address order, and this variant then
// matches "pointer nodes".)
void age_heap(std::size_t blocks, std::mt19937_64& rng) {
  std::vector<void*> held(blocks);
  for (void*& b : held) b = ::operator new(sizeof(PointerBvh::Node));
  std::shuffle(held.begin(), held.end(), rng);
  for (void* b : held) ::operator delete(b, sizeof(PointerBvh::Node));
}

// The flat BVH over the scene in Z-order. It owns that sorted copy of the spheres (the tree
// keeps a span into it, so this object stays where it was made: held by unique_ptr), and the
// original index of each, to answer in the caller's numbering.
class MortonBvh {
 public:
  MortonBvh(std::span<const Sphere> spheres, std::uint32_t leaf_size)
      : original_(dp::bvh::morton_order(spheres)), sorted_(gather(spheres, original_)), tree_(sorted_, leaf_size) {}

  void overlapping(const Aabb& box, std::vector<std::uint32_t>& hits) const {
    const std::size_t from = hits.size();
    tree_.overlapping(box, hits);
    for (std::size_t i = from; i < hits.size(); ++i) hits[i] = original_[hits[i]];
  }
  // Among spheres at exactly the same t the tree prefers the lowest *sorted* index; the check
  // accepts any sphere at the nearest t.
  Hit closest_hit(const Ray& ray) const {
    Hit h = tree_.closest_hit(ray);
    if (h.index != Hit{}.index) h.index = original_[h.index];
    return h;
  }
  std::size_t node_count() const { return tree_.node_count(); }
  std::size_t bytes() const {  // the tree, the sorted copy of the scene, and the index map back
    return tree_.bytes() + sorted_.size() * sizeof(Sphere) + original_.size() * sizeof(std::uint32_t);
  }

 private:
  static std::vector<Sphere> gather(std::span<const Sphere> spheres, const std::vector<std::uint32_t>& order) {
    std::vector<Sphere> out(order.size());
    for (std::size_t i = 0; i < order.size(); ++i) out[i] = spheres[order[i]];
    return out;
  }
  std::vector<std::uint32_t> original_;  // original_[i]: the scene index of sorted_[i]
  std::vector<Sphere> sorted_;
  FlatBvh tree_;
};

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

constexpr std::uint64_t kSeed = 20261204;

// n spheres with centres uniform in [0, 1)^3 and radii of 0.2 .. 0.6 times the mean spacing
// n^(-1/3): a ray meets one within a few spacings, and each sphere overlaps a few neighbours.
std::vector<Sphere> make_spheres(std::size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const float spacing = static_cast<float>(std::cbrt(1.0 / static_cast<double>(n)));
  std::vector<Sphere> s(n);
  for (Sphere& sp : s) sp = {{u(rng), u(rng), u(rng)}, spacing * (0.2f + 0.4f * u(rng))};
  return s;
}

std::vector<Ray> make_rays(std::size_t m, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<Ray> rays(m);
  for (Ray& r : rays) r = {{u(rng), u(rng), u(rng)}, {g(rng), g(rng), g(rng)}};  // a direction uniform on the sphere
  return rays;
}

// Boxes of side 0.5 .. 1.5 mean spacings: a few hits each.
std::vector<Aabb> make_boxes(std::size_t m, std::size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  const float spacing = static_cast<float>(std::cbrt(1.0 / static_cast<double>(n)));
  std::vector<Aabb> boxes(m);
  for (Aabb& b : boxes) {
    const Vec3 c{u(rng), u(rng), u(rng)};
    const float h = 0.5f * spacing * (0.5f + u(rng));
    b = {c - Vec3{h, h, h}, c + Vec3{h, h, h}};
  }
  return boxes;
}

// ---------------------------------------------------------------------------------------------
// Check
// ---------------------------------------------------------------------------------------------

// Boxes: the same set of sphere indices as brute force. Rays: the same t, bit for bit (every
// variant calls the same hit_sphere on the same sphere), and a sphere hit at that t.
template <typename Tree>
void check_tree(dp::LabContext& ctx, const std::string& name, const Tree& tree, std::span<const Sphere> spheres,
                std::span<const Aabb> boxes, std::span<const Ray> rays) {
  std::size_t wrong = 0, total_hits = 0;
  std::string first;
  std::vector<std::uint32_t> got, want;
  for (std::size_t q = 0; q < boxes.size(); ++q) {
    got.clear(), want.clear();
    tree.overlapping(boxes[q], got);
    dp::bvh::brute_force_overlapping(spheres, boxes[q], want);
    std::sort(got.begin(), got.end());
    total_hits += want.size();
    if (got != want && ++wrong <= 3) first += fmt::format(" box {}: {} hits, want {};", q, got.size(), want.size());
  }
  ctx.result.add_check(fmt::format("{}: the spheres overlapping each of {} boxes", name, boxes.size()), wrong == 0,
                       wrong == 0 ? fmt::format("all {} boxes: the same {} hits in all as brute force", boxes.size(), total_hits)
                                  : fmt::format("{} of {} boxes differ from brute force:{}", wrong, boxes.size(), first));
  wrong = 0, first.clear();
  std::size_t hits = 0;
  for (std::size_t q = 0; q < rays.size(); ++q) {
    const Hit h = tree.closest_hit(rays[q]);
    const Hit w = dp::bvh::brute_force_closest_hit(spheres, rays[q]);
    hits += w.index != Hit{}.index;
    const bool same = h.t == w.t && (w.index == Hit{}.index ? h.index == w.index
                                                            : h.index < spheres.size() && dp::bvh::hit_sphere(rays[q], spheres[h.index]) == w.t);
    if (!same && ++wrong <= 3) first += fmt::format(" ray {}: sphere {} at t={:.9g}, want {} at t={:.9g};", q, h.index, h.t, w.index, w.t);
  }
  ctx.result.add_check(fmt::format("{}: the nearest sphere along each of {} rays", name, rays.size()), wrong == 0,
                       wrong == 0 ? fmt::format("all {} rays ({} hit a sphere): the same sphere and t as brute force", rays.size(), hits)
                                  : fmt::format("{} of {} rays differ from brute force:{}", wrong, rays.size(), first));
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

template <typename F>
void for_each_variant(std::uint32_t leaf_size, F&& f) {
  f("pointer nodes", [leaf_size](std::span<const Sphere> s) { return std::make_unique<PointerBvh>(s, leaf_size); });
  f("pointer nodes, aged heap", [leaf_size](std::span<const Sphere> s) {
    std::mt19937_64 rng(s.size());
    age_heap(2 * s.size() / leaf_size + 16, rng);  // about twice the nodes the tree will make
    return std::make_unique<PointerBvh>(s, leaf_size);
  });
  f("flat array", [leaf_size](std::span<const Sphere> s) { return std::make_unique<FlatBvh>(s, leaf_size); });
  f("flat, Morton order", [leaf_size](std::span<const Sphere> s) { return std::make_unique<MortonBvh>(s, leaf_size); });
}

constexpr const char* kAged = "pointer nodes, aged heap";

struct Bytes {
  std::string variant;
  double per_sphere = 0, heap_per_sphere = 0;
  std::size_t nodes = 0;
};

void run(dp::LabContext& ctx) {
  const auto max_spheres = static_cast<std::size_t>(ctx.params.integer("max-spheres"));
  const auto query_count = static_cast<std::size_t>(ctx.params.integer("queries"));
  const auto leaf_size = static_cast<std::uint32_t>(ctx.params.integer("leaf-size"));

  // 1. Check: every variant against brute force, on fresh spheres.
  std::mt19937_64 rng(kSeed);
  {
    const std::size_t n = std::min<std::size_t>(max_spheres, 20000);
    const auto spheres = make_spheres(n, rng);
    const auto boxes = make_boxes(500, n, rng);
    const auto rays = make_rays(500, rng);
    for_each_variant(leaf_size, [&](const std::string& name, auto build) {
      check_tree(ctx, fmt::format("{} ({} spheres)", name, n), *build(spheres), spheres, boxes, rays);
    });
  }
  if (!ctx.result.all_checks_passed()) return;

  // 2. Time at n = 1e4, 3e4, 1e5, ... max-spheres.
  std::vector<std::uint64_t> sizes;
  for (double n = 1e4; n <= double(max_spheres) * 1.01; n *= std::sqrt(10.0)) sizes.push_back(std::uint64_t(std::round(n / 1000) * 1000));
  if (sizes.empty() || sizes.back() != max_spheres) sizes.push_back(max_spheres);
  std::vector<Bytes> bytes;
  std::size_t largest = 0;
  for (std::uint64_t n : dp::Sweep(ctx, "spheres:", sizes)) {
    largest = n;
    const auto spheres = make_spheres(n, rng);
    const auto boxes = make_boxes(query_count, n, rng);
    const auto rays = make_rays(query_count, rng);
    dp::MeasureConfig config = ctx.measure_config;
    if (n >= 300'000) config.repetitions = std::min(config.repetitions, 5);
    const auto x = static_cast<double>(n);
    bytes.clear();
    for_each_variant(leaf_size, [&](const std::string& name, auto build) {
      if (name != kAged) {  // the aged heap's build is the pointer build, plus the aging we do not time
        const dp::Stats b = dp::measure(fmt::format("{}/{}/build/n={}", ctx.result.lab, name, n), [&] {
          auto tree = build(spheres);
          benchmark::DoNotOptimize(tree.get());
        }, config).per(x);
        ctx.result.add_point(name + " build", "spheres", x, b, 1e3 / b.median_ns, "M spheres/s", "sphere");
      }

      const auto tree = build(spheres);
      const dp::Stats r = dp::measure(fmt::format("{}/{}/ray/n={}", ctx.result.lab, name, n), [&] {
        for (const Ray& ray : rays) benchmark::DoNotOptimize(tree->closest_hit(ray));
      }, config).per(double(rays.size()));
      ctx.result.add_point(name + " ray", "spheres", x, r, 1e3 / r.median_ns, "M rays/s", "ray");

      std::vector<std::uint32_t> hits;
      hits.reserve(1024);
      const dp::Stats q = dp::measure(fmt::format("{}/{}/box/n={}", ctx.result.lab, name, n), [&] {
        for (const Aabb& box : boxes) {
          hits.clear();
          tree->overlapping(box, hits);
          benchmark::DoNotOptimize(hits.data());
        }
      }, config).per(double(boxes.size()));
      ctx.result.add_point(name + " box", "spheres", x, q, 1e3 / q.median_ns, "M queries/s", "query");

      Bytes by{name, double(tree->bytes()) / x, double(tree->bytes()) / x, tree->node_count()};
      if constexpr (requires { tree->heap_bytes(); }) by.heap_per_sphere = double(tree->heap_bytes()) / x;
      bytes.push_back(by);
    });
  }

  // 3. Plots, headlines, notes.
  const std::vector<std::string> names = {"pointer nodes", kAged, "flat array", "flat, Morton order"};
  auto series = [&](const std::string& suffix) {
    std::vector<std::string> v;
    for (const std::string& n : names)
      if (suffix != " build" || n != kAged) v.push_back(n + suffix);
    return v;
  };
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "ray", .title = "The nearest sphere along a ray", .xlabel = "spheres (n)", .ylabel = "ns per ray",
      .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = series(" ray"), .markers = {}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "box", .title = "The spheres overlapping a small box", .xlabel = "spheres (n)", .ylabel = "ns per query",
      .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = series(" box"), .markers = {}});
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "build", .title = "Build the BVH", .xlabel = "spheres (n)", .ylabel = "ns per sphere",
      .y = dp::PlotSpec::Y::time, .logx = true, .logy = false, .variants = series(" build"), .markers = {}});

  const auto x = static_cast<double>(largest);
  for (const auto& [label, suffix] : {std::pair{"ns per ray", " ray"}, std::pair{"ns per box query", " box"},
                                      std::pair{"ns per sphere to build", " build"}}) {
    std::string line;
    for (const std::string& n : names)
      if (const dp::Point* p = ctx.result.point_at(n + suffix, x))
        line += fmt::format("{}{} {:.1f}", line.empty() ? "" : ", ", n, p->median_ns);
    ctx.result.headlines.push_back({fmt::format("{}, n={}", label, largest), line});
  }
  std::string line;
  for (const Bytes& b : bytes)
    if (b.variant != kAged) line += fmt::format("{}{} {:.1f}", line.empty() ? "" : ", ", b.variant, b.heap_per_sphere);
  ctx.result.headlines.push_back({fmt::format("bytes per sphere (on glibc's heap), n={}", largest), line});
  for (const Bytes& b : bytes)
    if (b.variant != kAged) ctx.result.notes.push_back(fmt::format("{} at n={}: {} nodes, {:.1f} bytes per sphere asked{}.", b.variant, largest, b.nodes,
                                           b.per_sphere,
                                           b.heap_per_sphere != b.per_sphere
                                               ? fmt::format(", {:.1f} on glibc's heap (one block per node)", b.heap_per_sphere)
                                               : std::string()));
  ctx.result.notes.push_back(fmt::format(
      "Nodes: pointer {} bytes (box, two pointers, first, count), flat {} bytes (box, one index, count). The Morton "
      "variant's bytes include its sorted copy of the scene (16 bytes a sphere) and the map back to scene indices. "
      "Leaf size {}; {} rays and {} boxes per timed batch.",
      sizeof(PointerBvh::Node), sizeof(FlatBvh::Node), leaf_size, query_count, query_count));
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "trees-as-arrays",
             .title = "Trees as arrays: pointer nodes, a flat array with indices, Morton order",
             .module = 1,
             .level = 3,
             .tracks = {"cg"},
             .question = "What does a tree of heap nodes linked by pointers cost against the same tree in one array "
                         "with indices, and against that array with its data in Z-order: to build, in bytes, and per "
                         "ray or box query?",
             .guide_page = "m1/trees-as-arrays.md",
             .source = "src/labs/m1/trees_as_arrays.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-spheres", "largest scene; n = 1e4, 3e4, 1e5, ... up to this", 1'000'000,
                                      100'000, 10'000, 20'000'000),
               dp::ParamSpec::integer("queries", "rays, and boxes, per timed batch", 4096, 1024, 64, 1'000'000),
               dp::ParamSpec::integer("leaf-size", "spheres per leaf at most", 4, 4, 1, 64)},
    .run = run,
    // Spheres (16 B), the largest tree alive with its build's copy (Morton: about 60 B a sphere).
    .memory_need = [](const dp::Params& p, const dp::MachineInfo&, bool) {
      const auto n = static_cast<std::uint64_t>(p.integer("max-spheres"));
      return dp::MemoryNeed{n * 120, fmt::format("BVHs over {} spheres", n)};
    },
    .memory_param = "max-spheres",
});
