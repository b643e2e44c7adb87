// gemm.hpp — the fast linear layer: out = act(x · Wᵀ + b), cache-blocked, SIMD, threaded.
//
// Index
//   Activation     what the kernel applies to each result before storing it (none, relu)
//   PackedLinear   W [out x in] and b repacked once into the layout the micro-kernel streams
//   linear_rows()  one thread computes rows [r0, r1) of out
//   linear()       the whole product, split across the TBB threads
//   gemm_config()  the blocking sizes in use (for labs that print them)
//
// Shapes: x is M x K (a batch of M rows with K features), W is N x K (PyTorch's nn.Linear
// layout: one row per output feature), b has N entries, out is M x N. FLOPs = 2*M*N*K.
//
// How it is fast (the details are in gemm.cpp):
//  1. A micro-kernel keeps an MR x NR block of `out` in SIMD registers (8 x 32 floats with
//     AVX-512: 16 registers) and streams K: per step it loads NR weights, broadcasts MR inputs and
//     does MR*NR/kLanes fused multiply-adds. Registers are the only memory fast enough for that.
//  2. Blocking: KC columns of x at a time so the pieces the kernel re-reads stay in L1 and L2.
//  3. Packing: W is rearranged so the kernel reads it with stride 1 (once per W, which is why
//     a graph that knows W is constant packs it once); x is packed per block into MR-row strips.
//  4. Fusion: bias and relu are applied in registers before the one store (no extra pass).
//  5. Threads: rows are split between threads; each packs its own x strips.
#pragma once

#include <cstddef>
#include <span>

#include "tensor/tensor.hpp"

namespace dp::tensor {

enum class Activation { none, relu };

struct GemmConfig {
  int mr;       // rows of the register block
  int nr;       // columns of the register block (a multiple of the SIMD width)
  int kc;       // depth of one block of K
  int mc;       // rows of x packed at a time
  int lanes;    // floats per SIMD register
  const char* isa;
};
GemmConfig gemm_config();

// W and b in the micro-kernel's layout. Panels of NR output features; inside a panel, for each k
// the NR weights W[j0..j0+NR)[k] are adjacent. The last panel is zero-padded.
class PackedLinear {
 public:
  PackedLinear() = default;
  // bias may be empty (no bias). Throws dp::Error when its size is not W's row count.
  PackedLinear(ConstView<float> w, std::span<const float> bias);
  void pack(ConstView<float> w, std::span<const float> bias);  // reuses the storage

  std::size_t in_features() const { return k_; }   // K
  std::size_t out_features() const { return n_; }  // N
  std::size_t panels() const { return panels_; }
  const float* panel(std::size_t p) const { return weights_.data() + p * k_ * nr_; }
  const float* bias() const { return bias_.data(); }  // padded to panels()*NR, zeros if none

 private:
  std::size_t n_ = 0, k_ = 0, nr_ = 0, panels_ = 0;
  AlignedBuffer<float> weights_;
  AlignedBuffer<float> bias_;
};

// Rows [r0, r1) of out = act(x · Wᵀ + b), on the calling thread. Shapes are checked by the callers
// (linear() and the graph); here they are asserted in debug builds only.
void linear_rows(ConstView<float> x, const PackedLinear& w, MatrixView<float> out, Activation act,
                 std::size_t r0, std::size_t r1);

// The whole product, rows split across threads when there is enough work. Throws dp::Error on a
// shape mismatch, naming both shapes.
void linear(ConstView<float> x, const PackedLinear& w, MatrixView<float> out,
            Activation act = Activation::none);

}  // namespace dp::tensor
