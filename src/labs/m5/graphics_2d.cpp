// graphics-2d — Drawing N particles into a 1280 x 720 framebuffer: what does a software
// rasterizer of ours cost per particle, and what does batching buy on the GPU (one draw call per
// particle against one instanced draw of them all)?
//
// What: N particles (seeded positions, some across the edges; radii 1..8 pixels; RGBA colours,
// alpha 0.5..1), N = 100 ... 1 000 000, into an RGBA8 framebuffer, blended "over" in the
// framebuffer's 8-bit (sRGB-encoded) values, as glBlendFunc does without GL_FRAMEBUFFER_SRGB.
// Every frame starts with a clear. Variants (the software ones are in raster_2d.hpp):
//   points, scalar                one pixel per particle
//   circles, scalar               every pixel of each circle's bounding box: coverage
//                                 clamp(r + 0.5 - d, 0, 1) (a 1-pixel smooth edge), then blend
//   circles, spans (SoA)          row by row, only the span the circle covers; no square root in
//                                 the fully covered middle of each span
//   circles, spans, T bands       T threads, each owning the rows of one horizontal band (no two
//                                 threads write one pixel, so no locks and the same bytes)
//   circles, GL: a draw each      OpenGL 3.3 core: glUniform + glDrawArrays per particle (a quad;
//                                 the fragment shader computes the same coverage)
//   circles, GL: one instanced    the particles in a vertex buffer (uploaded each frame, 16 bytes
//                                 per particle), one glDrawArraysInstanced for all of them
// GL times are wall time around glFinish (the work is done when glFinish returns); the
// GPU's own GL_TIME_ELAPSED query is recorded beside them for the instanced draw.
// Checks, before timing: the coverage formula against 16 x 16 samples per pixel in double; the
// spans and every band count against the scalar circles, byte for byte; points against a
// double-precision blend; both GL images (glReadPixels) against ours, per pixel within a tolerance.
//
//   dontpanic run graphics-2d              N up to 1e6 (a draw each: up to 1e5)
//   dontpanic run graphics-2d --quick      N up to 1e4 (a draw each: up to 1e3)
//   --param threads=2   --param picture=guide   (writes guide/docs/m5/img/graphics-2d.png)
// GL needs an X display: ./test starts an Xvfb; by hand: xvfb-run -a -s '-screen 0 1280x720x24'.
// Without a display, or without GL 3.3, the GL variants are skipped with a note.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#if defined(DP_HAVE_STB)
#include <stb_image_write.h>
#endif

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/portability.hpp"
#include "core/source_tree.hpp"
#include "core/sweep.hpp"
#include "core/thread_team.hpp"
#include "labs/m5/gl_context.hpp"
#include "labs/m5/raster_2d.hpp"

