// trace.comp — the path-tracer lab's tracer on the GPU: one thread per pixel, `count` camera
// samples each, the same estimator as src/labs/m4/path_tracer.hpp (same scene, same counter-based
// random numbers, same BVH: the flat node array of src/labs/m1/bvh.hpp, uploaded as it lies).
// Each dispatch adds its samples' radiance to `accum` (or writes it, when accumulate == 0) and the
// segments it traced to `rays`, so a long render can be split over several dispatches.
#version 450
layout(local_size_x = 8, local_size_y = 8) in;

struct Node { float lo_x, lo_y, lo_z, hi_x, hi_y, hi_z; uint right_or_first, count; };  // FlatBvh::Node
struct Material { vec4 albedo_param; vec4 kind; };  // kind.x: 0 diffuse, 1 metal, 2 glass

layout(std430, set = 0, binding = 0) readonly buffer Spheres { vec4 spheres[]; };  // centre, radius
layout(std430, set = 0, binding = 1) readonly buffer Materials { Material materials[]; };
layout(std430, set = 0, binding = 2) readonly buffer Nodes { Node nodes[]; };
layout(std430, set = 0, binding = 3) readonly buffer Order { uint order_[]; };
layout(std430, set = 0, binding = 4) readonly buffer Cam { vec4 origin, corner, horizontal, vertical; } cam;
layout(std430, set = 0, binding = 5) buffer Accum { float accum[]; };  // RGB sums per pixel
layout(std430, set = 0, binding = 6) buffer Rays { uint rays[]; };     // segments per pixel
layout(push_constant) uniform Push { uint width, height, first_sample, count, depth, accumulate; };

const float kNoHit = 1.0 / 0.0;
const float kOffset = 1e-3;

uint pcg_hash(uint v) {
  uint state = v * 747796405u + 2891336453u;
  uint word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}
uint rng;
float uniform01() {
  rng = pcg_hash(rng);
  return float(rng >> 8) * (1.0 / 16777216.0);
}
vec3 random_unit_vector() {
  float z = 2.0 * uniform01() - 1.0;
  float phi = 6.2831853 * uniform01();
  float r = sqrt(max(0.0, 1.0 - z * z));
  return vec3(r * cos(phi), r * sin(phi), z);
}

float hit_sphere(vec3 o, vec3 d, vec4 s) {  // bvh.hpp's hit_sphere
  vec3 oc = o - s.xyz;
  float a = dot(d, d), half_b = dot(oc, d), c = dot(oc, oc) - s.w * s.w;
  float disc = half_b * half_b - a * c;
  if (disc < 0.0) return kNoHit;
  float root = sqrt(disc);
  float t = (-half_b - root) / a;
  if (t <= 0.0) t = (-half_b + root) / a;
  return t > 0.0 ? t : kNoHit;
}

float box_entry(uint i, vec3 o, vec3 inv, float t_max) {  // bvh.hpp's slab test
  Node n = nodes[i];
  vec3 t_lo = (vec3(n.lo_x, n.lo_y, n.lo_z) - o) * inv, t_hi = (vec3(n.hi_x, n.hi_y, n.hi_z) - o) * inv;
  vec3 near = min(t_lo, t_hi), far = max(t_lo, t_hi);
  float t0 = max(max(near.x, near.y), max(near.z, 0.0));
  float t1 = min(min(far.x, far.y), min(far.z, t_max));
  return t0 <= t1 ? t0 : kNoHit;
}

