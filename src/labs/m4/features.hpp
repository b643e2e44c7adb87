// features.hpp — the features lab's kernels (src/labs/m4/features.cpp runs them): Harris corners
// and a Gaussian pyramid on grey float images (dp::image::Image<float>, 1 channel).
//
// Harris, as OpenCV's cornerHarris computes it for a float image with a 3 x 3 Sobel aperture:
//   Ix, Iy   the Sobel gradients times s = 1 / (4 B) (OpenCV's scale; B the block size)
//   a, b, c  the sums of Ix^2, Ix Iy, Iy^2 over the B x B block around the pixel
//   R        a c - b^2 - k (a + c)^2          (det - k trace^2 of the structure tensor)
// with one border rule everywhere, replicate (BORDER_REPLICATE): gradients read clamped pixels,
// and the block sums read the product images at clamped coordinates. R is large and positive at
// a corner (both eigenvalues large), negative along an edge, near zero on flat ground.
//
// Index
//   require_grey()      a clear error for an image this file cannot take
//   harris_reference()  R in double precision, straight from the definition (the check)
//   harris_scalar()     the first version: gradient images, then B^2 products summed per pixel
//   HarrisRows          one row at a time, fused: gradients -> products -> a ring of B product
//                       rows -> vertical sums -> horizontal sums -> R, explicit SIMD (GCC vectors),
//                       rows [y0, y1) only, so that threads can take bands (one per thread)
//   Corner, detect()    3 x 3 non-maximum suppression, threshold relative to the largest R, top N
//   matched()           how many corners of one set have a corner of another within 1 pixel
//   pyramid_reference() one pyramid step in double: 5-tap blur [1 4 6 4 1] / 16, keep even pixels
//   pyr_down()          the same step in float, one output row at a time (auto-vectorized)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/portability.hpp"
#include "labs/m4/image_filters.hpp"  // clamp_index, Image
#include "labs/m4/image_io.hpp"
#include "tensor/simd.hpp"

namespace dp::features {

using dp::filters::clamp_index;
using dp::image::Image;

inline constexpr int kMaxBlock = 31;

// ---------------------------------------------------------------------------------------------
// Input rules
// ---------------------------------------------------------------------------------------------

inline void require_grey(const Image<float>& in, const char* what) {
  if (in.channels != 1)
    throw dp::Error(fmt::format("{} takes a grey image (1 channel); this one has {} channels: convert it to grey first", what, in.channels));
  if (in.width < 1 || in.height < 1)
    throw dp::Error(fmt::format("{} needs at least one pixel; this image is {} x {}", what, in.width, in.height));
  if (in.data.size() != in.pixels())
    throw dp::Error(fmt::format("{}: a {} x {} image must hold {} values, this one holds {}", what, in.width, in.height, in.pixels(), in.data.size()));
}

inline void require_block(int block) {
  if (block < 1 || block % 2 == 0 || block > kMaxBlock)
    throw dp::Error(fmt::format("the Harris block size must be odd, from 1 to {}; {} is not", kMaxBlock, block));
}

// OpenCV's gradient scale for a float image, aperture 3: 1 / (2^(3-1) * B).
inline double gradient_scale(int block) { return 1.0 / (4.0 * block); }

// ---------------------------------------------------------------------------------------------
// Reference: double precision, the definition read literally
// ---------------------------------------------------------------------------------------------

inline std::vector<double> harris_reference(const Image<float>& in, int block, double k) {
  require_grey(in, "harris_reference");
  require_block(block);
  const int w = in.width, h = in.height, r = block / 2;
  const double s = gradient_scale(block);
  const std::size_t n = in.pixels();
  std::vector<double> xx(n), xy(n), yy(n), out(n);
  auto at = [&](int x, int y) { return static_cast<double>(in.row(clamp_index(y, h))[clamp_index(x, w)]); };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double gx = (at(x + 1, y - 1) - at(x - 1, y - 1)) + 2 * (at(x + 1, y) - at(x - 1, y)) + (at(x + 1, y + 1) - at(x - 1, y + 1));
      const double gy = (at(x - 1, y + 1) + 2 * at(x, y + 1) + at(x + 1, y + 1)) - (at(x - 1, y - 1) + 2 * at(x, y - 1) + at(x + 1, y - 1));
      const std::size_t i = static_cast<std::size_t>(y) * w + x;
      xx[i] = gx * s * gx * s, xy[i] = gx * s * gy * s, yy[i] = gy * s * gy * s;
    }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      double a = 0, b = 0, c = 0;
      for (int j = -r; j <= r; ++j)
        for (int i = -r; i <= r; ++i) {
          const std::size_t p = static_cast<std::size_t>(clamp_index(y + j, h)) * w + clamp_index(x + i, w);
          a += xx[p], b += xy[p], c += yy[p];
        }
      out[static_cast<std::size_t>(y) * w + x] = a * c - b * b - k * (a + c) * (a + c);
    }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Variant: scalar — whole-image passes, the way a first version is written