namespace {

namespace rs = dp::raster;
using rs::Framebuffer;
using rs::Particles;

constexpr int kWidth = 1280, kHeight = 720;
constexpr int kSamples = 16;               // the coverage reference: 16 x 16 samples per pixel
constexpr double kCoverageBound = 0.1;     // |ours - reference| per pixel (see the page)
constexpr int kGlTolerance = 2;            // per channel, 0..255, GL image against ours
constexpr double kGlWorseShare = 0.001;    // the share of pixels allowed past kGlTolerance
constexpr int kGlWorstAllowed = 16;        // and no channel further off than this

// ---------------------------------------------------------------------------------------------
// The GL variants
// ---------------------------------------------------------------------------------------------
#if defined(DP_HAVE_GL)
// Both vertex shaders make a quad of (r + 1) around the centre from gl_VertexID (a triangle strip of
// 4), in pixels with y down, and pass the circle and its colour on, flat.
const char* kVertexPerDraw = R"(#version 330 core
uniform vec2 u_size;
uniform vec3 u_circle;
uniform vec4 u_color;
flat out vec3 v_circle;
flat out vec4 v_color;
void main() {
  vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
  vec2 p = u_circle.xy + corner * (u_circle.z + 1.0);
  gl_Position = vec4(p.x / u_size.x * 2.0 - 1.0, 1.0 - p.y / u_size.y * 2.0, 0.0, 1.0);
  v_circle = u_circle;
  v_color = u_color;
})";
const char* kVertexInstanced = R"(#version 330 core
uniform vec2 u_size;
layout(location = 0) in vec3 a_circle;
layout(location = 1) in vec4 a_color;
flat out vec3 v_circle;
flat out vec4 v_color;
void main() {
  vec2 corner = vec2(gl_VertexID & 1, gl_VertexID >> 1) * 2.0 - 1.0;
  vec2 p = a_circle.xy + corner * (a_circle.z + 1.0);
  gl_Position = vec4(p.x / u_size.x * 2.0 - 1.0, 1.0 - p.y / u_size.y * 2.0, 0.0, 1.0);
  v_circle = a_circle;
  v_color = a_color;
})";
// The same coverage as raster_2d.hpp's, at the pixel's centre (gl_FragCoord, y flipped).
const char* kFragment = R"(#version 330 core
uniform vec2 u_size;
flat in vec3 v_circle;
flat in vec4 v_color;
out vec4 o_color;
void main() {
  vec2 d = vec2(gl_FragCoord.x, u_size.y - gl_FragCoord.y) - v_circle.xy;
  float cov = clamp(v_circle.z + 0.5 - sqrt(d.x * d.x + d.y * d.y), 0.0, 1.0);
  if (cov <= 0.0) discard;
  o_color = vec4(v_color.rgb, v_color.a * cov);
})";

struct Instance {  // what the vertex buffer holds per particle: 16 bytes
  float x, y, r;
  std::uint32_t rgba;
};

class GlScene {
 public:
  GlScene() {
    auto& g = ctx_.gl;
    per_draw_ = dp::gl::compile_program(g, kVertexPerDraw, kFragment);
    instanced_ = dp::gl::compile_program(g, kVertexInstanced, kFragment);
    // An offscreen RGBA8 target of the framebuffer's size (the hidden window's own is tiny).
    g.GenFramebuffers(1, &fbo_);
    g.GenRenderbuffers(1, &rbo_);
    g.BindRenderbuffer(GL_RENDERBUFFER, rbo_);
    g.RenderbufferStorage(GL_RENDERBUFFER, GL_RGBA8, kWidth, kHeight);
    g.BindFramebuffer(GL_FRAMEBUFFER, fbo_);
    g.FramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rbo_);
    if (g.CheckFramebufferStatus(GL_FRAMEBUFFER) != GL_FRAMEBUFFER_COMPLETE) throw dp::Error("the RGBA8 offscreen framebuffer is incomplete");
    g.Viewport(0, 0, kWidth, kHeight);
    g.Enable(GL_BLEND);
    // "Over": colour = src * a + dst * (1 - a); alpha = a + dst_alpha * (1 - a), as blend_over.
    g.BlendFuncSeparate(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA, GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
    const std::uint32_t bg = rs::kBackground;
    g.ClearColor(float(bg & 0xff) / 255.0f, float(bg >> 8 & 0xff) / 255.0f, float(bg >> 16 & 0xff) / 255.0f, float(bg >> 24) / 255.0f);
    g.GenVertexArrays(1, &vao_);
    g.BindVertexArray(vao_);
    g.GenBuffers(1, &vbo_);
    g.BindBuffer(GL_ARRAY_BUFFER, vbo_);
    g.VertexAttribPointer(0, 3, GL_FLOAT, GL_FALSE, sizeof(Instance), nullptr);
    g.VertexAttribPointer(1, 4, GL_UNSIGNED_BYTE, GL_TRUE, sizeof(Instance), reinterpret_cast<const void*>(3 * sizeof(float)));
    g.EnableVertexAttribArray(0);
    g.EnableVertexAttribArray(1);
    g.VertexAttribDivisor(0, 1);
    g.VertexAttribDivisor(1, 1);
    for (const GLuint p : {per_draw_, instanced_}) {
      g.UseProgram(p);
      g.Uniform2f(g.GetUniformLocation(p, "u_size"), float(kWidth), float(kHeight));
    }
    u_circle_ = g.GetUniformLocation(per_draw_, "u_circle");
    u_color_ = g.GetUniformLocation(per_draw_, "u_color");
    g.GenQueries(1, &query_);
    if (const GLenum e = g.GetError(); e != GL_NO_ERROR) throw dp::Error(fmt::format("GL error 0x{:x} while setting up", e));
  }
  ~GlScene() {
    auto& g = ctx_.gl;
    g.DeleteQueries(1, &query_);
    g.DeleteBuffers(1, &vbo_);
    g.DeleteVertexArrays(1, &vao_);
    g.DeleteFramebuffers(1, &fbo_);
    g.DeleteRenderbuffers(1, &rbo_);
    g.DeleteProgram(per_draw_);
    g.DeleteProgram(instanced_);
  }
  GlScene(const GlScene&) = delete;
  GlScene& operator=(const GlScene&) = delete;

