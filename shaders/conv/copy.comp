// copy.comp — the convolution's memory traffic without its arithmetic: out = the padded input's
// centre, with the same TX x TY workgroups and the same row pitches as padded.comp. What it costs
// is the floor for any convolution kernel with this layout and dispatch shape.
#version 450
layout(local_size_x = TX, local_size_y = TY) in;

layout(set = 0, binding = 0) readonly buffer In { float img[]; };
layout(set = 0, binding = 1) readonly buffer Weights { float w[]; };  // unused: the same bindings
layout(set = 0, binding = 2) writeonly buffer Out { float res[]; };
layout(push_constant) uniform Size { uint W, H, IN_PITCH, OUT_PITCH; };

void main() {
  const uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y;
  if (x >= W || y >= H) return;
  res[y * OUT_PITCH + x] = img[(y + KS / 2) * IN_PITCH + x + KS / 2];
}
