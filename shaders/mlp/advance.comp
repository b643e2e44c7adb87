// advance.comp — the last dispatch of a training step: the next replay of the same recorded
// commands takes the next batch (state[0] is the step of the epoch every other kernel reads).
#version 450
layout(local_size_x = 1) in;
layout(set = 0, binding = 0) buffer State { uint state[]; };
void main() { state[0] += 1; }
