// accuracy.comp — how many rows of a batch the network classifies right: the largest logit (the
// first, on a tie, as std::max_element picks) against the label; rows without a label count for
// nothing. One thread per row; the count is added to correct[0].
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer Z { float z[]; };  // batch x classes
layout(set = 0, binding = 1) readonly buffer Y { uint y[]; };
layout(set = 0, binding = 2) buffer Correct { uint correct[]; };
layout(push_constant) uniform Push { uint batch; uint classes; };

void main() {
  const uint r = gl_GlobalInvocationID.x;
  if (r >= batch || y[r] >= classes) return;
  uint best = 0;
  for (uint j = 1; j < classes; ++j)
    if (z[r * classes + j] > z[r * classes + best]) best = j;
  if (best == y[r]) atomicAdd(correct[0], 1u);
}
