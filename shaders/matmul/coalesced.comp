// coalesced.comp — the naive kernel with the thread mapping swapped: consecutive threads take
// consecutive COLUMNS j. Now a subgroup reads one A[i][k] (a broadcast) and 32 neighbouring
// B[k][j..j+31] (one 128-byte line) and writes 32 neighbouring C elements: coalesced.
#version 450
layout(local_size_x = 16, local_size_y = 16) in;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Shape { uint M, N, K; };

void main() {
  const uint j = gl_GlobalInvocationID.x;  // column of C: neighbours in memory
  const uint i = gl_GlobalInvocationID.y;  // row of C
  if (i >= M || j >= N) return;
  float sum = 0.0;
  for (uint k = 0; k < K; ++k) sum += a[i * K + k] * b[k * N + j];
  c[i * N + j] = sum;
}