  std::string renderer() const { return ctx_.renderer(); }
  std::string version() const { return ctx_.version(); }

  void set_particles(const Particles& p) {
    data_.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) data_[i] = {p.x[i], p.y[i], p.r[i], p.rgba[i]};
  }

  // (a) one glDrawArrays per particle, its circle and colour set as uniforms first.
  void draw_each(const Particles& p) {
    auto& g = ctx_.gl;
    g.Clear(GL_COLOR_BUFFER_BIT);
    g.UseProgram(per_draw_);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const std::uint32_t c = p.rgba[i];
      g.Uniform3f(u_circle_, p.x[i], p.y[i], p.r[i]);
      g.Uniform4f(u_color_, float(c & 0xff) / 255.0f, float(c >> 8 & 0xff) / 255.0f, float(c >> 16 & 0xff) / 255.0f, float(c >> 24) / 255.0f);
      g.DrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    }
    g.Finish();
  }

  // (b) the particles uploaded into the vertex buffer, then one instanced draw of all of them.
  void draw_instanced() {
    auto& g = ctx_.gl;
    g.Clear(GL_COLOR_BUFFER_BIT);
    g.UseProgram(instanced_);
    g.BufferData(GL_ARRAY_BUFFER, static_cast<GLsizeiptr>(data_.size() * sizeof(Instance)), data_.data(), GL_STREAM_DRAW);
    g.DrawArraysInstanced(GL_TRIANGLE_STRIP, 0, 4, static_cast<GLsizei>(data_.size()));
    g.Finish();
  }

  // The GPU's own time for one instanced frame (GL_TIME_ELAPSED), in ns.
  double timed_instanced() {
    auto& g = ctx_.gl;
    g.BeginQuery(GL_TIME_ELAPSED, query_);
    draw_instanced();
    g.EndQuery(GL_TIME_ELAPSED);
    GLuint64 ns = 0;
    g.GetQueryObjectui64v(query_, GL_QUERY_RESULT, &ns);
    return static_cast<double>(ns);
  }

  // What the offscreen target holds, top row first (GL's rows go bottom up).
  Framebuffer read() {
    auto& g = ctx_.gl;
    Framebuffer fb(kWidth, kHeight), flipped(kWidth, kHeight);
    g.PixelStorei(GL_PACK_ALIGNMENT, 4);
    g.ReadPixels(0, 0, kWidth, kHeight, GL_RGBA, GL_UNSIGNED_BYTE, fb.px.data());
    for (int y = 0; y < kHeight; ++y) std::copy_n(fb.at(0, kHeight - 1 - y), kWidth * 4, flipped.at(0, y));
    return flipped;
  }

 private:
  dp::gl::GlContext ctx_;
  GLuint per_draw_ = 0, instanced_ = 0, fbo_ = 0, rbo_ = 0, vao_ = 0, vbo_ = 0, query_ = 0;
  GLint u_circle_ = -1, u_color_ = -1;
  std::vector<Instance> data_;
};
#endif