// ---------------------------------------------------------------------------------------------

// Pass 1: the two gradient images (scaled). Pass 2: for every pixel, the B x B block of products
// Ix^2, Ix Iy, Iy^2 (computed as they are read: 3 multiplies per block pixel), then R. Scalar on
// purpose (DP_NO_VECTORIZE). gx and gy are scratch images of the input's size.
DP_NO_VECTORIZE inline void harris_scalar(const Image<float>& in, Image<float>& out, int block, float k, Image<float>& gx, Image<float>& gy) {
  require_grey(in, "harris_scalar");
  require_block(block);
  const int w = in.width, h = in.height, r = block / 2;
  const float s = static_cast<float>(gradient_scale(block));
  for (int y = 0; y < h; ++y) {
    const float* up = in.row(clamp_index(y - 1, h));
    const float* mid = in.row(y);
    const float* down = in.row(clamp_index(y + 1, h));
    for (int x = 0; x < w; ++x) {
      const int l = clamp_index(x - 1, w), rt = clamp_index(x + 1, w);
      gx.row(y)[x] = ((up[rt] - up[l]) + 2 * (mid[rt] - mid[l]) + (down[rt] - down[l])) * s;
      gy.row(y)[x] = ((down[l] + 2 * down[x] + down[rt]) - (up[l] + 2 * up[x] + up[rt])) * s;
    }
  }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float a = 0, b = 0, c = 0;
      for (int j = -r; j <= r; ++j) {
        const float* px = gx.row(clamp_index(y + j, h));
        const float* py = gy.row(clamp_index(y + j, h));
        for (int i = -r; i <= r; ++i) {
          const int xi = clamp_index(x + i, w);
          a += px[xi] * px[xi], b += px[xi] * py[xi], c += py[xi] * py[xi];
        }
      }
      out.row(y)[x] = a * c - b * b - k * (a + c) * (a + c);
    }
}

// ---------------------------------------------------------------------------------------------
// Variant: fused rows, explicit SIMD
// ---------------------------------------------------------------------------------------------

namespace simd = dp::tensor::simd;
using simd::kLanes;
using simd::vfloat;

// One thread's state for harris rows: a ring of B rows of the three products (each row padded by
// r = B/2 replicated values on both sides, so the horizontal sums need no clamps) and the three
// vertical sums. Per output row y: the product rows y - r .. y + r (clamped) must be in the ring;
// moving to row y + 1 computes one new row (the ring slot of an image row j is j mod B, and the
// clamped rows of one window are at most B consecutive rows, so they never share a slot). Memory
// per thread: (B + 1) x 3 rows of floats, which stay in L1/L2; the image is read once per band.
//
//   HarrisRows rows(width, block);  ...  rows.run(in, out, y0, y1, k);   (one object per thread)
class HarrisRows {
 public:
  HarrisRows(int width, int block)
      : width_(width), block_(block), r_(block / 2), stride_(static_cast<std::size_t>(width + 2 * (block / 2) + kLanes)),
        ring_(static_cast<std::size_t>(block) * 3 * stride_), sums_(3 * stride_), slot_row_(static_cast<std::size_t>(block), -1) {
    require_block(block);
    if (width < 1) throw dp::Error(fmt::format("HarrisRows needs a width of at least 1, not {}", width));
  }

