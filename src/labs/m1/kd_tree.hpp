// kd_tree.hpp — k nearest neighbours among 3-D points: a k-d tree and a uniform grid, both as flat
// arrays with indices (no pointers), and the brute-force scan they are checked against.
//
// A k-d tree splits space in two along one coordinate, then splits each half again,
// until a cell holds at most `leaf_size` points. A query walks down to the cell holding it, then
// visits the other side of a split only if the ball of the k best distances so far crosses it.
// A uniform grid cuts the bounding box into equal cubes; a query looks at the cubes around its own
// in growing shells until no unseen cube can hold anything nearer.
//
// Both store their points reordered, so that a leaf's (or a cell's) points are contiguous in
// memory, and keep each point's original index beside it (IndexedPoint): a query reads one run of memory, not
// points scattered over the input array.
//
// Index
//   Point3, Neighbour     a point (3 floats); a result (squared distance, index into the input)
//   KnnList               the k best so far, sorted, in a fixed-size buffer
//   brute_force_knn       the reference: every point, every query
//   KdTree                flat 16-byte nodes in depth-first order: the left child is the next node
//   UniformGrid           cells of about `points_per_cell` points, sorted by cell (CSR arrays)
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

namespace dp::spatial {

// ---------------------------------------------------------------------------------------------
// Points and results
// ---------------------------------------------------------------------------------------------

struct Point3 {
  std::array<float, 3> c;  // x, y, z
  float operator[](int axis) const { return c[static_cast<std::size_t>(axis)]; }
};

// Squared distance in float, always summed x, y, z in that order: every variant computes the same
// float for the same pair of points, so the same point is never nearer in one variant than in another.
inline float distance2(const Point3& a, const Point3& b) {
  const float dx = a.c[0] - b.c[0], dy = a.c[1] - b.c[1], dz = a.c[2] - b.c[2];
  return dx * dx + dy * dy + dz * dz;
}

// A point and where it was in the input: what the k-d tree's leaves and the grid's cells hold
// (16 bytes, four to a cache line).
struct IndexedPoint {
  Point3 p;
  std::uint32_t index;
};

struct Neighbour {
  float distance2 = std::numeric_limits<float>::infinity();
  std::uint32_t index = 0;  // into the points the structure was built from
};

// The k best neighbours so far, nearest first, in a caller's buffer of k entries. Before k are
// found, worst() is infinity, so nothing is pruned. Equal distances keep the one found first.
class KnnList {
 public:
  explicit KnnList(std::span<Neighbour> out) : best_(out) {
    for (Neighbour& n : best_) n = Neighbour{};
  }
  float worst() const { return best_.back().distance2; }
  void offer(float d2, std::uint32_t index) {
    if (!(d2 < worst())) return;
    std::size_t i = best_.size() - 1;  // insertion sort from the end: k is small
    while (i > 0 && best_[i - 1].distance2 > d2) {
      best_[i] = best_[i - 1];
      --i;
    }
    best_[i] = {d2, index};
  }

 private:
  std::span<Neighbour> best_;
};

// The reference: compare the query with every point. O(n) per query, nothing to build.
inline void brute_force_knn(std::span<const Point3> points, const Point3& query, std::span<Neighbour> out) {
  KnnList best(out);
  for (std::size_t i = 0; i < points.size(); ++i) best.offer(distance2(query, points[i]), static_cast<std::uint32_t>(i));
}

// ---------------------------------------------------------------------------------------------
// The k-d tree
// ---------------------------------------------------------------------------------------------

class KdTree {
 public:
  // Builds over `points` (copied and reordered; the input may go away). leaf_size >= 1.
  explicit KdTree(std::span<const Point3> points, std::uint32_t leaf_size = 8) : leaf_size_(leaf_size) {
    if (leaf_size == 0) throw std::invalid_argument("KdTree: leaf_size must be at least 1");
    if (leaf_size > std::numeric_limits<std::uint16_t>::max())
      throw std::invalid_argument("KdTree: leaf_size must fit in 16 bits (at most 65535)");
    if (points.size() >= std::numeric_limits<std::uint32_t>::max())
      throw std::invalid_argument("KdTree: more points than 32-bit indices can number");
    points_.resize(points.size());
    for (std::size_t i = 0; i < points.size(); ++i) points_[i] = {points[i], static_cast<std::uint32_t>(i)};
    nodes_.reserve(2 * points.size() / leaf_size + 1);
    if (!points.empty()) {
      std::array<float, 3> lo, hi;
      lo.fill(std::numeric_limits<float>::infinity());
      hi.fill(-std::numeric_limits<float>::infinity());
      for (const Point3& p : points)
        for (int a = 0; a < 3; ++a) {
          lo[a] = std::min(lo[a], p[a]);
          hi[a] = std::max(hi[a], p[a]);
        }
      build(0, static_cast<std::uint32_t>(points.size()), lo, hi);
    }
  }

