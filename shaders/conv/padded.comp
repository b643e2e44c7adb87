// padded.comp — the same convolution on an input that already carries a border of R zeros on
// every side ((W + KS - 1) x (H + KS - 1)): no bounds checks, every thread runs the same code.
#version 450
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 16, local_size_y = 16) in;

layout(set = 0, binding = 0) readonly buffer In { float img[]; };  // padded
layout(set = 0, binding = 1) readonly buffer Weights { float w[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float res[]; };
layout(push_constant) uniform Size { uint W, H; };

void main() {
  const uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y;
  if (x >= W || y >= H) return;
  const uint PW = W + KS - 1;
  float sum = 0.0;
  [[unroll]] for (uint dy = 0; dy < KS; ++dy)
    [[unroll]] for (uint dx = 0; dx < KS; ++dx) sum += img[(y + dy) * PW + x + dx] * w[dy * KS + dx];
  res[y * W + x] = sum;
}
