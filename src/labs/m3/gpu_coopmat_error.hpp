// gpu_coopmat_error.hpp — the gpu-coopmat lab's arithmetic of error: what each input type may
// cost, and the checks that hold a kernel to it.
//
// Index
//   unit_roundoff(), type_name()   fp32 2^-24, fp16 2^-11, bf16 2^-8: half the gap between 1 and
//                                  the next number of the type, the most rounding can move a value
//   kFp32Accumulation, kTensorCoreAccumulation   the accumulation's roundoff per addition
//   round_to()     fp32 inputs rounded to fp16 or bf16 (nearest, ties to even), as bits and floats
//   Bounds         the two elementwise bounds, in units of sum_k |a_ik b_kj|
//   judge()        one C against both references: within the bounds? how large is the error?
//   SizeVerdicts   one size's verdicts over every variant, for a CheckTally line
//   record_order() fp32's error < each fp16 variant's < bf16's, at one size
//
// Why elementwise and in units of sum |a||b|: rounding errors of a dot product scale with the
// sizes of its terms, not of its result (Higham, Accuracy and Stability of Numerical Algorithms,
// section 3.1: |c - c_computed| <= gamma_K |a|^T |b|). An element whose terms cancel to almost 0
// may carry an error larger than itself, correctly; a tolerance relative to |c| would call that a
// bug, and one relative to max |C| would let a wrong element near 0 pass.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/check_tally.hpp"
#include "labs/m2/gpu_matmul_kernels.hpp"
#include "labs/m3/small_floats.hpp"

namespace dp::m3::coopmat {

using dp::gpu::matmul::Input;
using dp::gpu::matmul::Variant;

constexpr std::size_t index(Input t) { return static_cast<std::size_t>(t); }

inline const char* type_name(Input t) { return t == Input::fp32 ? "fp32" : t == Input::fp16 ? "fp16" : "bf16"; }

// fp32 keeps 24 significant bits, fp16 11, bf16 8: u = 2^-p.
inline double unit_roundoff(Input t) { return t == Input::fp32 ? 0x1p-24 : t == Input::fp16 ? 0x1p-11 : 0x1p-8; }
inline const char* roundoff_text(Input t) { return t == Input::fp32 ? "2^-24" : t == Input::fp16 ? "2^-11" : "2^-8"; }

// Our shaders' fp32 additions and multiply-adds round to nearest (Vulkan requires OpFAdd and
// OpFMul correctly rounded). Tensor cores need not: NVIDIA's align the products to the largest
// and truncate (Fasi, Higham, Mikaitis, Pranesh, "Numerical behavior of NVIDIA tensor cores",
// 2021), so an addition there may lose a whole unit in the last place: 2^-23.
inline constexpr double kFp32Accumulation = 0x1p-24;
inline constexpr double kTensorCoreAccumulation = 0x1p-23;

// A matrix as a 16-bit type stores it: the bits for the GPU, and the floats they stand for (exact).
struct Stored {
  std::vector<float> values;
  std::vector<std::uint16_t> bits;
};
struct Rounded {
  Stored a, b;
};

inline Stored round_to(const std::vector<float>& x, Input t) {
  const smallfloat::Format& f = t == Input::fp16 ? smallfloat::kFP16 : smallfloat::kBF16;
  Stored s{std::vector<float>(x.size()), std::vector<std::uint16_t>(x.size())};
  for (std::size_t i = 0; i < x.size(); ++i) {
    s.bits[i] = static_cast<std::uint16_t>(smallfloat::encode(x[i], f));
    s.values[i] = smallfloat::decode(s.bits[i], f);
  }
  return s;
}

// The two bounds on |c - c_fp64| for one element, as multiples of sum_k |a_ik b_kj|.
struct Bounds {
  double kernel = 0;  // against fp64 on the same stored inputs: the accumulation alone,
                      // gamma_K (1 + u)^2 (the stored inputs are within (1 + u) of the fp32 ones)
  double type = 0;    // against fp64 on the fp32 inputs: (1 + u)^2 - 1 for the rounded inputs, + kernel
};

// u is 0 for fp32 inputs: they are the reference's own inputs, so only the accumulation errs.
inline Bounds bounds_for(Input t, double accumulation_u, std::uint32_t k) {
  const double u = t == Input::fp32 ? 0.0 : unit_roundoff(t);
  const double gamma = k * accumulation_u / (1 - k * accumulation_u);
  const double grow = (1 + u) * (1 + u);
  return {gamma * grow, grow - 1 + gamma * grow};
}

inline constexpr const char* kAccumulationBoundText =
    "|c - c_fp64 from the same stored inputs| <= gamma_K (1 + u)^2 sum_k |a_ik b_kj| for every checked element, "
    "gamma_K = K u' / (1 - K u'), u' = 2^-24 (2^-23 on tensor cores, which may truncate)";
inline constexpr const char* kTypeBoundText =
    "|c - c_fp64 from the fp32 inputs| <= ((1 + u)^2 - 1 + gamma_K (1 + u)^2) sum_k |a_ik b_kj| for every checked "
    "element, u = 2^-11 (fp16), 2^-8 (bf16), 0 for fp32 inputs (the reference's own)";

struct Verdict {
  std::size_t kernel_over = 0, type_over = 0;  // checked elements beyond each bound
  double kernel_worst = 0, type_worst = 0;     // the largest error / bound seen (<= 1: within)
  double relative_error = 0;                   // max |c - c_fp64| / max |c_fp64|, fp32 inputs' fp64
  std::string kernel_first, type_first;        // the first elements beyond each bound
};

// `c` is the whole n x n result; `own` the fp64 reference of the checked `rows` from the inputs
// as the variant stored them, `exact` from the fp32 inputs, `abs` their sum_k |a_ik b_kj|.
inline Verdict judge(const std::vector<float>& c, std::uint32_t n, const std::vector<std::size_t>& rows,
                     const std::vector<double>& own, const std::vector<double>& exact,
                     const std::vector<double>& abs, const Bounds& bounds) {
  Verdict v;
  double max_error = 0, max_c = 0;
  const auto over = [&](std::size_t& count, std::string& first, double& worst, double got, double want, double limit,
                        std::size_t row, std::size_t col) {
    const double error = std::isfinite(got) ? std::fabs(got - want) : std::numeric_limits<double>::infinity();
    worst = std::max(worst, error / limit);
    if (error <= limit) return;
    if (++count <= 3) first += fmt::format(" C[{}][{}] = {:g}, fp64 {:g}, bound {:.2g};", row, col, got, want, limit);
  };
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t i = r * n + j;
      const double got = c[rows[r] * n + j];
      const double scale = std::max(abs[i], std::numeric_limits<double>::min());
      over(v.kernel_over, v.kernel_first, v.kernel_worst, got, own[i], bounds.kernel * scale, rows[r], j);
      over(v.type_over, v.type_first, v.type_worst, got, exact[i], bounds.type * scale, rows[r], j);
      max_error = std::max(max_error, std::isfinite(got) ? std::fabs(got - exact[i]) : HUGE_VAL);
      max_c = std::max(max_c, std::fabs(exact[i]));
    }
  v.relative_error = max_c > 0 ? max_error / max_c : max_error;
  return v;
}

