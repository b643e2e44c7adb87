// naive.comp — C = A * B, one thread per output element, thread x walks DOWN a column of C.
// Neighbouring threads (consecutive x) handle consecutive ROWS i: their loads of A[i][k] are K
// floats apart and their stores to C are N floats apart, so no two share a memory transaction.
// A: M x K, B: K x N, C: M x N, all row-major fp32. FLOPs: 2*M*N*K.
#version 450
layout(local_size_x = 16, local_size_y = 16) in;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Shape { uint M, N, K; };

void main() {
  const uint i = gl_GlobalInvocationID.x;  // row of C   (the uncoalesced choice)
  const uint j = gl_GlobalInvocationID.y;  // column of C
  if (i >= M || j >= N) return;
  float sum = 0.0;
  for (uint k = 0; k < K; ++k) sum += a[i * K + k] * b[k * N + j];
  c[i * N + j] = sum;
}
