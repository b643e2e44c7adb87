// bvh.hpp — a bounding volume hierarchy (BVH) over spheres, as one flat array of nodes.
//
// A BVH is a binary tree of boxes: each node's axis-aligned box holds everything below it, and a
// leaf lists a few primitives (here spheres). A query (a ray, or a box) descends only into the
// nodes whose box it touches, so it tests a handful of spheres instead of all of them.
//
// The tree is built top-down: split a node's spheres in two halves at the median of their centres
// along the axis where the centres spread widest, and recurse until at most `leaf_size` remain.
// The nodes live in one std::vector in depth-first order: a node's left child is the next node,
// so an inner node stores only its right child's index. Leaves point into an array of sphere
// indices; the spheres themselves stay where the caller keeps them (the scene).
//
// Index
//   Vec3, Aabb, Sphere, Ray, Hit    the geometry; box_of(sphere), hit_sphere(ray, sphere)
//   median_split                    the build's one step, shared with the pointer tree of the
//                                   trees-as-arrays lab (so both build the same tree)
//   morton_order                    a permutation putting spheres in Z-order of their centres
//   FlatBvh                         build, overlapping(box), closest_hit(ray), bytes()
//   brute_force_overlapping / _closest_hit   the references: every sphere
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <span>
#include <stdexcept>
#include <vector>