  // The min(k, size) nearest points to `query`, nearest first, into out[0..k) (k = out.size();
  // entries beyond size() stay at infinity).
  void knn(const Point3& query, std::span<Neighbour> out) const {
    KnnList best(out);
    if (nodes_.empty() || out.empty()) return;
    std::array<float, 3> offset = {0, 0, 0};
    search(0, query, 0.0f, offset, best);
  }

  std::size_t size() const { return points_.size(); }
  std::size_t node_count() const { return nodes_.size(); }
  std::size_t bytes() const {  // nodes + reordered points + their original indices
    return nodes_.size() * sizeof(Node) + points_.size() * sizeof(IndexedPoint);
  }

 private:
  // 16 bytes, four to a cache line. An inner node's left child is the next node (depth-first
  // order), so it stores only its right child. It keeps where its two halves actually end along
  // its axis, not just one splitting plane: between clusters of points that gap is wide, and the
  // search's bound uses it (as nanoflann's divlow/divhigh). A leaf stores where its points start
  // and how many there are (count > 0).
  struct Node {
    float left_max = 0;          // inner: the largest coordinate along `axis` in the left half
    float right_min = 0;         //        the smallest in the right half (left_max <= right_min)
    std::uint32_t right_or_first = 0;
    std::uint16_t axis = 0;      // inner: 0, 1, 2
    std::uint16_t count = 0;     // leaf: its points are points_[first, first + count); 0: inner
  };

  // Builds the subtree over points_[begin, end) and returns its node's index.
  static constexpr int kMaxMidpointDepth = 40;

  // Builds the subtree over points_[begin, end), whose cell is the box cell_lo..cell_hi (the
  // root's: the points' bounding box), and returns its node's index.
  std::uint32_t build(std::uint32_t begin, std::uint32_t end, std::array<float, 3> cell_lo, std::array<float, 3> cell_hi,
                      int depth = 0) {
    const auto me = static_cast<std::uint32_t>(nodes_.size());
    nodes_.emplace_back();
    if (end - begin <= leaf_size_) {
      nodes_[me].right_or_first = begin;
      nodes_[me].count = static_cast<std::uint16_t>(end - begin);
      return me;
    }
    // Cut the cell's longest side in the middle (a "midpoint split", as nanoflann's), moved to
    // the nearest point where the middle holds none ("sliding midpoint"): cells stay about
    // cube-shaped, and where points cluster the cut falls in the empty space between clusters,
    // not through one, however few points end up on one side. Only below depth
    // kMaxMidpointDepth (points spaced like 1, 2, 4, 8, ... would peel off one point per level)
    // is at least a quarter of the points kept on each side, which bounds the depth.
    int axis = 0;
    for (int a = 1; a < 3; ++a)
      if (cell_hi[a] - cell_lo[a] > cell_hi[axis] - cell_lo[axis]) axis = a;
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (std::uint32_t i = begin; i < end; ++i) {
      lo = std::min(lo, points_[i].p[axis]);
      hi = std::max(hi, points_[i].p[axis]);
    }
    const auto first = points_.begin();
    const auto below = [axis](const IndexedPoint& x, const IndexedPoint& y) { return x.p[axis] < y.p[axis]; };
    const float cut = std::clamp(cell_lo[axis] + (cell_hi[axis] - cell_lo[axis]) / 2, lo, hi);
    // Points below the cut go left; if none are (the cut slid onto the lowest point), the points
    // at the cut go left instead.
    auto mid = static_cast<std::uint32_t>(
        std::partition(first + begin, first + end, [&](const IndexedPoint& x) { return x.p[axis] < cut; }) - first);
    if (mid == begin)
      mid = static_cast<std::uint32_t>(
          std::partition(first + begin, first + end, [&](const IndexedPoint& x) { return x.p[axis] <= cut; }) - first);
    const std::uint32_t quarter = depth < kMaxMidpointDepth ? 1 : std::max<std::uint32_t>(1, (end - begin) / 4);
    if (mid < begin + quarter || mid > end - quarter) {
      mid = std::clamp(mid, begin + quarter, end - quarter);
      std::nth_element(first + begin, first + mid, first + end, below);
    }
    // Where the halves really end: points_[begin, mid) on the left, points_[mid, end) on the right.
    float left_max = -std::numeric_limits<float>::infinity(), right_min = std::numeric_limits<float>::infinity();
    for (std::uint32_t i = begin; i < mid; ++i) left_max = std::max(left_max, points_[i].p[axis]);
    for (std::uint32_t i = mid; i < end; ++i) right_min = std::min(right_min, points_[i].p[axis]);
    nodes_[me].left_max = left_max;
    nodes_[me].right_min = right_min;
    nodes_[me].axis = static_cast<std::uint16_t>(axis);
    std::array<float, 3> left_hi = cell_hi, right_lo = cell_lo;
    left_hi[axis] = left_max;
    right_lo[axis] = right_min;
    build(begin, mid, cell_lo, left_hi, depth + 1);
    const std::uint32_t right = build(mid, end, right_lo, cell_hi, depth + 1);
    nodes_[me].right_or_first = right;
    return me;
  }

