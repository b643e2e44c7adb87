// tiled.comp — a 16 x 16 workgroup first copies the (16 + KS - 1)^2 patch of the padded input it
// needs into shared memory (and the weights), then every thread reads its KS * KS taps from
// there: each input pixel is fetched from global memory about once instead of KS * KS times.
// Requires W and H to be multiples of 16. Rows are IN_PITCH / OUT_PITCH floats apart.
#version 450
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 16, local_size_y = 16) in;

layout(set = 0, binding = 0) readonly buffer In { float img[]; };  // padded
layout(set = 0, binding = 1) readonly buffer Weights { float w[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float res[]; };
layout(push_constant) uniform Size { uint W, H, IN_PITCH, OUT_PITCH; };

const uint T = 16, P = T + KS - 1;
shared float patch_[P][P];
shared float ws[KS * KS];

void main() {
  const uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y, t = ty * T + tx;
  const uint x0 = gl_WorkGroupID.x * T, y0 = gl_WorkGroupID.y * T;
  for (uint e = t; e < P * P; e += T * T) patch_[e / P][e % P] = img[(y0 + e / P) * IN_PITCH + x0 + e % P];
  for (uint e = t; e < KS * KS; e += T * T) ws[e] = w[e];
  barrier();
  float sum = 0.0;
  [[unroll]] for (uint dy = 0; dy < KS; ++dy)
    [[unroll]] for (uint dx = 0; dx < KS; ++dx) sum += patch_[ty + dy][tx + dx] * ws[dy * KS + dx];
  res[(y0 + ty) * OUT_PITCH + x0 + tx] = sum;
}