namespace dp::bvh {

// ---------------------------------------------------------------------------------------------
// Geometry
// ---------------------------------------------------------------------------------------------

struct Vec3 {
  float x = 0, y = 0, z = 0;
  float operator[](int a) const { return a == 0 ? x : a == 1 ? y : z; }
};
inline Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator*(float s, Vec3 a) { return {s * a.x, s * a.y, s * a.z}; }
inline float dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 min(Vec3 a, Vec3 b) { return {std::min(a.x, b.x), std::min(a.y, b.y), std::min(a.z, b.z)}; }
inline Vec3 max(Vec3 a, Vec3 b) { return {std::max(a.x, b.x), std::max(a.y, b.y), std::max(a.z, b.z)}; }

struct Aabb {  // an axis-aligned box; the default one is empty (grows from nothing)
  Vec3 lo{std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity(),
          std::numeric_limits<float>::infinity()};
  Vec3 hi{-std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity()};
  void grow(const Aabb& b) { lo = min(lo, b.lo), hi = max(hi, b.hi); }
  bool overlaps(const Aabb& b) const {  // touching counts
    return lo.x <= b.hi.x && b.lo.x <= hi.x && lo.y <= b.hi.y && b.lo.y <= hi.y && lo.z <= b.hi.z && b.lo.z <= hi.z;
  }
};

struct Sphere {
  Vec3 centre;
  float radius = 0;
};
inline Aabb box_of(const Sphere& s) {
  const Vec3 r{s.radius, s.radius, s.radius};
  return {s.centre - r, s.centre + r};
}

struct Ray {
  Vec3 origin, dir;  // dir need not be normalised; t is measured in units of |dir|
};

inline constexpr float kNoHit = std::numeric_limits<float>::infinity();  // t of a ray that hits nothing

struct Hit {
  float t = std::numeric_limits<float>::infinity();  // along the ray; infinity: no hit
  std::uint32_t index = std::numeric_limits<std::uint32_t>::max();  // the sphere hit
};

// The nearest t > 0 where the ray enters (or, from inside, leaves) the sphere; infinity if none.
// Solves |o + t d - c|^2 = r^2. Every variant calls this one function, so equal inputs give
// bitwise-equal t, and the checks can compare hits exactly.
inline float hit_sphere(const Ray& ray, const Sphere& s) {
  const Vec3 oc = ray.origin - s.centre;
  const float a = dot(ray.dir, ray.dir);
  const float half_b = dot(oc, ray.dir);
  const float c = dot(oc, oc) - s.radius * s.radius;
  const float disc = half_b * half_b - a * c;
  if (disc < 0) return std::numeric_limits<float>::infinity();
  const float root = std::sqrt(disc);
  float t = (-half_b - root) / a;
  if (t <= 0) t = (-half_b + root) / a;
  return t > 0 ? t : std::numeric_limits<float>::infinity();
}

// Where the ray enters `box`, if it does so before `t_max`; kNoHit if not. The slab test:
// intersect the three intervals of t where the ray is between each pair of planes, starting from
// [0, t_max]. inv_dir = 1 / dir per axis (inf where dir is 0). An origin inside the box enters at 0.
inline float box_entry(const Aabb& box, const Vec3& origin, const Vec3& inv_dir, float t_max) {
  float t0 = 0, t1 = t_max;
  for (int a = 0; a < 3; ++a) {
    float near = (box.lo[a] - origin[a]) * inv_dir[a];
    float far = (box.hi[a] - origin[a]) * inv_dir[a];
    if (near > far) std::swap(near, far);
    t0 = near > t0 ? near : t0;  // written so that a NaN (0 * inf) leaves t0, t1 unchanged
    t1 = far < t1 ? far : t1;
  }
  return t0 <= t1 ? t0 : kNoHit;
}
inline Vec3 inverse(const Vec3& d) { return {1.0f / d.x, 1.0f / d.y, 1.0f / d.z}; }

// ---------------------------------------------------------------------------------------------
// The references
// ---------------------------------------------------------------------------------------------

// Every sphere whose bounding box overlaps `box`, in increasing index order.
inline void brute_force_overlapping(std::span<const Sphere> spheres, const Aabb& box, std::vector<std::uint32_t>& hits) {
  for (std::size_t i = 0; i < spheres.size(); ++i)
    if (box_of(spheres[i]).overlaps(box)) hits.push_back(static_cast<std::uint32_t>(i));
}

// The nearest sphere along the ray (the lowest index among equal t).
inline Hit brute_force_closest_hit(std::span<const Sphere> spheres, const Ray& ray) {
  Hit best;
  for (std::size_t i = 0; i < spheres.size(); ++i) {
    const float t = hit_sphere(ray, spheres[i]);
    if (t < best.t) best = {t, static_cast<std::uint32_t>(i)};
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// The build step, and Z-order
// ---------------------------------------------------------------------------------------------

struct Split {
  Aabb box;                // of every sphere in the range
  std::uint32_t mid = 0;   // the right half starts here; 0 for a leaf
};

// For the spheres order[first, last): their box, and, when there are more than leaf_size, the
// median split: order[] partially sorted so that [first, mid) have centres no further along the
// widest axis than [mid, last). Deterministic: the same input gives the same tree.
inline Split median_split(std::span<const Sphere> spheres, std::span<std::uint32_t> order, std::uint32_t first,
                          std::uint32_t last, std::uint32_t leaf_size) {
  Split s;
  Aabb centres;
  for (std::uint32_t i = first; i < last; ++i) {
    const Sphere& sp = spheres[order[i]];
    s.box.grow(box_of(sp));
    centres.grow({sp.centre, sp.centre});
  }
  if (last - first <= leaf_size) return s;
  int axis = 0;
  for (int a = 1; a < 3; ++a)
    if (centres.hi[a] - centres.lo[a] > centres.hi[axis] - centres.lo[axis]) axis = a;
  s.mid = first + (last - first) / 2;
  std::nth_element(order.begin() + first, order.begin() + s.mid, order.begin() + last,
                   [&](std::uint32_t x, std::uint32_t y) {
                     const float cx = spheres[x].centre[axis], cy = spheres[y].centre[axis];
                     return cx < cy || (cx == cy && x < y);  // ties by index: one tree, whatever the order
                   });
  return s;
}

// 10 bits of x, spread out to every third bit (bit i moves to bit 3i).
inline std::uint32_t spread_bits(std::uint32_t x) {
  x &= 0x3ff;
  x = (x | (x << 16)) & 0x030000FF;
  x = (x | (x << 8)) & 0x0300F00F;
  x = (x | (x << 4)) & 0x030C30C3;
  x = (x | (x << 2)) & 0x09249249;
  return x;
}

// The order that sorts the spheres by the Morton (Z-order) code of their centres: quantise each
// coordinate to 10 bits within the centres' box, interleave the bits (x, y, z, x, y, z, ...).
// Spheres close in space get close codes, so they end up close in memory.
inline std::vector<std::uint32_t> morton_order(std::span<const Sphere> spheres) {
  Aabb centres;
  for (const Sphere& s : spheres) centres.grow({s.centre, s.centre});
  std::vector<std::pair<std::uint32_t, std::uint32_t>> keyed(spheres.size());  // (code, index)
  for (std::size_t i = 0; i < spheres.size(); ++i) {
    std::uint32_t code = 0;
    for (int a = 0; a < 3; ++a) {
      const float extent = centres.hi[a] - centres.lo[a];
      const float unit = extent > 0 ? (spheres[i].centre[a] - centres.lo[a]) / extent : 0.0f;
      const auto q = static_cast<std::uint32_t>(std::clamp(unit * 1024.0f, 0.0f, 1023.0f));
      code |= spread_bits(q) << (2 - a);
    }
    keyed[i] = {code, static_cast<std::uint32_t>(i)};
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::uint32_t> order(spheres.size());
  for (std::size_t i = 0; i < keyed.size(); ++i) order[i] = keyed[i].second;
  return order;
}

// ---------------------------------------------------------------------------------------------
// The flat BVH
// ---------------------------------------------------------------------------------------------

class FlatBvh {
 public:
  // 32 bytes, two to a cache line. Inner node: its left child is the next node, `right_or_first`
  // the right child. Leaf (count > 0): its spheres are order_[right_or_first, +count).
  struct Node {
    Aabb box;
    std::uint32_t right_or_first = 0;
    std::uint32_t count = 0;
  };

  // Builds over `spheres`, which must outlive the tree (it keeps a span, not a copy).
  explicit FlatBvh(std::span<const Sphere> spheres, std::uint32_t leaf_size = 4) : spheres_(spheres) {
    if (leaf_size == 0) throw std::invalid_argument("FlatBvh: leaf_size must be at least 1");
    if (spheres.size() >= std::numeric_limits<std::uint32_t>::max())
      throw std::invalid_argument("FlatBvh: more spheres than 32-bit indices can number");
    order_.resize(spheres.size());
    std::iota(order_.begin(), order_.end(), 0u);
    nodes_.reserve(2 * spheres.size() / leaf_size + 1);
    if (!spheres.empty()) build(0, static_cast<std::uint32_t>(spheres.size()), leaf_size);
  }

  // Appends to `hits` every sphere whose bounding box overlaps `box` (in tree order).
  void overlapping(const Aabb& box, std::vector<std::uint32_t>& hits) const {
    if (nodes_.empty()) return;
    std::uint32_t stack[64];
    int top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const std::uint32_t i = stack[--top];
      const Node& n = nodes_[i];
      if (!n.box.overlaps(box)) continue;
      if (n.count > 0) {
        for (std::uint32_t j = n.right_or_first; j < n.right_or_first + n.count; ++j)
          if (box_of(spheres_[order_[j]]).overlaps(box)) hits.push_back(order_[j]);
      } else {
        stack[top++] = n.right_or_first;
        stack[top++] = i + 1;
      }
    }
  }

  // The nearest sphere the ray hits (lowest index among equal t), or Hit{} if none. Children are
  // visited nearest entry first: a hit there shrinks best.t, and the farther child, entered
  // beyond it, is then skipped without being opened.
  Hit closest_hit(const Ray& ray) const {
    Hit best;
    if (nodes_.empty()) return best;
    const Vec3 inv = inverse(ray.dir);
    struct Entry {
      std::uint32_t node;
      float t;  // where the ray enters its box
    } stack[64];
    int top = 0;
    const float t_root = box_entry(nodes_[0].box, ray.origin, inv, kNoHit);
    if (t_root == kNoHit) return best;
    stack[top++] = {0, t_root};
    while (top > 0) {
      const Entry e = stack[--top];
      if (e.t > best.t) continue;  // a nearer hit was found since it was pushed
      const Node& n = nodes_[e.node];
      if (n.count > 0) {
        for (std::uint32_t j = n.right_or_first; j < n.right_or_first + n.count; ++j) {
          const float t = hit_sphere(ray, spheres_[order_[j]]);
          if (t < best.t || (t == best.t && t < kNoHit && order_[j] < best.index)) best = {t, order_[j]};
        }
        continue;
      }
      Entry near{e.node + 1, box_entry(nodes_[e.node + 1].box, ray.origin, inv, best.t)};
      Entry far{n.right_or_first, box_entry(nodes_[n.right_or_first].box, ray.origin, inv, best.t)};
      if (far.t < near.t) std::swap(near, far);
      if (far.t < kNoHit) stack[top++] = far;
      if (near.t < kNoHit) stack[top++] = near;
    }
    return best;
  }

  std::size_t node_count() const { return nodes_.size(); }
  std::size_t bytes() const { return nodes_.size() * sizeof(Node) + order_.size() * sizeof(std::uint32_t); }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<std::uint32_t>& order() const { return order_; }

 private:
  std::uint32_t build(std::uint32_t first, std::uint32_t last, std::uint32_t leaf_size) {
    const auto me = static_cast<std::uint32_t>(nodes_.size());
    const Split s = median_split(spheres_, order_, first, last, leaf_size);
    nodes_.push_back({s.box, first, s.mid == 0 ? last - first : 0});
    if (s.mid == 0) return me;
    build(first, s.mid, leaf_size);
    nodes_[me].right_or_first = build(s.mid, last, leaf_size);
    return me;
  }

  std::span<const Sphere> spheres_;
  std::vector<Node> nodes_;           // depth-first: node 0 is the root
  std::vector<std::uint32_t> order_;  // leaf ranges index this; it indexes spheres_
};

}  // namespace dp::bvh