// Why the GL variants cannot run here, or "" when they can be tried.
std::string gl_unavailable() {
#if !defined(DP_HAVE_GL)
  return "GLFW or OpenGL was not found when this was built (Debian: apt install libglfw3-dev libgl-dev, then configure again)";
#elif defined(DP_SANITIZED)
  // Mesa's driver threads are not built with the sanitizer: TSan would report races inside them
  // that are not ours, and the leak checker the driver's own allocations.
  return "this is a sanitizer build and Mesa's GL driver is not instrumented";
#else
  const char* display = std::getenv("DISPLAY");
  if (display == nullptr || *display == '\0')
    return "there is no X display ($DISPLAY is unset); run it under xvfb-run -a -s '-screen 0 1280x720x24', or on a desktop";
  return "";
#endif
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

struct ImageDiff {
  int worst = 0;            // the largest channel difference
  std::size_t over = 0;     // pixels with a channel off by more than the tolerance
  std::size_t first = 0;    // the first of them (pixel index)
};

ImageDiff diff(const Framebuffer& a, const Framebuffer& b, int tolerance) {
  ImageDiff d;
  const std::size_t n = static_cast<std::size_t>(a.width) * a.height;
  for (std::size_t i = 0; i < n; ++i) {
    int m = 0;
    for (int k = 0; k < 4; ++k) m = std::max(m, std::abs(int(a.px[i * 4 + k]) - int(b.px[i * 4 + k])));
    d.worst = std::max(d.worst, m);
    if (m > tolerance && d.over++ == 0) d.first = i;
  }
  return d;
}

std::string where(const Framebuffer& fb, std::size_t pixel) {
  return fmt::format("pixel ({}, {})", pixel % static_cast<std::size_t>(fb.width), pixel / static_cast<std::size_t>(fb.width));
}

// The coverage formula against the exact area (16 x 16 samples, double) on every pixel of `count`
// random circles: the largest and the mean difference.
void check_coverage(dp::LabContext& ctx, int count) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> sub(0.0, 1.0), radius(1.0, 8.0);
  double worst = 0, sum = 0;
  long pixels = 0;
  std::string at;
  for (int c = 0; c < count; ++c) {
    const float cx = static_cast<float>(20 + sub(rng)), cy = static_cast<float>(20 + sub(rng)), r = static_cast<float>(radius(rng));
    for (int y = 10; y < 31; ++y)
      for (int x = 10; x < 31; ++x) {
        const double ours = rs::coverage(float(x) + 0.5f - cx, float(y) + 0.5f - cy, r);
        const double ref = rs::reference_coverage(x, y, cx, cy, r, kSamples);
        if (ours == 0 && ref == 0) continue;
        const double e = std::abs(ours - ref);
        sum += e;
        ++pixels;
        if (e > worst) worst = e, at = fmt::format("pixel ({}, {}) of the circle at ({:.3f}, {:.3f}), r {:.3f}: {:.4f} vs {:.4f}", x, y, cx, cy, r, ours, ref);
      }
  }
  ctx.result.add_check("anti-aliased coverage vs 16 x 16 samples per pixel", worst <= kCoverageBound,
                       fmt::format("{} circles, {} pixels touched: largest difference {:.4f} (bound {}), mean {:.4f}; largest at {}", count,
                                   pixels, worst, kCoverageBound, sum / double(pixels), at));
}

// Points blended in double precision, rounded to bytes after each blend as the framebuffer is.
Framebuffer reference_points(const Particles& p) {
  Framebuffer fb(kWidth, kHeight);
  fb.clear(rs::kBackground);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const int x = static_cast<int>(std::floor(p.x[i])), y = static_cast<int>(std::floor(p.y[i]));
    if (x < 0 || y < 0 || x >= kWidth || y >= kHeight) continue;
    const std::uint32_t c = p.rgba[i];
    const double a = double(c >> 24) / 255.0;
    std::uint8_t* d = fb.at(x, y);
    for (int k = 0; k < 3; ++k) d[k] = static_cast<std::uint8_t>(std::floor(double((c >> (8 * k)) & 0xff) * a + d[k] * (1 - a) + 0.5));
    d[3] = static_cast<std::uint8_t>(std::floor(255.0 * a + d[3] * (1 - a) + 0.5));
  }
  return fb;
}

