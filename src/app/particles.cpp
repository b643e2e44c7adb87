// particles.cpp — storage, start positions and the threaded step of the app's particles.
#include "app/particles.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#if defined(DP_HAVE_TBB)
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>
#else
#include "core/thread_team.hpp"
#endif

namespace dp::app {

std::string to_string(Layout layout) { return layout == Layout::aos ? "aos" : "soa"; }

#if defined(DP_HAVE_TBB)
struct Particles::Workers {
  explicit Workers(int n) : threads(n), arena(n) {}
  int threads;
  tbb::task_arena arena;
};
#else
struct Particles::Workers {};
#endif

void Particles::WorkersDeleter::operator()(Workers* w) const { delete w; }

Particles::Particles(std::size_t n, Layout layout, std::uint64_t seed) : n_(n), layout_(layout) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> pos(-0.9f, 0.9f);
  std::uniform_real_distribution<float> speed(-0.3f, 0.3f);
  if (layout == Layout::aos) aos_.resize(n);
  else x_.resize(n), y_.resize(n), vx_.resize(n), vy_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    // A ring with a tangential push, so the cloud rotates: something to look at.
    const float px = pos(rng), py = pos(rng);
    const Particle p{px, py, -py * 0.6f + speed(rng) * 0.2f, px * 0.6f + speed(rng) * 0.2f};
    if (layout == Layout::aos) aos_[i] = p;
    else x_[i] = p.x, y_[i] = p.y, vx_[i] = p.vx, vy_[i] = p.vy;
  }
}

Particle Particles::get(std::size_t i) const {
  if (layout_ == Layout::aos) return aos_.at(i);
  return {x_.at(i), y_.at(i), vx_.at(i), vy_.at(i)};
}

std::vector<Particle> Particles::all() const {
  if (layout_ == Layout::aos) return aos_;
  std::vector<Particle> out(n_);
  for (std::size_t i = 0; i < n_; ++i) out[i] = {x_[i], y_[i], vx_[i], vy_[i]};
  return out;
}

void Particles::assign(std::span<const Particle> all) {
  if (all.size() != n_) throw std::invalid_argument("Particles::assign: a different number of particles");
  if (layout_ == Layout::aos) {
    std::copy(all.begin(), all.end(), aos_.begin());
    return;
  }
  for (std::size_t i = 0; i < n_; ++i) x_[i] = all[i].x, y_[i] = all[i].y, vx_[i] = all[i].vx, vy_[i] = all[i].vy;
}

void Particles::step_range(std::size_t begin, std::size_t end, float dt) {
  if (layout_ == Layout::aos) {
    for (std::size_t i = begin; i < end; ++i) {
      Particle& p = aos_[i];
      step_particle(p.x, p.y, p.vx, p.vy, dt);
    }
  } else {
    float* x = x_.data();
    float* y = y_.data();
    float* vx = vx_.data();
    float* vy = vy_.data();
    for (std::size_t i = begin; i < end; ++i) step_particle(x[i], y[i], vx[i], vy[i], dt);
  }
}

void Particles::step(float dt, int threads) {
  if (threads < 1) throw std::invalid_argument("Particles::step: threads must be >= 1");
  if (threads == 1 || n_ < 1024) {
    step_range(0, n_, dt);
    return;
  }
  const auto share = [&](int t) {
    const std::size_t begin = n_ * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
    const std::size_t end = n_ * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
    step_range(begin, end, dt);
  };
#if defined(DP_HAVE_TBB)
  // TBB's workers sleep between frames (a spinning team would keep a core busy while the
  // frame waits for vsync); an arena of `threads` caps how many take part.
  if (!workers_ || workers_->threads != threads) workers_.reset(new Workers(threads));
  workers_->arena.execute([&] { tbb::parallel_for(0, threads, [&](int t) { share(t); }); });
#else
  dp::run_together(threads, share);
#endif
}

}  // namespace dp::app
