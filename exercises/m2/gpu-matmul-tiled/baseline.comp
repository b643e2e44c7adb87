#version 450
// gpu-matmul-tiled — make this faster. (exercises/m2/gpu-matmul-tiled/README.md has the task.)
//
// The contract with the checker (keep it; everything else is yours to change, local size included):
//   binding 0  a[n * n], binding 1  b[n * n]   row-major n x n matrices
//   binding 2  c[n * n]                        c = a * b: c[r * n + col] = sum over i of a[r * n + i] * b[i * n + col]
//   push constants: uint n
//   the checker launches ceil(n / 32) x ceil(n / 32) workgroups; workgroup (x, y) writes the
//   32 x 32 tile of c with rows 32 y .. 32 y + 31 and columns 32 x .. 32 x + 31 (those below n).
//
//   dontpanic exercise check gpu-matmul-tiled     is it right, and how much faster?
//   dontpanic exercise hint gpu-matmul-tiled      a nudge (three, each more specific)
layout(local_size_x = 32, local_size_y = 8) in;

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint n; };

// 256 invocations per 32 x 32 tile: each computes 4 outputs of one column, rows 8 apart, and reads
// every operand from the storage buffers: 2n loads per output.
void main() {
  const uint col = gl_WorkGroupID.x * 32 + gl_LocalInvocationID.x;
  for (uint step = 0; step < 4; ++step) {
    const uint row = gl_WorkGroupID.y * 32 + gl_LocalInvocationID.y + 8 * step;
    if (row >= n || col >= n) continue;
    float sum = 0.0;
    for (uint i = 0; i < n; ++i) sum += a[row * n + i] * b[i * n + col];
    c[row * n + col] = sum;
  }
}
