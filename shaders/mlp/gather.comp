// gather.comp — a batch of images from the set that stays on the GPU: x = pixels / 255, y = labels.
// The training set is uploaded once, 4 pixels to a uint; each step picks its rows through the
// epoch's order (an index buffer), so the host sends nothing per step.
//   train (use_order 1): step = state[0], image ids order[step * batch + r], state[2] of them
//   test  (use_order 0): image ids base + r, push count of them
// Rows past the end of the set (the last, short batch) get x = 0 and label kNoLabel: the loss
// kernel gives them no gradient, so every sum over the batch is the short batch's sum.
// Also writes state[1] = the rows of this batch that hold an image.
// One thread per pixel: x over the features, y over the rows of the batch.
#version 450
layout(local_size_x = 256) in;

layout(set = 0, binding = 0) readonly buffer Images { uint pixels[]; };  // count x features bytes
layout(set = 0, binding = 1) readonly buffer Labels { uint labels[]; };
layout(set = 0, binding = 2) readonly buffer Order { uint order[]; };
layout(set = 0, binding = 3) buffer State { uint state[]; };  // step, rows, count
layout(set = 0, binding = 4) writeonly buffer X { float x[]; };  // batch x features
layout(set = 0, binding = 5) writeonly buffer Y { uint y[]; };   // batch
layout(push_constant) uniform Push { uint features; uint batch; uint base; uint count; uint use_order; };

const uint kNoLabel = 0xffffffffu;

void main() {
  const uint p = gl_GlobalInvocationID.x, r = gl_WorkGroupID.y;
  const uint start = use_order != 0 ? state[0] * batch : base;
  const uint n = use_order != 0 ? state[2] : count;
  const bool valid = start + r < n;
  const uint id = !valid ? 0 : use_order != 0 ? order[start + r] : start + r;
  if (p < features) {
    const uint at = id * features + p;
    const float pixel = float((pixels[at >> 2] >> (8 * (at & 3))) & 255u);
    x[r * features + p] = valid ? pixel * (1.0 / 255.0) : 0.0;  // as the CPU: times the float 1/255
  }
  if (p == 0) y[r] = valid ? labels[id] : kNoLabel;
  if (p == 0 && r == 0) state[1] = min(batch, n - start);
}