  void run(const Image<float>& in, Image<float>& out, int y0, int y1, float k) {
    if (in.width != width_) throw dp::Error(fmt::format("HarrisRows was made for width {}, the image is {} wide", width_, in.width));
    std::fill(slot_row_.begin(), slot_row_.end(), -1);  // the image may have changed since the last run
    const int h = in.height, r = r_;
    const std::size_t n = static_cast<std::size_t>(width_) + 2 * r;  // padded row length
    for (int y = y0; y < y1; ++y) {
      // Vertical sums of the B product rows around y (the padding comes along: it is per row).
      float* sa = sums_.data();
      float* sb = sa + stride_;
      float* sc = sb + stride_;
      std::fill_n(sa, 3 * stride_, 0.0f);
      for (int j = -r; j <= r; ++j) {
        const int row = clamp_index(y + j, h);
        const float* p = products(in, row);
        std::size_t v = 0;
        for (; v + kLanes <= n; v += kLanes)
          for (int q = 0; q < 3; ++q) {
            float* dst = sa + q * stride_ + v;
            simd::store(dst, simd::load(dst) + simd::load(p + q * stride_ + v));
          }
        for (; v < n; ++v)
          for (int q = 0; q < 3; ++q) sa[q * stride_ + v] += p[q * stride_ + v];
      }
      // Horizontal sums over B and the response, kLanes pixels at a time.
      float* dst = out.row(y);
      const vfloat kv = simd::broadcast(k);
      int x = 0;
      for (; x + kLanes <= width_; x += kLanes) {
        vfloat a{}, b{}, c{};
        for (int i = 0; i < block_; ++i) {
          a += simd::load(sa + x + i), b += simd::load(sb + x + i), c += simd::load(sc + x + i);
        }
        simd::store(dst + x, a * c - b * b - kv * (a + c) * (a + c));
      }
      for (; x < width_; ++x) {
        float a = 0, b = 0, c = 0;
        for (int i = 0; i < block_; ++i) a += sa[x + i], b += sb[x + i], c += sc[x + i];
        dst[x] = a * c - b * b - k * (a + c) * (a + c);
      }
    }
  }

 private:
  // The ring slot holding image row `row`'s products (xx, then xy, then yy, stride_ apart),
  // computed now if it is not there yet.
  const float* products(const Image<float>& in, int row) {
    const std::size_t slot = static_cast<std::size_t>(row % block_);
    float* xx = ring_.data() + slot * 3 * stride_;
    if (slot_row_[slot] == row) return xx;
    slot_row_[slot] = row;
    float* xy = xx + stride_;
    float* yy = xy + stride_;
    const int w = width_, h = in.height, r = r_;
    const float s = static_cast<float>(gradient_scale(block_));
    const float* up = in.row(clamp_index(row - 1, h));
    const float* mid = in.row(row);
    const float* down = in.row(clamp_index(row + 1, h));
    auto put = [&](int x, float gx, float gy) {
      gx *= s, gy *= s;
      xx[r + x] = gx * gx, xy[r + x] = gx * gy, yy[r + x] = gy * gy;
    };
    auto edge = [&](int x) {
      const int l = clamp_index(x - 1, w), rt = clamp_index(x + 1, w);
      put(x, (up[rt] - up[l]) + 2 * (mid[rt] - mid[l]) + (down[rt] - down[l]),
          (down[l] + 2 * down[x] + down[rt]) - (up[l] + 2 * up[x] + up[rt]));
    };
    edge(0);
    int x = 1;
    const vfloat sv = simd::broadcast(s);
    for (; x + kLanes <= w - 1; x += kLanes) {  // interior: no clamps, unaligned loads
      const vfloat ul = simd::load(up + x - 1), uc = simd::load(up + x), ur = simd::load(up + x + 1);
      const vfloat ml = simd::load(mid + x - 1), mr = simd::load(mid + x + 1);
      const vfloat dl = simd::load(down + x - 1), dc = simd::load(down + x), dr = simd::load(down + x + 1);
      const vfloat gx = ((ur - ul) + 2.0f * (mr - ml) + (dr - dl)) * sv;
      const vfloat gy = ((dl + 2.0f * dc + dr) - (ul + 2.0f * uc + ur)) * sv;
      simd::store(xx + r + x, gx * gx), simd::store(xy + r + x, gx * gy), simd::store(yy + r + x, gy * gy);
    }
    for (; x < w; ++x) edge(x);
    for (int i = 1; i <= r; ++i)  // replicate the first and last product into the padding
      for (float* p : {xx, xy, yy}) p[r - i] = p[r], p[r + w - 1 + i] = p[r + w - 1];
    return xx;
  }