// One size's verdicts over every variant, as one line per check: "fp32-tiles 0.0031, ..." is each
// variant's worst error / bound (a correct kernel stays far below 1: the bounds are worst cases).
struct SizeVerdicts {
  bool kernel_ok = true, type_ok = true;
  std::string kernel_seen, type_seen;
  void add(const std::string& variant, const Verdict& v) {
    const auto line = [&](std::string& seen, bool& ok, std::size_t over, double worst, const std::string& first) {
      seen += fmt::format("{}{} {:.2g}", seen.empty() ? "" : ", ", variant, worst);
      if (over > 0) ok = false, seen += fmt::format(" ({} elements beyond:{})", over, first);
    };
    line(kernel_seen, kernel_ok, v.kernel_over, v.kernel_worst, v.kernel_first);
    line(type_seen, type_ok, v.type_over, v.type_worst, v.type_first);
  }
  void record(std::uint32_t n, CheckTally& kernels, CheckTally& types) const {
    kernels.record(kernel_ok, fmt::format("n = {}: worst error / bound: {}", n, kernel_seen));
    types.record(type_ok, fmt::format("n = {}: worst error / bound: {}", n, type_seen));
  }
};

// At one size: fp32-tiles' relative error < every fp16 variant's < bf16-tiles'. The gaps are wide
// (u differs 8x between fp16 and bf16, 2^13 between fp32 and fp16), so this fails only on a bug:
// e.g. a 16-bit variant that was handed the fp32 inputs, or bf16 bits read as fp16.
inline void record_order(const std::vector<std::pair<const Variant*, double>>& errors, std::uint32_t n,
                         CheckTally& order) {
  double fp32 = -1, bf16 = -1;
  std::vector<std::pair<std::string, double>> fp16;
  for (const auto& [v, e] : errors) {
    if (v->input == Input::fp32) fp32 = e;
    else if (v->input == Input::bf16) bf16 = e;
    else fp16.emplace_back(v->name, e);
  }
  if (fp32 < 0 || bf16 < 0) return;
  bool ok = fp32 < bf16;
  std::string middle;
  for (const auto& [name, e] : fp16) {
    ok = ok && fp32 < e && e < bf16;
    middle += fmt::format("{} {:.2g}, ", name, e);
  }
  order.record(ok, fmt::format("n = {}: fp32-tiles {:.2g}, {}bf16-tiles {:.2g}", n, fp32, middle, bf16));
}

}  // namespace dp::m3::coopmat