  // `cell2` is a lower bound on the squared distance from the query to any point under `node`:
  // the sum of offset[a]^2, where offset[a] is how far the query lies outside the node's extent
  // along axis a (0 inside). Crossing to the far half changes one axis's offset, so the bound is
  // updated, not recomputed (Arya and Mount's incremental distance, as in nanoflann).
  void search(std::uint32_t node, const Point3& q, float cell2, std::array<float, 3>& offset, KnnList& best) const {
    const Node& n = nodes_[node];
    if (n.count > 0) {
      const std::uint32_t end = n.right_or_first + n.count;
      for (std::uint32_t i = n.right_or_first; i < end; ++i) best.offer(distance2(q, points_[i].p), points_[i].index);
      return;
    }
    const float x = q[n.axis];
    const bool left_is_near = x - n.left_max < n.right_min - x;  // the nearer half first
    // How far the query is from the far half along the axis (>= 0: the near half lies between).
    const float gap = left_is_near ? n.right_min - x : x - n.left_max;
    search(left_is_near ? node + 1 : n.right_or_first, q, cell2, offset, best);
    const float old = offset[n.axis];
    const float far2 = cell2 - old * old + gap * gap;
    // far2 is rounded, and a few roundings could make it exceed a point's distance that it bounds
    // in exact arithmetic: shrink it by more than that before comparing, so no nearer point is lost.
    if (far2 * (1 - 1e-5f) <= best.worst()) {
      offset[n.axis] = gap;
      search(left_is_near ? n.right_or_first : node + 1, q, far2, offset, best);
      offset[n.axis] = old;
    }
  }

  std::uint32_t leaf_size_;
  std::vector<Node> nodes_;             // depth-first: node 0 is the root
  std::vector<IndexedPoint> points_;    // reordered: each leaf's points are contiguous
};

// ---------------------------------------------------------------------------------------------
// The uniform grid
// ---------------------------------------------------------------------------------------------

class UniformGrid {
 public:
  // Cubic cells over the points' bounding box, about `points_per_cell` points each on average.
  explicit UniformGrid(std::span<const Point3> points, double points_per_cell = 2.0) {
    if (!(points_per_cell > 0)) throw std::invalid_argument("UniformGrid: points_per_cell must be positive");
    if (points.empty()) return;
    lo_.fill(std::numeric_limits<float>::infinity());
    std::array<float, 3> hi;
    hi.fill(-std::numeric_limits<float>::infinity());
    for (const Point3& p : points)
      for (int a = 0; a < 3; ++a) {
        lo_[a] = std::min(lo_[a], p[a]);
        hi[a] = std::max(hi[a], p[a]);
      }
    // Cell side s so that volume / s^3 = n / points_per_cell (the box made at least a little thick).
    double volume = 1;
    float longest = 0;
    for (int a = 0; a < 3; ++a) longest = std::max(longest, hi[a] - lo_[a]);
    const double thin = std::max(1e-6, static_cast<double>(longest) * 1e-3);
    for (int a = 0; a < 3; ++a) volume *= std::max(static_cast<double>(hi[a] - lo_[a]), thin);
    const double cells_wanted = std::max(1.0, static_cast<double>(points.size()) / points_per_cell);
    cell_ = static_cast<float>(std::cbrt(volume / cells_wanted));
    for (int a = 0; a < 3; ++a)
      res_[a] = std::clamp(static_cast<int>(std::ceil((hi[a] - lo_[a]) / cell_)), 1, 1024);
    inv_cell_ = 1.0f / cell_;

    // Counting sort of the points by cell: cell_start_ is the CSR offsets array.
    const std::size_t cells = static_cast<std::size_t>(res_[0]) * res_[1] * res_[2];
    cell_start_.assign(cells + 1, 0);
    std::vector<std::uint32_t> cell_of(points.size());
    for (std::size_t i = 0; i < points.size(); ++i) {
      cell_of[i] = cell_index(cell_coords(points[i]));
      ++cell_start_[cell_of[i] + 1];
    }
    std::partial_sum(cell_start_.begin(), cell_start_.end(), cell_start_.begin());
    std::vector<std::uint32_t> next(cell_start_.begin(), cell_start_.end() - 1);
    points_.resize(points.size());
    for (std::size_t i = 0; i < points.size(); ++i) points_[next[cell_of[i]]++] = {points[i], static_cast<std::uint32_t>(i)};
  }

