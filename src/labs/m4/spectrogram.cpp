// spectrogram.cpp — how many 48 kHz audio channels can this machine turn into spectrograms in real time?
//
// What: a short-time Fourier transform (STFT). Each channel is cut into frames of 1024 samples, a
// new frame every `hop` samples (256 or 512: frames overlap by 75% or 50%); each frame is
// multiplied by a Hann window, goes through a real FFT, and its power |X[k]|^2 at the 513 bins
// k = 0 .. 512 becomes one column of the spectrogram. At 48 kHz and hop 256 that is 187.5 frames
// per channel per second of sound; one second of sound per second of wall clock is real time.
// The signal: generated, not recorded (no decoder needed): per channel, a linear chirp from 50 Hz
// to 20 kHz, a steady tone of its own, and white noise.
// Run:  dontpanic run spectrogram          (1 .. 64 channels of 1 s each)
//       dontpanic run spectrogram --quick  (1 .. 4 channels of 0.25 s)
//       dontpanic run spectrogram --param hop=512 --param max-channels=256
// Variants: the frame's FFT is ours (labs/m4/fft_kernels.hpp: RealFft, radix-4) or FFTW's r2c
// (fftwf, FFTW_MEASURE, planned once); each on 1 thread and on every CPU, the frames of all
// channels shared out evenly among the threads.
// Checks: a few frames of the first and last channel against a direct DFT in long double of the
// same windowed samples; the threaded spectrogram equals the one-thread spectrogram bit for bit.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <numbers>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#if defined(DP_HAVE_FFTW)
#include <fftw3.h>
#endif

#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/sweep.hpp"
#include "core/thread_team.hpp"
#include "labs/m4/fft_kernels.hpp"

