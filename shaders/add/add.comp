// add.comp — c[i] = a[i] + b[i], one float per thread per step of a grid-stride loop.
// Bytes moved per element: 4 + 4 read, 4 written = 12. FLOPs: 1. Pure bandwidth.
#version 450
layout(local_size_x_id = 0) in;  // specialization constant 0: threads per workgroup (256)

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer C { float c[]; };
layout(push_constant) uniform Push { uint n; };

void main() {
  // Neighbouring threads touch neighbouring floats: one 128-byte line serves 32 threads (coalesced).
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) c[i] = a[i] + b[i];
}
