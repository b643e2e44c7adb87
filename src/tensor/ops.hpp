// ops.hpp — the fast CPU tensor ops (the reference definitions are in reference.hpp).
//
// Two flavours of each op:
//   *_serial(...)  one thread, on views; the graph's fused runner calls these on row slices it
//                  has already handed to a thread
//   op(...)        the whole tensor, split across threads when there is enough work
// Outputs are written into a view the caller owns: no allocation inside an op. Element-wise ops
// and softmax may run in place (out == x). Shapes are checked; a mismatch throws dp::Error.
//
// Index
//   relu, softmax_rows, add, sub, sum           element-wise and reductions
//   linear, linear_relu, linear_relu_softmax    see gemm.hpp for the GEMM itself
//   linear_unpacked()                           the "immediate" convenience: packs W every call
//   exp_approx()                                the vectorisable exp() softmax uses
#pragma once

#include <cstddef>
#include <span>

#include "tensor/gemm.hpp"
#include "tensor/simd.hpp"
#include "tensor/tensor.hpp"

namespace dp::tensor {

// --- one thread ---------------------------------------------------------------------------------
void relu_serial(ConstView<float> x, MatrixView<float> out);
void softmax_rows_serial(ConstView<float> x, MatrixView<float> out);
void add_serial(ConstView<float> a, ConstView<float> b, MatrixView<float> out);
void sub_serial(ConstView<float> a, ConstView<float> b, MatrixView<float> out);
double sum_serial(ConstView<float> x);  // float lanes, combined in double
// Rows of the fused op: linear_rows with relu, then softmax of the same rows while they are hot.
void linear_relu_softmax_serial(ConstView<float> x, const PackedLinear& w, MatrixView<float> out);

// --- all threads --------------------------------------------------------------------------------
void relu(ConstView<float> x, MatrixView<float> out);
void softmax_rows(ConstView<float> x, MatrixView<float> out);
void add(ConstView<float> a, ConstView<float> b, MatrixView<float> out);
void sub(ConstView<float> a, ConstView<float> b, MatrixView<float> out);
float sum(ConstView<float> x);
void linear_relu(ConstView<float> x, const PackedLinear& w, MatrixView<float> out);
void linear_relu_softmax(ConstView<float> x, const PackedLinear& w, MatrixView<float> out);

// What an op-at-a-time library does for y = x · Wᵀ + b: it cannot know W will be used again,
// so it repacks W on every call (N*K floats copied) before the GEMM.
void linear_unpacked(ConstView<float> x, ConstView<float> w, std::span<const float> bias,
                     MatrixView<float> out, Activation act = Activation::none);

// e^x for a whole register at once, to ~2 ulp for x in [-87, 88] (Cephes' expf polynomial):
// x = n*ln2 + r with |r| <= ln2/2, e^r from a degree-6 polynomial, 2^n put straight into the
// exponent bits. std::exp is a function call per element that the compiler cannot vectorise.
simd::vfloat exp_approx(simd::vfloat x);

}  // namespace dp::tensor
