// gemm.comp — C = op(A) · op(B), then an epilogue: every matrix product of the training step.
// C is M x N, row-major; the products run over K. How A and B are stored (specialization):
//   kATransposed 0: A is M x K (row-major)   1: A is K x M (so op(A) = Aᵀ of what is stored)
//   kBTransposed 0: B is K x N               1: B is N x K (nn.Linear's W, one row per output)
// Epilogue (kEpilogue): 0 none, 1 + bias[n], 2 relu(+ bias[n]), 3 keep where mask[m][n] > 0.
// The training step uses it three ways (x: B x in, W: out x in, dy: B x out):
//   forward   y  = act(x · Wᵀ + b)          A = x,  B = W  (transposed), epilogue 1 or 2
//   backward  dx = (dy · W) · [h > 0]       A = dy, B = W,               epilogue 3 (relu's mask)
//             dW = dyᵀ · x                  A = dy (transposed), B = x,  epilogue 0
// Tiles: 16 x 16 threads, each computing TM x TN outputs (#defines), so a workgroup computes a
// (16 TM) x (16 TN) block of C. The K loop goes 16 at a time through shared memory; each tile is
// loaded so that neighbouring threads read neighbouring floats whichever way the matrix is stored.
// Any M, N, K: out-of-range loads read 0 and out-of-range outputs are not written.
#version 450
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const uint kATransposed = 0;
layout(constant_id = 1) const uint kBTransposed = 0;
layout(constant_id = 2) const uint kEpilogue = 0;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) readonly buffer Mask { float mask[]; };
layout(set = 0, binding = 4) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint M; uint N; uint K; };

const uint BM = 16 * TM, BN = 16 * TN, BK = 16;
shared float As[BK][BM + 1];  // As[k][m]; +1: a column read by many threads spreads over banks
shared float Bs[BK][BN + 1];  // Bs[k][n]

float a_at(uint m, uint k) {
  if (m >= M || k >= K) return 0.0;
  return kATransposed != 0 ? a[k * M + m] : a[m * K + k];
}
float b_at(uint k, uint n) {
  if (k >= K || n >= N) return 0.0;
  return kBTransposed != 0 ? b[n * K + k] : b[k * N + n];
}

void store(uint m, uint n, float v) {
  if (m >= M || n >= N) return;
  if (kEpilogue == 1 || kEpilogue == 2) v += bias[n];
  if (kEpilogue == 2) v = max(v, 0.0);
  if (kEpilogue == 3) v = mask[m * N + n] > 0.0 ? v : 0.0;
  c[m * N + n] = v;
}

#if DIRECT
// On a CPU device (lavapipe) shared memory is ordinary memory, and every barrier() makes the
// driver switch between the workgroup's threads: there, each thread reads its operands straight
// from the buffers (the CPU's caches do what shared memory does on a GPU), with no barrier at all.
// Rows and columns past the edge read row M-1 / column N-1 and are not stored.
void main() {
  const uint m0 = gl_WorkGroupID.y * BM + gl_LocalInvocationID.y, n0 = gl_WorkGroupID.x * BN + gl_LocalInvocationID.x;
  uint ms[TM], ns[TN];
  [[unroll]] for (uint i = 0; i < TM; ++i) ms[i] = min(m0 + 16 * i, M - 1);
  [[unroll]] for (uint j = 0; j < TN; ++j) ns[j] = min(n0 + 16 * j, N - 1);
  float acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; ++i) [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;
  for (uint k = 0; k < K; ++k) {
    float ra[TM], rb[TN];
    [[unroll]] for (uint i = 0; i < TM; ++i) ra[i] = kATransposed != 0 ? a[k * M + ms[i]] : a[ms[i] * K + k];
    [[unroll]] for (uint j = 0; j < TN; ++j) rb[j] = kBTransposed != 0 ? b[ns[j] * K + k] : b[k * N + ns[j]];
    [[unroll]] for (uint i = 0; i < TM; ++i) [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] += ra[i] * rb[j];
  }
  [[unroll]] for (uint i = 0; i < TM; ++i) [[unroll]] for (uint j = 0; j < TN; ++j) store(m0 + 16 * i, n0 + 16 * j, acc[i][j]);
}
#else
void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, tid = ty * 16 + tx;
  const uint row0 = gl_WorkGroupID.y * BM, col0 = gl_WorkGroupID.x * BN;
  float acc[TM][TN];
  [[unroll]] for (uint i = 0; i < TM; ++i) [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0; k0 < K; k0 += BK) {
    // Consecutive threads take consecutive addresses: along k when A is M x K, along m when K x M.
    [[unroll]] for (uint e = tid; e < BM * BK; e += 256) {
      const uint m = kATransposed != 0 ? e % BM : e / BK, k = kATransposed != 0 ? e / BM : e % BK;
      As[k][m] = a_at(row0 + m, k0 + k);
    }
    [[unroll]] for (uint e = tid; e < BK * BN; e += 256) {
      const uint n = kBTransposed != 0 ? e / BK : e % BN, k = kBTransposed != 0 ? e % BK : e / BN;
      Bs[k][n] = b_at(k0 + k, col0 + n);
    }
    barrier();
    [[unroll]] for (uint k = 0; k < BK; ++k) {
      float ra[TM], rb[TN];
      [[unroll]] for (uint i = 0; i < TM; ++i) ra[i] = As[k][ty + 16 * i];
      [[unroll]] for (uint j = 0; j < TN; ++j) rb[j] = Bs[k][tx + 16 * j];
      [[unroll]] for (uint i = 0; i < TM; ++i) [[unroll]] for (uint j = 0; j < TN; ++j) acc[i][j] += ra[i] * rb[j];
    }
    barrier();
  }
  // A thread's outputs are 16 apart, so the 16 threads of a row store 16 neighbouring floats.
  [[unroll]] for (uint i = 0; i < TM; ++i) [[unroll]] for (uint j = 0; j < TN; ++j) store(row0 + ty + 16 * i, col0 + tx + 16 * j, acc[i][j]);
}
#endif
