// naive.comp — out = in (*) w, "same" size with zeros outside the image. One thread per output
// pixel; every tap checks whether it falls outside the image (branches at every border pixel).
// Define KS: the odd filter size. Image W x H fp32 row-major (rows IN_PITCH / OUT_PITCH floats
// apart), weights KS x KS.
#version 450
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = 16, local_size_y = 16) in;

layout(set = 0, binding = 0) readonly buffer In { float img[]; };
layout(set = 0, binding = 1) readonly buffer Weights { float w[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float res[]; };
layout(push_constant) uniform Size { uint W, H, IN_PITCH, OUT_PITCH; };

const int R = KS / 2;

void main() {
  const int x = int(gl_GlobalInvocationID.x), y = int(gl_GlobalInvocationID.y);
  if (x >= int(W) || y >= int(H)) return;
  float sum = 0.0;
  [[unroll]] for (int dy = 0; dy < KS; ++dy)
    [[unroll]] for (int dx = 0; dx < KS; ++dx) {
      const int ix = x + dx - R, iy = y + dy - R;
      if (ix >= 0 && ix < int(W) && iy >= 0 && iy < int(H)) sum += img[iy * int(IN_PITCH) + ix] * w[dy * KS + dx];
    }
  res[y * int(OUT_PITCH) + x] = sum;
}
