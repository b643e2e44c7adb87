// coopmat.comp — tensor cores through cooperative matrices (GL_NV_cooperative_matrix).
// fp16 inputs, fp32 accumulation and output. A subgroup owns LM x LN fragments of C that live in
// registers spread over its threads; coopMatMulAddNV runs on the tensor cores. The workgroup
// stages BM x BK of A and BK x BN of B in shared memory (16-byte copies, prefetched into
// registers one tile ahead), then each subgroup loads its fragments from shared memory.
// STAGES=2 double-buffers shared memory: the next tile is stored into one buffer while the other
// is multiplied, so each step needs one barrier instead of two.
// Defines: LM LN LK (a shape the device lists), BM BN BK, WGM x WGN subgroups, SUBGROUP (size),
// STAGES (1 or 2).
// Buffers: A (M x K) and B (K x N) fp16 row-major read as uvec4 = 8 halves; C fp32 row-major.
#version 450
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_EXT_control_flow_attributes : require
const uint THREADS = WGM * WGN * SUBGROUP;
const uint H = 8;                      // halves per uvec4
const uint AS = BK + H;                // row stride of As in halves (+8 against bank conflicts)
const uint BS = BN + H;
const uint A_LOADS = BM * BK / H / THREADS;
const uint B_LOADS = BK * BN / H / THREADS;
const uint FM = BM / WGM / LM;         // fragments per subgroup along M
const uint FN = BN / WGN / LN;
#ifndef STAGES
#define STAGES 1
#endif
const uint A_TILE = BM * AS / H, B_TILE = BK * BS / H;  // one stage, in uvec4s
layout(local_size_x = THREADS) in;

layout(set = 0, binding = 0) readonly buffer A { uvec4 a[]; };
layout(set = 0, binding = 1) readonly buffer B { uvec4 b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Shape { uint M, N, K; };

shared uvec4 As[STAGES * A_TILE];
shared uvec4 Bs[STAGES * B_TILE];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint sg = gl_SubgroupID, sgm = sg / WGN, sgn = sg % WGN;
  const uint row0 = gl_WorkGroupID.y * BM, col0 = gl_WorkGroupID.x * BN;

  fcoopmatNV<32, gl_ScopeSubgroup, LM, LN> acc[FM][FN];
  [[unroll]] for (uint i = 0; i < FM; ++i)
    [[unroll]] for (uint j = 0; j < FN; ++j) acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, LM, LN>(0.0);

  uvec4 pa[A_LOADS], pb[B_LOADS];
  #define FETCH(k0)                                                          \
    [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {                          \
      const uint e = tid + l * THREADS, r = e / (BK / H), k8 = e % (BK / H);  \
      pa[l] = a[((row0 + r) * K + (k0)) / H + k8];                            \
    }                                                                        \
    [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {                          \
      const uint e = tid + l * THREADS, k = e / (BN / H), c8 = e % (BN / H);  \
      pb[l] = b[(((k0) + k) * N + col0) / H + c8];                            \
    }
  #define STORE(stage)                                                       \
    [[unroll]] for (uint l = 0; l < A_LOADS; ++l) {                          \
      const uint e = tid + l * THREADS, r = e / (BK / H), k8 = e % (BK / H);  \
      As[(stage) * A_TILE + (r * AS) / H + k8] = pa[l];                      \
    }                                                                        \
    [[unroll]] for (uint l = 0; l < B_LOADS; ++l) {                          \
      const uint e = tid + l * THREADS, k = e / (BN / H), c8 = e % (BN / H);  \
      Bs[(stage) * B_TILE + (k * BS) / H + c8] = pb[l];                      \
    }

  FETCH(0)
  STORE(0)
  barrier();
  uint stage = 0;
  for (uint k0 = 0; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) { FETCH(k0 + BK) }          // global -> registers, in flight during the math
    [[unroll]] for (uint kk = 0; kk < BK; kk += LK) {
      fcoopmatNV<16, gl_ScopeSubgroup, LM, LK> fa[FM];
      [[unroll]] for (uint i = 0; i < FM; ++i)
        coopMatLoadNV(fa[i], As, stage * A_TILE + ((sgm * FM + i) * LM * AS + kk) / H, AS / H, false);
      [[unroll]] for (uint j = 0; j < FN; ++j) {
        fcoopmatNV<16, gl_ScopeSubgroup, LK, LN> fb;
        coopMatLoadNV(fb, Bs, stage * B_TILE + (kk * BS + (sgn * FN + j) * LN) / H, BS / H, false);
        [[unroll]] for (uint i = 0; i < FM; ++i) acc[i][j] = coopMatMulAddNV(fa[i], fb, acc[i][j]);
      }
    }
#if STAGES == 2
    if (more) { STORE(stage ^ 1u) }       // the other buffer: last read before the previous barrier
    barrier();
    stage ^= 1u;
#else
    barrier();                            // everyone is done reading before it is overwritten
    if (more) {
      STORE(0)
      barrier();
    }
#endif
  }
  [[unroll]] for (uint i = 0; i < FM; ++i)
    [[unroll]] for (uint j = 0; j < FN; ++j)
      coopMatStoreNV(acc[i][j], c, (row0 + (sgm * FM + i) * LM) * N + col0 + (sgn * FN + j) * LN, N, false);
}