namespace {

using cfloat = std::complex<float>;
constexpr std::size_t kWindow = 1024;            // samples per frame
constexpr std::size_t kBins = kWindow / 2 + 1;   // 513 power values per frame
constexpr double kSampleRate = 48000;            // samples per second, per channel

// ---------------------------------------------------------------------------------------------
// The STFT: the interesting lines
// ---------------------------------------------------------------------------------------------

// The Hann window, w[i] = sin^2(pi i / N) (the "periodic" form spectrograms use: N, not N - 1).
// Without a window a frame's edges are a jump, and the jump leaks power into every bin.
std::vector<float> hann(std::size_t n) {
  std::vector<float> w(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double s = std::sin(std::numbers::pi * static_cast<double>(i) / static_cast<double>(n));
    w[i] = static_cast<float>(s * s);
  }
  return w;
}

// A frame's real FFT: 1024 windowed samples in, 513 complex numbers out. Each thread has its own
// buffers (64-byte aligned, as FFTW planned for).
using FrameFft = std::function<void(const float* in, cfloat* out)>;

// The spectrogram of one channel's frames [first, last): power[f * kBins + k] = |X_f[k]|^2.
void stft_frames(std::span<const float> signal, std::span<const float> window, std::size_t hop,
                 std::size_t first, std::size_t last, const FrameFft& fft, float* frame, cfloat* spectrum,
                 std::span<float> power) {
  for (std::size_t f = first; f < last; ++f) {
    const float* x = signal.data() + f * hop;
    for (std::size_t i = 0; i < kWindow; ++i) frame[i] = x[i] * window[i];
    fft(frame, spectrum);
    float* p = power.data() + f * kBins;
    for (std::size_t k = 0; k < kBins; ++k)
      p[k] = spectrum[k].real() * spectrum[k].real() + spectrum[k].imag() * spectrum[k].imag();
  }
}

std::size_t frame_count(std::size_t samples, std::size_t hop) {
  return samples < kWindow ? 0 : 1 + (samples - kWindow) / hop;
}

// Buffers of one thread.
struct Scratch {
  std::unique_ptr<float[], decltype(&std::free)> frame{static_cast<float*>(std::aligned_alloc(64, kWindow * sizeof(float))), &std::free};
  std::unique_ptr<cfloat[], decltype(&std::free)> spectrum{static_cast<cfloat*>(std::aligned_alloc(64, 4160)), &std::free};  // >= 513 * 8, a multiple of 64
};

// Every channel's spectrogram, the frames of all channels shared evenly among `threads` threads
// (thread t takes a contiguous run of the C x F frames, so even one channel is shared out).
void stft_all(const std::vector<std::vector<float>>& channels, std::span<const float> window, std::size_t hop,
              const FrameFft& fft, std::vector<Scratch>& scratch, std::vector<std::vector<float>>& power, int threads) {
  const std::size_t frames = frame_count(channels[0].size(), hop);
  const std::size_t total = channels.size() * frames;
  auto job = [&](int t) {
    const std::size_t begin = total * static_cast<std::size_t>(t) / static_cast<std::size_t>(threads);
    const std::size_t end = total * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(threads);
    for (std::size_t at = begin; at < end;) {
      const std::size_t c = at / frames, f0 = at % frames, f1 = std::min(frames, f0 + (end - at));
      stft_frames(channels[c], window, hop, f0, f1, fft, scratch[static_cast<std::size_t>(t)].frame.get(),
                  scratch[static_cast<std::size_t>(t)].spectrum.get(), power[c]);
      at += f1 - f0;
    }
  };
  if (threads == 1) job(0);
  else dp::run_together(threads, job);
}

// ---------------------------------------------------------------------------------------------
// The two FFTs of a frame
// ---------------------------------------------------------------------------------------------

struct Implementation {
  std::string name;
  FrameFft fft;
  std::shared_ptr<void> keep;  // what the FFT needs alive (our tables, an fftwf_plan)
};

Implementation ours() {
  auto fft = std::make_shared<dp::fft::RealFft<float>>(kWindow);
  return {"ours", [f = fft.get()](const float* in, cfloat* out) {
            f->forward(std::span<const float>(in, kWindow), std::span<cfloat>(out, kBins));
          }, fft};
}

#if defined(DP_HAVE_FFTW)
// Planned once (FFTW_MEASURE) on scratch arrays of the same alignment as every thread's buffers;
// fftwf_execute_dft_r2c on other arrays is safe from several threads at once (planning is not).
Implementation fftw() {
  Scratch s;
  fftwf_plan plan = fftwf_plan_dft_r2c_1d(static_cast<int>(kWindow), s.frame.get(),
                                          reinterpret_cast<fftwf_complex*>(s.spectrum.get()), FFTW_MEASURE);
  if (!plan) throw dp::Error("FFTW could not plan a real transform of 1024");
  return {"FFTW", [plan](const float* in, cfloat* out) {
            fftwf_execute_dft_r2c(plan, const_cast<float*>(in), reinterpret_cast<fftwf_complex*>(out));
          }, std::shared_ptr<void>(plan, [](void* p) { fftwf_destroy_plan(static_cast<fftwf_plan>(p)); })};
}
#endif

// ---------------------------------------------------------------------------------------------
// The signal, the reference and the check
// ---------------------------------------------------------------------------------------------

// Channel c: a chirp sweeping 50 Hz -> 20 kHz over the whole signal, a tone at 300 (c + 1) Hz,
// and white noise 30 dB below the chirp. The phase is kept in double: in float, t * f loses
// the fraction of a cycle after a few seconds.
std::vector<float> make_channel(std::size_t c, std::size_t samples, std::mt19937& rng) {
  std::normal_distribution<double> noise(0.0, 0.5 * 0.0316);
  const double T = static_cast<double>(samples) / kSampleRate, f0 = 50, f1 = 20000;
  const double tone = 300.0 * static_cast<double>(c + 1);
  std::vector<float> x(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    const double t = static_cast<double>(i) / kSampleRate;
    const double chirp_phase = 2 * std::numbers::pi * (f0 * t + (f1 - f0) * t * t / (2 * T));
    x[i] = static_cast<float>(0.5 * std::sin(chirp_phase) + 0.25 * std::sin(2 * std::numbers::pi * tone * t) + noise(rng));
  }
  return x;
}

// The power spectrum of frame f, from the definition in long double.
std::vector<std::complex<double>> reference_frame(std::span<const float> signal, std::span<const float> window,
                                                  std::size_t hop, std::size_t f) {
  std::vector<std::complex<long double>> x(kWindow);
  for (std::size_t i = 0; i < kWindow; ++i)
    x[i] = static_cast<long double>(signal[f * hop + i]) * static_cast<long double>(window[i]);
  auto X = dp::fft::dft_reference<long double>(x);
  X.resize(kBins);
  return X;
}

// Relative RMS error of a frame's power against |reference|^2. The power squares the amplitude,
// so its relative error is about twice the FFT's: the bound is 2 x 2 log2(1024) eps = 40 eps.
constexpr double kPowerBound = 2 * 2 * 10 * 0x1p-24;

double power_error(std::span<const float> got, const std::vector<std::complex<double>>& ref) {
  long double err = 0, sum = 0;
  for (std::size_t k = 0; k < kBins; ++k) {
    const long double want = std::norm(std::complex<long double>(ref[k]));
    err += (got[k] - want) * (got[k] - want);
    sum += want * want;
  }
  return static_cast<double>(std::sqrt(err / sum));
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto hop = static_cast<std::size_t>(std::stoul(ctx.params.text("hop")));
  const double seconds = ctx.params.real("seconds");
  const auto max_channels = static_cast<std::size_t>(ctx.params.integer("max-channels"));
  const auto samples = static_cast<std::size_t>(seconds * kSampleRate);
  const std::size_t frames = frame_count(samples, hop);
  if (frames < 3)
    throw dp::Error(fmt::format("seconds = {} gives {} samples, {} frames of 1024; use at least 0.05 s", seconds, samples, frames));
  const int all_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const std::vector<float> window = hann(kWindow);

  std::vector<Implementation> impls = {ours()};
#if defined(DP_HAVE_FFTW)
  impls.push_back(fftw());
#else
  ctx.result.notes.push_back("FFTW was not found when this was built (Debian: libfftw3-dev): only our FFT is measured.");
#endif
  std::vector<int> thread_counts = {1};
  if (all_threads > 1) thread_counts.push_back(all_threads);

  std::mt19937 rng(48000);
  std::vector<std::vector<float>> signal;
  for (std::size_t c = 0; c < max_channels; ++c) signal.push_back(make_channel(c, samples, rng));

  // 1. Check: frames of the first and last channel against the DFT; threads against one thread.
  {
    std::vector<std::vector<float>> check_signal = {signal.front(), signal.back()};
    for (const auto& impl : impls) {
      std::vector<Scratch> scratch(static_cast<std::size_t>(all_threads));
      std::vector<std::vector<float>> one(2, std::vector<float>(frames * kBins)), many = one;
      stft_all(check_signal, window, hop, impl.fft, scratch, one, 1);
      double worst = 0;
      std::string where;
      for (std::size_t c = 0; c < 2; ++c)
        for (const std::size_t f : {std::size_t{0}, frames / 2, frames - 1}) {
          const double e = power_error(std::span<const float>(one[c]).subspan(f * kBins, kBins),
                                       reference_frame(check_signal[c], window, hop, f));
          if (!(e <= worst)) worst = e, where = fmt::format("channel {} frame {}", c == 0 ? 0 : max_channels - 1, f);
        }
      ctx.result.add_check(fmt::format("{}: STFT frames match a direct DFT", impl.name), worst <= kPowerBound,
                           fmt::format("6 frames (first, middle, last of channels 0 and {}) against the DFT of the same windowed "
                                       "samples in long double: worst relative RMS error of the power {:.3g} ({}), bound {:.3g}",
                                       max_channels - 1, worst, where, kPowerBound));
      stft_all(check_signal, window, hop, impl.fft, scratch, many, all_threads);
      ctx.result.add_check(fmt::format("{}: {} threads give the one-thread spectrogram", impl.name, all_threads),
                           one == many, one == many ? fmt::format("all {} power values equal, bit for bit", 2 * frames * kBins)
                                                    : "the threaded spectrogram differs: frames were lost or written twice");
    }
    if (!ctx.result.all_checks_passed()) return;
  }

  // 2. Time: every implementation and thread count, for 1, 4, 16 ... max-channels channels.
  std::vector<std::uint64_t> counts;
  for (std::size_t c = 1; c < max_channels; c *= 4) counts.push_back(c);
  counts.push_back(max_channels);
  const dp::SweepOptions options{.label = [](std::uint64_t c) { return fmt::format("{} channels", c); }};
  for (const std::uint64_t c : dp::Sweep(ctx, "channels", counts, options)) {
    const std::vector<std::vector<float>> chans(signal.begin(), signal.begin() + static_cast<std::ptrdiff_t>(c));
    std::vector<std::vector<float>> power(c, std::vector<float>(frames * kBins));
    for (const auto& impl : impls)
      for (const int threads : thread_counts) {
        std::vector<Scratch> scratch(static_cast<std::size_t>(threads));
        const auto name = fmt::format("{}, {} thread{}", impl.name, threads, threads == 1 ? "" : "s");
        const dp::Stats s = ctx.measure(fmt::format("{}/channels={}", name, c), [&] {
          stft_all(chans, window, hop, impl.fft, scratch, power, threads);
          benchmark::ClobberMemory();
        });
        // Channels in real time: channel-seconds of sound processed per second of wall clock. The
        // frames cover frames x hop samples of new sound (a stream needs 48000 / hop a second).
        const double covered = static_cast<double>(frames * hop) / kSampleRate;
        const double realtime_channels = static_cast<double>(c) * covered / (s.median_ns * 1e-9);
        ctx.result.add_point(name, "channels", static_cast<double>(c), s.per(static_cast<double>(c * frames)),
                             realtime_channels, "channels", "frame");
      }
  }

  // 3. Plots, headlines, notes.
  ctx.result.plots.push_back({.name = "channels", .title = fmt::format("48 kHz channels in real time (window 1024, hop {})", hop),
                              .xlabel = "channels processed together", .ylabel = "channels in real time",
                              .y = dp::PlotSpec::Y::throughput, .logx = true, .logy = true, .variants = {}, .markers = {}});
  ctx.result.plots.push_back({.name = "frame", .title = "Time per frame: window, real FFT of 1024, power",
                              .xlabel = "channels processed together", .ylabel = "ns per frame",
                              .y = dp::PlotSpec::Y::time, .logx = true, .logy = false, .variants = {}, .markers = {}});
  for (const auto& s : ctx.result.series) {
    if (s.points.empty()) continue;
    const dp::Point& p = s.points.back();
    ctx.result.headlines.push_back(
        {fmt::format("{}: channels in real time", s.variant),
         fmt::format("{:.0f} (measured with {} channels of {} s: {:.0f} ns per frame, {:.2f} ms of the 1 s budget per channel)",
                     p.throughput, static_cast<std::uint64_t>(p.x), seconds, p.median_ns,
                     1e3 / p.throughput)});
  }
  ctx.result.notes.push_back(fmt::format(
      "The signal is generated (a 50 Hz - 20 kHz chirp, a tone and white noise per channel), not a recording. {} frames of "
      "1024 per channel ({} s at 48 kHz, hop {}); one frame is a window multiply, a real FFT of 1024 and 513 squared "
      "magnitudes, written to a spectrogram in memory.",
      frames, seconds, hop));
  ctx.result.notes.push_back(fmt::format(
      "\"Channels in real time\" is throughput: channel-seconds processed per wall-clock second. A live system also needs "
      "every frame done within one hop ({:.1f} ms at hop {}) and headroom for everything else: plan on half of it.",
      1e3 * static_cast<double>(hop) / kSampleRate, hop));
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "spectrogram",
             .title = "A spectrogram in real time: how many channels fit",
             .module = 4,
             .level = 4,
             .tracks = {"sp"},
             .question = "How many 48 kHz audio channels can this machine turn into spectrograms in real time?",
             .guide_page = "m4/spectrogram.md",
             .source = "src/labs/m4/spectrogram.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::choice("hop", "samples between frames (window 1024: 75% or 50% overlap)", {"256", "512"}, "256"),
               dp::ParamSpec::real("seconds", "seconds of sound per channel", 1.0, 0.25, 0.05, 10.0),
               dp::ParamSpec::integer("max-channels", "the most channels processed together (1, 4, 16 ... up to it)", 64, 4, 1, 1024)},
    .run = run,
});
