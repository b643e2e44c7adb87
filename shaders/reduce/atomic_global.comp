// atomic_global.comp — sum += x[i] for every element with a float atomic on ONE global address.
// Every thread in the GPU queues on the same memory location: correct, and a traffic jam.
#version 450
#extension GL_EXT_shader_atomic_float : require
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Sum { float sum; };
layout(push_constant) uniform Push { uint n; };

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
  for (uint i = gl_GlobalInvocationID.x; i < n; i += stride) atomicAdd(sum, x[i]);
}
