// tree.comp — each thread sums a strided slice in a register, then the workgroup halves its
// 256 partial sums in shared memory (128, 64, ..., 1 active threads, a barrier per level) and
// thread 0 adds the workgroup's total to the result: one atomic per workgroup, not per element.
#version 450
#extension GL_EXT_shader_atomic_float : require
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Sum { float sum; };
layout(push_constant) uniform Push { uint n; };

shared float partial[256];

void main() {
  const uint t = gl_LocalInvocationID.x;
  const uint stride = gl_NumWorkGroups.x * 256;
  float mine = 0.0;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) mine += x[i];
  partial[t] = mine;
  barrier();
  for (uint half_size = 128; half_size > 0; half_size /= 2) {
    if (t < half_size) partial[t] += partial[t + half_size];
    barrier();
  }
  if (t == 0) atomicAdd(sum, partial[0]);
}
