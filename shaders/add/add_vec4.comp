// add_vec4.comp — the same add, four floats per load (16-byte vector loads and stores).
// Buffers are padded to a multiple of 4 floats; n4 = ceil(n / 4).
#version 450
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) readonly buffer A { vec4 a[]; };
layout(set = 0, binding = 1) readonly buffer B { vec4 b[]; };
layout(set = 0, binding = 2) writeonly buffer C { vec4 c[]; };
layout(push_constant) uniform Push { uint n4; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < n4; i += stride) c[i] = a[i] + b[i];
}
