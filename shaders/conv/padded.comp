// padded.comp — the same convolution on an input that already carries a border of R zeros on
// every side: no bounds checks, every thread runs the same code. Each thread computes RY output
// rows of one column (RY = 1: one pixel per thread), reading each of the RY + KS - 1 input rows it
// needs once and keeping the RY sums in registers: KS * (RY + KS - 1) loads for RY pixels instead
// of KS * KS * RY.
// Define KS (odd filter size), TX x TY (workgroup shape), RY (output rows per thread).
// Rows are IN_PITCH / OUT_PITCH floats apart (>= W + KS - 1 and >= W: the lab chooses the layout).
#version 450
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = TX, local_size_y = TY) in;

layout(set = 0, binding = 0) readonly buffer In { float img[]; };  // padded
layout(set = 0, binding = 1) readonly buffer Weights { float w[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float res[]; };
layout(push_constant) uniform Size { uint W, H, IN_PITCH, OUT_PITCH; };

void main() {
  const uint x = gl_GlobalInvocationID.x, y0 = gl_GlobalInvocationID.y * RY;
  if (x >= W || y0 >= H) return;
  float sum[RY];
  [[unroll]] for (uint r = 0; r < RY; ++r) sum[r] = 0.0;
  [[unroll]] for (uint iy = 0; iy < RY + KS - 1; ++iy) {
    float row[KS];
    [[unroll]] for (uint dx = 0; dx < KS; ++dx) row[dx] = img[(y0 + iy) * IN_PITCH + x + dx];
    // Input row iy feeds output row r through filter row dy = iy - r.
    [[unroll]] for (uint r = 0; r < RY; ++r)
      if (iy >= r && iy - r < KS)
        [[unroll]] for (uint dx = 0; dx < KS; ++dx) sum[r] += row[dx] * w[(iy - r) * KS + dx];
  }
  [[unroll]] for (uint r = 0; r < RY; ++r)
    if (y0 + r < H) res[(y0 + r) * OUT_PITCH + x] = sum[r];
}