  int width_, block_, r_;
  std::size_t stride_;
  std::vector<float> ring_, sums_;
  std::vector<int> slot_row_;  // the image row each slot holds, -1: none
};

// ---------------------------------------------------------------------------------------------
// Corners: non-maximum suppression, threshold, top N
// ---------------------------------------------------------------------------------------------

struct Corner {
  int x = 0, y = 0;
  double response = 0;
};

// The corners of a response map (w x h, row-major): pixels with R > threshold = rel * max(R) that
// are local maxima of their 3 x 3 neighbourhood (>= the neighbours after them in raster order,
// > those before, so a plateau of equal values gives one corner, its first pixel), strongest
// first, at most `max_corners` (ties broken by position, so the order is the same every run).
template <class T>
std::vector<Corner> detect(std::span<const T> response, int w, int h, double rel, std::size_t max_corners) {
  if (w < 1 || h < 1 || response.size() != static_cast<std::size_t>(w) * h)
    throw dp::Error(fmt::format("detect: a {} x {} response map must hold {} values, this one holds {}", w, h,
                                static_cast<std::size_t>(std::max(w, 0)) * std::max(h, 0), response.size()));
  if (!(rel > 0 && rel < 1)) throw dp::Error(fmt::format("the corner threshold is a fraction of the largest response, in (0, 1); {} is not", rel));
  const double top = static_cast<double>(*std::max_element(response.begin(), response.end()));
  std::vector<Corner> found;
  if (!(top > 0)) return found;  // no corner anywhere (flat image or edges only)
  const double threshold = rel * top;
  auto at = [&](int x, int y) { return static_cast<double>(response[static_cast<std::size_t>(y) * w + x]); };
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double v = at(x, y);
      if (!(v > threshold)) continue;
      bool peak = true;
      for (int j = -1; j <= 1 && peak; ++j)
        for (int i = -1; i <= 1 && peak; ++i) {
          const int xx = x + i, yy = y + j;
          if ((i == 0 && j == 0) || xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const bool before = j < 0 || (j == 0 && i < 0);
          peak = before ? v > at(xx, yy) : v >= at(xx, yy);
        }
      if (peak) found.push_back({x, y, v});
    }
  const auto stronger = [](const Corner& a, const Corner& b) {
    return a.response != b.response ? a.response > b.response : (a.y != b.y ? a.y < b.y : a.x < b.x);
  };
  if (found.size() > max_corners) {
    std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(max_corners), found.end(), stronger);
    found.resize(max_corners);
  } else {
    std::sort(found.begin(), found.end(), stronger);
  }
  return found;
}

