// softmax_ce.comp — softmax cross-entropy of a batch of logits: the loss, and its gradient.
// Row r with label l:  loss_r = log Σ_j exp(z_j - max) - (z_l - max)
//                      dz_j  = (softmax(z)_j - [j == l]) / rows
// Rows without a label (past the end of the set) get dz = 0. The batch's mean loss goes to
// losses[state[0]] (one slot per step of the epoch), so the host reads all of them at the end.
// One workgroup; each thread takes every 256th row, a tree in shared memory sums the losses.
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer Z { float z[]; };        // batch x classes
layout(set = 0, binding = 1) readonly buffer Y { uint y[]; };
layout(set = 0, binding = 2) readonly buffer State { uint state[]; };
layout(set = 0, binding = 3) writeonly buffer DZ { float dz[]; };     // batch x classes
layout(set = 0, binding = 4) buffer Losses { float losses[]; };
layout(push_constant) uniform Push { uint batch; uint classes; };

shared float part[256];

void main() {
  const uint t = gl_LocalInvocationID.x;
  const float rows = float(state[1]);
  float loss = 0.0;
  for (uint r = t; r < batch; r += 256) {
    const uint base = r * classes, label = y[r];
    if (label >= classes) {
      for (uint j = 0; j < classes; ++j) dz[base + j] = 0.0;
      continue;
    }
    float m = z[base];
    for (uint j = 1; j < classes; ++j) m = max(m, z[base + j]);
    float total = 0.0;
    for (uint j = 0; j < classes; ++j) total += exp(z[base + j] - m);
    loss += log(total) - (z[base + label] - m);
    for (uint j = 0; j < classes; ++j)
      dz[base + j] = (exp(z[base + j] - m) / total - (j == label ? 1.0 : 0.0)) / rows;
  }
  part[t] = loss;
  barrier();
  for (uint s = 128; s > 0; s >>= 1) {
    if (t < s) part[t] += part[t + s];
    barrier();
  }
  if (t == 0) losses[state[0]] = part[0] / rows;
}