  void knn(const Point3& q, std::span<Neighbour> out) const {
    KnnList best(out);
    if (points_.empty() || out.empty()) return;
    const std::array<int, 3> c = cell_coords(q);
    for (int r = 0;; ++r) {
      // Shell r: the cells whose Chebyshev distance from c is exactly r.
      std::array<int, 3> from, to;
      for (int a = 0; a < 3; ++a) {
        from[a] = std::max(c[a] - r, 0);
        to[a] = std::min(c[a] + r, res_[a] - 1);
      }
      for (int z = from[2]; z <= to[2]; ++z)
        for (int y = from[1]; y <= to[1]; ++y)
          for (int x = from[0]; x <= to[0]; ++x) {
            const int ring = std::max({std::abs(x - c[0]), std::abs(y - c[1]), std::abs(z - c[2])});
            if (ring != r) continue;
            const std::uint32_t cell = cell_index({x, y, z});
            for (std::uint32_t i = cell_start_[cell]; i < cell_start_[cell + 1]; ++i)
              best.offer(distance2(q, points_[i].p), points_[i].index);
          }
      // Every unvisited cell lies outside the block c-r..c+r. The nearest such point is at least
      // as far as the block's nearest face, counting only faces with cells beyond them.
      float gap = std::numeric_limits<float>::infinity();
      for (int a = 0; a < 3; ++a) {
        if (c[a] - r > 0) gap = std::min(gap, q[a] - (lo_[a] + static_cast<float>(c[a] - r) * cell_));
        if (c[a] + r < res_[a] - 1) gap = std::min(gap, lo_[a] + static_cast<float>(c[a] + r + 1) * cell_ - q[a]);
      }
      if (gap == std::numeric_limits<float>::infinity()) return;  // the block is the whole grid
      // A margin of a few float roundings: the face positions above are rounded, and a point
      // exactly as far as the k-th best (a tie) must not be missed because of it.
      if (gap > 0 && gap * gap * (1 - 1e-5f) > best.worst()) return;
    }
  }

  std::size_t size() const { return points_.size(); }
  std::size_t cell_count() const { return cell_start_.empty() ? 0 : cell_start_.size() - 1; }
  std::size_t bytes() const {
    return cell_start_.size() * sizeof(std::uint32_t) + points_.size() * sizeof(IndexedPoint);
  }

 private:
  std::array<int, 3> cell_coords(const Point3& p) const {  // clamped into the grid
    std::array<int, 3> c;
    for (int a = 0; a < 3; ++a)
      c[a] = std::clamp(static_cast<int>(std::floor((p[a] - lo_[a]) * inv_cell_)), 0, res_[a] - 1);
    return c;
  }
  std::uint32_t cell_index(const std::array<int, 3>& c) const {
    return static_cast<std::uint32_t>((c[2] * res_[1] + c[1]) * res_[0] + c[0]);
  }

  std::array<float, 3> lo_ = {0, 0, 0};  // the bounding box's lower corner
  float cell_ = 1, inv_cell_ = 1;        // a cell's side, and 1 / side
  std::array<int, 3> res_ = {1, 1, 1};   // cells along x, y, z
  std::vector<std::uint32_t> cell_start_;  // cell i's points are points_[cell_start_[i], cell_start_[i+1])
  std::vector<IndexedPoint> points_;       // sorted by cell
};

}  // namespace dp::spatial