// How many corners of `a` have a corner of `b` within `radius` pixels (in x and in y).
inline std::size_t matched(const std::vector<Corner>& a, const std::vector<Corner>& b, int radius = 1) {
  std::size_t n = 0;
  for (const Corner& p : a)
    n += std::any_of(b.begin(), b.end(), [&](const Corner& q) { return std::abs(p.x - q.x) <= radius && std::abs(p.y - q.y) <= radius; });
  return n;
}

// ---------------------------------------------------------------------------------------------
// The pyramid: blur with [1 4 6 4 1] / 16 in x and y, keep every second pixel
// ---------------------------------------------------------------------------------------------

inline constexpr float kPyrWeights[5] = {1 / 16.0f, 4 / 16.0f, 6 / 16.0f, 4 / 16.0f, 1 / 16.0f};

inline Image<float> half_size(const Image<float>& in) { return Image<float>((in.width + 1) / 2, (in.height + 1) / 2, 1); }

// out(x, y) = sum over j, i of w[j] w[i] in(clamp(2x + i - 2), clamp(2y + j - 2)): cv::pyrDown's
// definition (its output size too: (W + 1) / 2 x (H + 1) / 2), with the replicate border.
inline std::vector<double> pyramid_reference(const Image<float>& in) {
  require_grey(in, "pyramid_reference");
  const Image<float> shape = half_size(in);
  std::vector<double> out(shape.pixels());
  const double w[5] = {1 / 16.0, 4 / 16.0, 6 / 16.0, 4 / 16.0, 1 / 16.0};
  for (int y = 0; y < shape.height; ++y)
    for (int x = 0; x < shape.width; ++x) {
      double s = 0;
      for (int j = 0; j < 5; ++j)
        for (int i = 0; i < 5; ++i)
          s += w[j] * w[i] * in.row(clamp_index(2 * y + j - 2, in.height))[clamp_index(2 * x + i - 2, in.width)];
      out[static_cast<std::size_t>(y) * shape.width + x] = s;
    }
  return out;
}

// One output row at a time: the column pass over the 5 input rows 2y - 2 .. 2y + 2 into `buf`
// (the whole input width, padded by 2 replicated values each side; GCC vectorizes this loop),
// then the row pass at the even positions only. out must be half_size(in); buf any vector.
inline void pyr_down(const Image<float>& in, Image<float>& out, std::vector<float>& buf) {
  require_grey(in, "pyr_down");
  if (out.width != (in.width + 1) / 2 || out.height != (in.height + 1) / 2 || out.channels != 1)
    throw dp::Error(fmt::format("pyr_down: the output of a {} x {} image is {} x {}, not {} x {}", in.width, in.height,
                                (in.width + 1) / 2, (in.height + 1) / 2, out.width, out.height));
  const int w = in.width;
  buf.assign(static_cast<std::size_t>(w) + 4, 0.0f);
  float* mid = buf.data() + 2;
  for (int y = 0; y < out.height; ++y) {
    const float* __restrict r0 = in.row(clamp_index(2 * y - 2, in.height));
    const float* __restrict r1 = in.row(clamp_index(2 * y - 1, in.height));
    const float* __restrict r2 = in.row(clamp_index(2 * y, in.height));
    const float* __restrict r3 = in.row(clamp_index(2 * y + 1, in.height));
    const float* __restrict r4 = in.row(clamp_index(2 * y + 2, in.height));
    for (int x = 0; x < w; ++x)
      mid[x] = kPyrWeights[0] * (r0[x] + r4[x]) + kPyrWeights[1] * (r1[x] + r3[x]) + kPyrWeights[2] * r2[x];
    buf[0] = buf[1] = mid[0];
    mid[w] = mid[w + 1] = mid[w - 1];
    float* dst = out.row(y);
    for (int x = 0; x < out.width; ++x) {
      const float* p = mid + 2 * x;  // p[-2 .. 2]
      dst[x] = kPyrWeights[0] * (p[-2] + p[2]) + kPyrWeights[1] * (p[-1] + p[1]) + kPyrWeights[2] * p[0];
    }
  }
}

}  // namespace dp::features
