// regblock.comp — 2D register blocking. A workgroup computes a BM x BN tile of C; each thread
// computes a TM x TN block of it in registers. Per step k a thread loads TM values of A and TN of
// B from shared memory and does TM*TN fused multiply-adds: the ratio of math to shared-memory
// loads grows from 1:2 (tiled) to TM*TN:(TM+TN), e.g. 64:16 for 8 x 8.
// A's tile is stored transposed (As[k][m]) so that a thread's TM values sit side by side.
// Defines: BM BN BK TM TN. Requires M % BM == N % BN == K % BK == 0.
#version 450
#extension GL_EXT_control_flow_attributes : require
const uint THREADS = (BM / TM) * (BN / TN);
layout(local_size_x = THREADS) in;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Shape { uint M, N, K; };

shared float As[BK][BM];
shared float Bs[BK][BN];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint row0 = gl_WorkGroupID.y * BM, col0 = gl_WorkGroupID.x * BN;
  const uint trow = tid / (BN / TN), tcol = tid % (BN / TN);  // this thread's block in the tile
  float acc[TM][TN];
  [[unroll]] for (uint m = 0; m < TM; ++m) [[unroll]] for (uint n = 0; n < TN; ++n) acc[m][n] = 0.0;
  float ra[TM], rb[TN];

  for (uint k0 = 0; k0 < K; k0 += BK) {
    [[unroll]] for (uint e = tid; e < BM * BK; e += THREADS) {   // A tile, transposed on the way
      const uint r = e / BK, k = e % BK;
      As[k][r] = a[(row0 + r) * K + k0 + k];
    }
    [[unroll]] for (uint e = tid; e < BK * BN; e += THREADS) {   // B tile, as is
      const uint k = e / BN, col = e % BN;
      Bs[k][col] = b[(k0 + k) * N + col0 + col];
    }
    barrier();
    [[unroll]] for (uint k = 0; k < BK; ++k) {
      [[unroll]] for (uint m = 0; m < TM; ++m) ra[m] = As[k][trow * TM + m];
      [[unroll]] for (uint n = 0; n < TN; ++n) rb[n] = Bs[k][tcol * TN + n];
      [[unroll]] for (uint m = 0; m < TM; ++m)
        [[unroll]] for (uint n = 0; n < TN; ++n) acc[m][n] += ra[m] * rb[n];
    }
    barrier();
  }
  [[unroll]] for (uint m = 0; m < TM; ++m)
    [[unroll]] for (uint n = 0; n < TN; ++n) c[(row0 + trow * TM + m) * N + col0 + tcol * TN + n] = acc[m][n];
}