// ---------------------------------------------------------------------------------------------
// The run: check, then time
// ---------------------------------------------------------------------------------------------

std::string plural(int n, const char* one) { return fmt::format("{} {}{}", n, one, n == 1 ? "" : "s"); }

void write_picture(dp::LabContext& ctx, const Framebuffer& fb) {
#if defined(DP_HAVE_STB)
  const auto path = dp::source_dir() / "guide/docs/m5/img/graphics-2d.png";
  std::filesystem::create_directories(path.parent_path());
  if (stbi_write_png(path.string().c_str(), fb.width, fb.height, 4, fb.px.data(), fb.width * 4) == 0)
    throw dp::Error(fmt::format("could not write {}", path.string()));
  ctx.result.notes.push_back(fmt::format("The picture: {} ({} KiB).", path.string(), std::filesystem::file_size(path) / 1024));
#else
  (void)fb;
  ctx.result.notes.push_back("picture=guide needs stb_image_write (Debian: apt install libstb-dev, then configure again): no picture written.");
#endif
}

void run(dp::LabContext& ctx) {
  const int cpus = std::max<int>(1, static_cast<int>(dp::allowed_cpus().size()));
  const int threads = ctx.params.integer("threads") > 0 ? static_cast<int>(ctx.params.integer("threads")) : cpus;
  if (dp::kSanitized) ctx.result.notes.push_back("Sanitizer build: the times mean nothing here, only the checks do.");
  ctx.result.notes.push_back("Blending: \"over\" on the framebuffer's 8-bit values as stored (sRGB-encoded, not linear light), "
                             "what glBlendFunc does on an RGBA8 target without GL_FRAMEBUFFER_SRGB. Each frame starts with a clear.");

  // --- GL: open it once, or say why not ---
#if defined(DP_HAVE_GL)
  std::unique_ptr<GlScene> gl;
#endif
  std::string no_gl = gl_unavailable();
#if defined(DP_HAVE_GL)
  if (no_gl.empty()) {
    try {
      gl = std::make_unique<GlScene>();
      const std::string renderer = gl->renderer();
      ctx.result.notes.push_back(fmt::format("OpenGL: {} ({}). GL times are wall time around glFinish; the instanced draw's "
                                             "GL_TIME_ELAPSED query is its own series.",
                                             renderer, gl->version()));
      if (renderer.find("llvmpipe") != std::string::npos || renderer.find("softpipe") != std::string::npos)
        ctx.result.notes.push_back("This renderer is Mesa's CPU rasterizer (llvmpipe): the \"GL\" numbers here are software on this "
                                   "CPU's cores, not a GPU. On a laptop's GPU expect the instanced frame to be much faster than any "
                                   "variant here, and a draw per particle to be limited by the driver's CPU cost per call.");
    } catch (const dp::Error& e) {
      no_gl = e.what();
    }
  }
#endif
  if (!no_gl.empty()) ctx.result.notes.push_back(fmt::format("The GL variants are skipped: {}. The software variants run and are checked.", no_gl));

  // --- Checks that do not depend on N ---
  check_coverage(ctx, ctx.quick ? 40 : 200);

  std::vector<int> band_counts;
  for (int t = 2; t < threads; t *= 2) band_counts.push_back(t);
  if (threads > 1) band_counts.push_back(threads);

  const std::vector<std::uint64_t> sizes =
      ctx.quick ? std::vector<std::uint64_t>{100, 1000, 10000} : std::vector<std::uint64_t>{100, 1000, 10000, 100000, 1000000};
  [[maybe_unused]] const std::uint64_t max_each = ctx.quick ? 1000 : 100000;  // a draw per particle is slow: fewer of them
  Framebuffer want(kWidth, kHeight), fb(kWidth, kHeight);
  std::vector<std::string> failures;
  int checked = 0;
  const auto check = [&](const std::string& what, bool ok, const std::string& detail) {
    ++checked;
    if (!ok) failures.push_back(fmt::format("{}: {}", what, detail));
    return ok;
  };
  const auto exact = [&](const std::string& what) {
    const ImageDiff d = diff(fb, want, 0);
    return check(what, d.over == 0, fmt::format("{} pixels differ from the scalar circles, first at {}, by up to {}", d.over, where(fb, d.first), d.worst));
  };
  const auto time = [&](const std::string& series, double n, const std::function<void()>& body) {
    const dp::Stats s = ctx.measure(fmt::format("{}/{}", series, n), body);
    ctx.result.add_point(series, "particles", n, s.per(n), n / s.median_ns * 1e3, "Mparticles/s");
  };
  std::string gl_summary;
  const dp::SweepOptions options{.label = [](std::uint64_t n) { return fmt::format("{} particles", n); },
                                 .weight = [](std::uint64_t n) { return double(n); }, .budget_share = 1.0};
  for (const std::uint64_t nu : dp::Sweep(ctx, "N", sizes, options)) {
    const double n = static_cast<double>(nu);
    const Particles p = rs::make_particles(nu, kWidth, kHeight, 1000 + nu);
    rs::validate(p);
    const std::string at = fmt::format("N = {}", nu);

    // points
    fb.clear(rs::kBackground);
    rs::draw_points_scalar(fb, p);
    const Framebuffer ref = reference_points(p);
    const ImageDiff dp_ = diff(fb, ref, 1);
    if (check(fmt::format("points vs double precision, {}", at), dp_.over == 0,
              fmt::format("{} pixels off by more than 1, first at {}", dp_.over, where(fb, dp_.first))))
      time("points, scalar", n, [&] { fb.clear(rs::kBackground); rs::draw_points_scalar(fb, p); });

    // circles: the scalar one is the image the others must reproduce
    want.clear(rs::kBackground);
    rs::draw_circles_scalar(want, p);
    time("circles, scalar", n, [&] { fb.clear(rs::kBackground); rs::draw_circles_scalar(fb, p); });
    fb.clear(rs::kBackground);
    rs::draw_circles_spans(fb, p);
    if (exact(fmt::format("spans, {}", at)))
      time("circles, spans (SoA)", n, [&] { fb.clear(rs::kBackground); rs::draw_circles_spans(fb, p); });
    for (const int bands : band_counts) {
      const auto job = [&, bands](int t) {
        const auto [y0, y1] = rs::band_rows(kHeight, bands, t);
        auto* row = reinterpret_cast<std::uint32_t*>(fb.at(0, y0));
        std::fill(row, row + static_cast<std::size_t>(y1 - y0) * kWidth, rs::kBackground);
        rs::draw_circles_band(fb, p, y0, y1);
      };
      std::fill(fb.px.begin(), fb.px.end(), std::uint8_t{0x5a});
      const std::string name = fmt::format("circles, spans, {}", plural(bands, "band thread"));
      dp::ThreadTeam team(bands, job);
      team.run();
      if (exact(fmt::format("{}, {}", name, at))) time(name, n, [&] { team.run(); });
    }

#if defined(DP_HAVE_GL)
    if (gl) {
      // (b) instanced: against our image, then timed; its GL_TIME_ELAPSED beside it
      gl->set_particles(p);
      gl->draw_instanced();
      const Framebuffer mine = gl->read();
      const ImageDiff d = diff(mine, want, kGlTolerance);
      const double share = double(d.over) / (double(kWidth) * kHeight);
      const bool ok = share <= kGlWorseShare && d.worst <= kGlWorstAllowed;
      if (check(fmt::format("GL instanced image vs ours, {}", at), ok,
                fmt::format("{} pixels ({:.4f}%) off by more than {} (allowed {:.2f}%), worst {} (allowed {}), first at {}", d.over,
                            100 * share, kGlTolerance, 100 * kGlWorseShare, d.worst, kGlWorstAllowed, where(mine, d.first)))) {
        time("circles, GL: one instanced draw", n, [&] { gl->draw_instanced(); });
        std::vector<double> ns;
        for (int i = 0; i < 5; ++i) ns.push_back(gl->timed_instanced());
        std::sort(ns.begin(), ns.end());
        dp::Stats s{.median_ns = ns[2], .p10_ns = ns[0], .p90_ns = ns[4], .min_ns = ns[0], .reps = 5};
        ctx.result.add_point("circles, GL: one instanced draw (GL_TIME_ELAPSED)", "particles", n, s.per(n), n / s.median_ns * 1e3, "Mparticles/s");
      }
      gl_summary = fmt::format("at N = {}: {} of {} pixels off by more than {}, worst {}", nu, d.over, kWidth * kHeight, kGlTolerance, d.worst);
      // (a) a draw per particle: the same shader, its circle and colour from uniforms instead of
      // attributes (llvmpipe rounds the two paths' colours a hair apart: a pixel in 10^5 differed by
      // 1), so it is held to the same rule against our image as (b)
      if (nu <= max_each) {
        gl->draw_each(p);
        const Framebuffer each = gl->read();
        const ImageDiff e = diff(each, want, kGlTolerance);
        const double each_share = double(e.over) / (double(kWidth) * kHeight);
        if (check(fmt::format("GL a draw each vs ours, {}", at), each_share <= kGlWorseShare && e.worst <= kGlWorstAllowed,
                  fmt::format("{} pixels ({:.4f}%) off by more than {}, worst {}, first at {}", e.over, 100 * each_share, kGlTolerance,
                              e.worst, where(each, e.first))))
          time("circles, GL: a draw per particle", n, [&] { gl->draw_each(p); });
      }
    }
#endif
    if (ctx.params.text("picture") == "guide" && nu == 1000) write_picture(ctx, want);
  }

  ctx.result.add_check("every image matches its reference", failures.empty(),
                       failures.empty() ? fmt::format("{} images: spans and bands byte for byte equal to the scalar circles, points within 1 "
                                                      "of double precision{}",
                                                      checked, gl_summary.empty() ? "" : fmt::format(", GL within tolerance ({})", gl_summary))
                                        : fmt::format("{} of {} differ; first: {}", failures.size(), checked, failures.front()));

  // --- Headlines ---
  const auto& r = ctx.result;
  if (const auto* s = r.find_series("circles, scalar"); s && !s->points.empty()) {
    const double x = s->points.back().x;
    std::string line;
    for (const auto& series : r.series)
      if (const auto* pt = r.point_at(series.variant, x))
        line += fmt::format("{}{} {:.1f}", line.empty() ? "" : ", ", series.variant, pt->median_ns);
    ctx.result.headlines.push_back({fmt::format("ns per particle at N = {:.0f}", x), line});
  }
  if (const auto* s = r.find_series("circles, GL: a draw per particle"); s && !s->points.empty()) {
    const auto& pt = s->points.back();
    ctx.result.headlines.push_back({"GL draw calls per second (a draw per particle)",
                                    fmt::format("{:.0f} at N = {:.0f} ({:.0f} ns per draw)", 1e9 / pt.median_ns, pt.x, pt.median_ns)});
  }
  ctx.result.plots.push_back(dp::PlotSpec{.name = "cost", .title = "drawing N particles into 1280 x 720 RGBA8",
                                          .xlabel = "particles N", .ylabel = "ns per particle (frame time / N)",
                                          .y = dp::PlotSpec::Y::time, .logx = true, .logy = true, .variants = {}});
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "graphics-2d",
             .title = "Graphics in 2D: a software rasterizer, a draw call per particle, one batched draw",
             .module = 5,
             .level = 3,
             .tracks = {"cg"},
             .question = "What does drawing a particle cost in our own rasterizer and through OpenGL, and what does batching buy?",
             .guide_page = "m5/graphics-2d.md",
             .source = "src/labs/m5/graphics_2d.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("threads", "band threads for the banded circles (0: every CPU this process may use)", 0, 0, 0, 256),
               dp::ParamSpec::choice("picture", "guide: write the software image of 1000 particles to guide/docs/m5/img/graphics-2d.png",
                                     {"off", "guide"}, "off")},
    .run = run,
});
