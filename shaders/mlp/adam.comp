// adam.comp — torch.optim.Adam's update over every parameter of the network at once (the weights
// and biases of all layers sit in one buffer, their gradients and moments in three more):
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g²;  w -= lr (m / c1) / (sqrt(v / c2) + eps)
// The bias corrections c1 = 1 - b1^t, c2 = 1 - b2^t of each step of the epoch are computed by the
// host, in float as the CPU's Adam does, and read here at corrections[2 step], [2 step + 1].
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) buffer W { float w[]; };
layout(set = 0, binding = 1) readonly buffer G { float g[]; };
layout(set = 0, binding = 2) buffer M1 { float m[]; };
layout(set = 0, binding = 3) buffer M2 { float v[]; };
layout(set = 0, binding = 4) readonly buffer Corrections { float corrections[]; };
layout(set = 0, binding = 5) readonly buffer State { uint state[]; };
layout(push_constant) uniform Push { uint n; float lr; float beta1; float beta2; float eps; };

void main() {
  const uint step = state[0];
  const float c1 = corrections[2 * step], c2 = corrections[2 * step + 1];
  for (uint i = gl_GlobalInvocationID.x; i < n; i += gl_NumWorkGroups.x * 256) {
    const float gi = g[i];
    m[i] = beta1 * m[i] + (1.0 - beta1) * gi;
    v[i] = beta2 * v[i] + (1.0 - beta2) * gi * gi;
    w[i] -= lr * (m[i] / c1) / (sqrt(v[i] / c2) + eps);
  }
}
