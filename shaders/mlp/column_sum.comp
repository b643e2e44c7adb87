// column_sum.comp — db[n] = Σ_m dy[m][n]: a bias's gradient is its output gradient summed over
// the batch. One thread per column, adding the rows in order (as the CPU does).
#version 450
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer DY { float dy[]; };  // M x N
layout(set = 0, binding = 1) writeonly buffer DB { float db[]; }; // N
layout(push_constant) uniform Push { uint M; uint N; };

void main() {
  const uint n = gl_GlobalInvocationID.x;
  if (n >= N) return;
  float sum = 0.0;
  for (uint m = 0; m < M; ++m) sum += dy[m * N + n];
  db[n] = sum;
}
