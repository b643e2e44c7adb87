// scale.comp — y[i] = alpha * x[i] + offset[spec]; exercises push constants and specialization
// constants together (used by tests/gpu).
#version 450
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const float kOffset = 0.0;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push { uint n; float alpha; };

void main() {
  const uint i = gl_GlobalInvocationID.x;
  if (i < n) y[i] = alpha * x[i] + kOffset;
}