// FlatBvh::closest_hit: nearest child first, a stack of (node, entry t).
float closest_hit(vec3 o, vec3 d, out uint index) {
  float best = kNoHit;
  index = 0xffffffffu;
  vec3 inv = 1.0 / d;
  uint stack_node[64];
  float stack_t[64];
  int top = 0;
  float t_root = box_entry(0u, o, inv, kNoHit);
  if (t_root == kNoHit) return best;
  stack_node[0] = 0u, stack_t[0] = t_root, top = 1;
  while (top > 0) {
    --top;
    uint i = stack_node[top];
    if (stack_t[top] > best) continue;
    Node n = nodes[i];
    if (n.count > 0u) {
      for (uint j = n.right_or_first; j < n.right_or_first + n.count; ++j) {
        uint s = order_[j];
        float t = hit_sphere(o, d, spheres[s]);
        if (t < best || (t == best && t < kNoHit && s < index)) { best = t; index = s; }
      }
      continue;
    }
    uint a = i + 1u, b = n.right_or_first;
    float ta = box_entry(a, o, inv, best), tb = box_entry(b, o, inv, best);
    if (tb < ta) { uint x = a; a = b; b = x; float y = ta; ta = tb; tb = y; }
    if (tb < kNoHit) { stack_node[top] = b; stack_t[top] = tb; ++top; }
    if (ta < kNoHit) { stack_node[top] = a; stack_t[top] = ta; ++top; }
  }
  return best;
}

vec3 trace(vec3 o, vec3 d, inout uint traced) {
  vec3 throughput = vec3(1.0);
  for (uint bounce = 0u; bounce < depth; ++bounce) {
    ++traced;
    uint index;
    float t = closest_hit(o, d, index);
    if (t == kNoHit) {
      float k = 0.5 * (d.y + 1.0);
      return throughput * ((1.0 - k) * vec3(1.0) + k * vec3(0.5, 0.7, 1.0));
    }
    vec4 s = spheres[index];
    Material m = materials[index];
    vec3 p = o + t * d;
    vec3 outward = (1.0 / s.w) * (p - s.xyz);
    bool front = dot(d, outward) < 0.0;
    vec3 n = front ? outward : -outward;
    vec3 dir;
    uint kind = uint(m.kind.x);
    if (kind == 0u) {
      dir = n + random_unit_vector();
      if (dot(dir, dir) < 1e-8) dir = n;
      throughput *= m.albedo_param.xyz;
    } else if (kind == 1u) {
      dir = reflect(d, n) + m.albedo_param.w * random_unit_vector();
      if (dot(dir, n) <= 0.0) return vec3(0.0);
      throughput *= m.albedo_param.xyz;
    } else {
      float eta = front ? 1.0 / m.albedo_param.w : m.albedo_param.w;
      float cos_i = min(-dot(d, n), 1.0);
      float sin_t2 = eta * eta * (1.0 - cos_i * cos_i);
      float r0 = ((1.0 - eta) / (1.0 + eta)) * ((1.0 - eta) / (1.0 + eta));
      float schlick = r0 + (1.0 - r0) * pow(1.0 - cos_i, 5.0);
      float u = uniform01();
      if (sin_t2 > 1.0 || schlick > u) dir = reflect(d, n);
      else dir = eta * (d + cos_i * n) - sqrt(1.0 - sin_t2) * n;
    }
    dir = normalize(dir);
    bool inward = dot(dir, n) < 0.0;
    o = p + (inward ? -kOffset : kOffset) * n;
    d = dir;
  }
  return vec3(0.0);
}

void main() {
  uint x = gl_GlobalInvocationID.x, y = gl_GlobalInvocationID.y;
  if (x >= width || y >= height) return;
  uint pixel = y * width + x;
  vec3 sum = vec3(0.0);
  uint traced = 0u;
  for (uint k = 0u; k < count; ++k) {
    rng = pcg_hash(pixel ^ pcg_hash(first_sample + k + 0x9E3779B9u));
    float u = (float(x) + uniform01()) / float(width);
    float v = (float(height - 1u - y) + uniform01()) / float(height);
    vec3 d = normalize(cam.corner.xyz + u * cam.horizontal.xyz + v * cam.vertical.xyz - cam.origin.xyz);
    sum += trace(cam.origin.xyz, d, traced);
  }
  if (accumulate != 0u) {
    accum[3u * pixel] += sum.x, accum[3u * pixel + 1u] += sum.y, accum[3u * pixel + 2u] += sum.z;
    rays[pixel] += traced;
  } else {
    accum[3u * pixel] = sum.x, accum[3u * pixel + 1u] = sum.y, accum[3u * pixel + 2u] = sum.z;
    rays[pixel] = traced;
  }
}
