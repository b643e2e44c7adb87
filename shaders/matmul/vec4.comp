// vec4.comp — register blocking plus three memory tricks:
//   1. 16-byte loads: A, B and C are read and written as vec4 (one instruction per 4 floats).
//   2. Conflict-free shared reads: a thread's TM rows (TN columns) are TM/4 (TN/4) groups of 4
//      spread across the tile, so the 32 threads of a subgroup read 32 consecutive vec4s of Bs.
//   3. Prefetch: the next tiles are loaded from global memory into registers while this tile is
//      multiplied, so DRAM latency hides behind math.
// Inputs (gpu-coopmat): A and B are fp32 by default; with INPUT_FP16 they are fp16 (16-bit storage
// buffers), with INPUT_BF16 bf16 bits (read as uints: bf16 is the top half of an fp32, so a shift
// widens it). Either way each group of 4 is widened to fp32 as it is loaded (16-bit storage allows
// 16-bit types in buffers only, not in registers), then staged in shared memory as fp32: half the
// bytes from global memory, the same fp32 multiply-adds.
// Layers (gpu-compiled's wide layers, src/graph/compiler.hpp): with LINEAR defined, B is a block
// of parameters where this layer's K x N weights start W_OFF floats in and its N biases B_OFF floats
// in, and C = A·B + bias, then max(C, 0) where RELU is 1.
// Defines: BM BN BK TM TN (TM, TN multiples of 4), INPUT_FP16 or INPUT_BF16 (optional), LINEAR and
// RELU (optional). Requires M % BM == N % BN == K % BK == 0 (and W_OFF, B_OFF multiples of 4).
#version 450
#extension GL_EXT_control_flow_attributes : require
#if defined(INPUT_FP16)
#extension GL_EXT_shader_16bit_storage : require
#define IN4 f16vec4                   // 4 halves, 8 bytes
#define TO_VEC4(v) vec4(v)            // exact: every half is a float
#elif defined(INPUT_BF16)
#define IN4 uvec2                     // 4 bf16, 8 bytes, element 0 in the low bits of .x
#define TO_VEC4(v) vec4(uintBitsToFloat((v).x << 16), uintBitsToFloat((v).x & 0xffff0000u), \
                        uintBitsToFloat((v).y << 16), uintBitsToFloat((v).y & 0xffff0000u))
#else
#define IN4 vec4
#define TO_VEC4(v) (v)
#endif
const uint THREADS = (BM / TM) * (BN / TN);
const uint A_LOADS = BM * BK / 4 / THREADS;  // vec4s of A each thread copies per tile
const uint B_LOADS = BK * BN / 4 / THREADS;
const uint AW = BM / 4 + 1;                  // a row of As in vec4s, +1 against bank conflicts
layout(local_size_x = THREADS) in;

layout(set = 0, binding = 0) readonly buffer A { IN4 a[]; };
layout(set = 0, binding = 1) readonly buffer B { IN4 b[]; };
layout(set = 0, binding = 2) writeonly buffer C { vec4 c[]; };
#if defined(LINEAR)
layout(push_constant) uniform Shape { uint M, N, K, W_OFF, B_OFF; };
#else
layout(push_constant) uniform Shape { uint M, N, K; };
const uint W_OFF = 0;
#endif

shared vec4 As[BK][AW];      // transposed: As[k][m / 4][m % 4]
shared vec4 Bs[BK][BN / 4];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.y * BM, col0 = gl_WorkGroupID.x * BN;
  const uint trow = tid / (BN / TN), tcol = tid % (BN / TN);
  vec4 acc[TM][TN / 4];
  [[unroll]] for (uint m = 0; m < TM; ++m) [[unroll]] for (uint n = 0; n < TN / 4; ++n) acc[m][n] = vec4(0.0);
  vec4 pa[A_LOADS], pb[B_LOADS];

  // Global -> registers for the tile starting at k0.
  #define FETCH(k0)                                                         \
    [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {                         \
      const uint e = tid + l * THREADS, r = e / (BK / 4), k4 = e % (BK / 4); \
      pa[l] = TO_VEC4(a[((row0 + r) * K + (k0)) / 4 + k4]);                  \
    }                                                                       \
    [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {                         \
      const uint e = tid + l * THREADS, k = e / (BN / 4), c4 = e % (BN / 4); \
      pb[l] = TO_VEC4(b[(W_OFF + ((k0) + k) * N) / 4 + col0 / 4 + c4]);       \
    }
  // Registers -> shared memory (A transposed, one float at a time).
  #define STORE()                                                           \
    [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {                         \
      const uint e = tid + l * THREADS, r = e / (BK / 4), k4 = e % (BK / 4); \
      [[unroll]] for (uint q = 0; q < 4; ++q) As[k4 * 4 + q][r / 4][r % 4] = pa[l][q]; \
    }                                                                       \
    [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {                         \
      const uint e = tid + l * THREADS, k = e / (BN / 4), c4 = e % (BN / 4); \
      Bs[k][c4] = pb[l];                                                    \
    }

  FETCH(0)
  STORE()
  barrier();
  for (uint k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) { FETCH(k0 + BK) }
    [[unroll]] for (uint k = 0; k < BK; ++k) {
      vec4 ra[TM / 4], rb[TN / 4];
      [[unroll]] for (uint m = 0; m < TM / 4; ++m) ra[m] = As[k][m * (BM / TM) + trow];
      [[unroll]] for (uint n = 0; n < TN / 4; ++n) rb[n] = Bs[k][n * (BN / TN) + tcol];
      [[unroll]] for (uint m = 0; m < TM; ++m)
        [[unroll]] for (uint n = 0; n < TN / 4; ++n) acc[m][n] += ra[m / 4][m % 4] * rb[n];
    }
    barrier();
    if (more) {
      STORE()
      barrier();
    }
  }
  // Row r of this thread's block is tile row (m / 4) * (BM / TM) * 4 + trow * 4 + m % 4.
  [[unroll]] for (uint m = 0; m < TM; ++m) {
    const uint row = row0 + (m / 4) * (BM / TM) * 4 + trow * 4 + m % 4;
    [[unroll]] for (uint n = 0; n < TN / 4; ++n) {
#if defined(LINEAR)
      acc[m][n] += b[(B_OFF + col0) / 4 + n * (BN / TN) + tcol];
      if (RELU != 0) acc[m][n] = max(acc[m][n], vec4(0.0));
#endif
      c[(row * N + col0) / 4 + n * (BN / TN) + tcol] = acc[m][n];
    }
  }
}
