// signal_filters.cpp — filtering real audio: from what filter length does the FFT beat direct convolution?
//
// What: a low-pass filter over a recorded sound (mono float, looped to `seconds`): a FIR of L taps
// (windowed sinc, Hamming, cutoff `cutoff-hz`) computed four ways, and an IIR Butterworth of the
// same cutoff as a cascade of biquads. Throughput in Msamples/s for L = 8 .. max-taps.
// The sound: the freedesktop sound theme's .oga files (Debian sound-theme-freedesktop, Ogg
// Vorbis), decoded with libsndfile, concatenated in name order; or speech made by espeak-ng at
// run time (`--param sound=speech`). Without libsndfile or the sounds: a generated chirp + noise,
// with a note saying so.
// Run:  dontpanic run signal-filters           (a minute of sound, L = 8, 12, 16 ... 4096)
//       dontpanic run signal-filters --quick   (2 s, L = 8, 32, 128, 512, 2048)
//       dontpanic run signal-filters --param sound=speech --param cutoff-hz=1000
// Variants (the kernels are in src/labs/m4/signal_filters.hpp):
//   direct              y[n] = sum_k h[k] x[n-k], the plain loop: scalar (see FirFilter)
//   direct SIMD         the same sums, 128 outputs at a time in GCC vectors of 16 floats
//   FFT overlap-add     our radix-4 FFT (labs/m4/fft_kernels.hpp), two real blocks per complex
//                       transform; FFT size by a cost model (ola_fft_size)
//   FFTW overlap-add    fftwf r2c / c2r of the same size (the library peer; FFTW_MEASURE plans,
//                       FFTW_ESTIMATE in quick runs)
//   IIR biquads         Butterworth orders 2 .. 16, Direct Form II transposed, float: sample by
//                       sample through every section, and section by section over the signal
//   scipy               the Python peers, bench/peers/scipy_filters.py through /usr/bin/python3:
//                       scipy.signal.oaconvolve (FIR) and sosfilt (IIR) in float32, timed by
//                       Python's own clock, their outputs checked like ours; skipped with a note
//                       where scipy is missing
// Checks, before any timing: every FIR variant against the convolution in double on the sound
// itself (bounds: see fir_bound_* below); each IIR order's design (DC gain 1, -3 dB at the cutoff)
// and both float cascades against the cascade in double.
// The answer: the crossover length, from which on the FFT overlap-add beats the better of the two
// direct variants, in the headlines (and so in the JSON).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <numbers>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#if defined(DP_HAVE_FFTW)
#include <fftw3.h>
#endif
#if defined(DP_HAVE_SNDFILE)
#include <sndfile.h>
#endif

#include "labs/peer_output.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/process.hpp"
#include "core/source_tree.hpp"
#include "core/sweep.hpp"
#include "labs/m4/signal_filters.hpp"

namespace {

namespace fs = std::filesystem;
using dp::filters::Biquad;

// ---------------------------------------------------------------------------------------------
// The FIR variants: each filters x (L-1 samples of history, then y.size() new ones) into y
// ---------------------------------------------------------------------------------------------

using Filter = std::function<void(std::span<const float> x, std::span<float> y)>;

struct FirVariant {
  std::string name;
  bool direct = false;         // cost grows with L per sample (timed on a shorter stretch)
  std::size_t fft_size = 0;    // overlap-add variants: the transform size
  Filter run;
  std::shared_ptr<void> keep;  // the filter object the function uses
};

FirVariant direct_scalar(std::span<const float> h) {
  auto f = std::make_shared<dp::filters::FirFilter>(h);
  return {"direct", true, 0, [p = f.get()](std::span<const float> x, std::span<float> y) { p->direct(x, y); }, f};
}

FirVariant direct_simd(std::span<const float> h) {
  auto f = std::make_shared<dp::filters::FirFilter>(h);
  return {"direct SIMD", true, 0, [p = f.get()](std::span<const float> x, std::span<float> y) { p->simd(x, y); }, f};
}

FirVariant ola_ours(std::span<const float> h) {
  auto f = std::make_shared<dp::filters::OlaFilter>(h, dp::filters::ola_fft_size(h.size()));
  return {"FFT overlap-add (ours)", false, f->fft_size(),
          [p = f.get()](std::span<const float> x, std::span<float> y) { p->process(x, y); }, f};
}

#if defined(DP_HAVE_FFTW)
// The same overlap-add over FFTW's real transforms: r2c of a zero-padded block (N/2 + 1 complex
// values), times the taps' spectrum scaled by 1/N, c2r back (FFTW's inverse is unnormalised).
class FftwOla {
 public:
  FftwOla(std::span<const float> h, std::size_t n, unsigned flags)
      : L_(h.size()), n_(n), in_(fftwf_alloc_real(n)), spec_(fftwf_alloc_complex(n / 2 + 1)), out_(fftwf_alloc_real(n)) {
    if (!in_ || !spec_ || !out_) throw dp::Error(fmt::format("FFTW could not allocate buffers for N = {}", n));
    const int ni = static_cast<int>(n);
    forward_ = fftwf_plan_dft_r2c_1d(ni, in_, spec_, flags);
    inverse_ = fftwf_plan_dft_c2r_1d(ni, spec_, out_, flags);
    if (!forward_ || !inverse_) throw dp::Error(fmt::format("FFTW could not plan real transforms of {}", n));
    std::fill(in_, in_ + n, 0.0f);
    std::copy(h.begin(), h.end(), in_);
    fftwf_execute(forward_);
    H_.resize(n / 2 + 1);
    for (std::size_t k = 0; k <= n / 2; ++k)
      H_[k] = std::complex<float>(spec_[k][0], spec_[k][1]) / static_cast<float>(n);
  }
  ~FftwOla() {
    fftwf_destroy_plan(forward_), fftwf_destroy_plan(inverse_);
    fftwf_free(in_), fftwf_free(spec_), fftwf_free(out_);
  }
  FftwOla(const FftwOla&) = delete;
  FftwOla& operator=(const FftwOla&) = delete;

  void process(std::span<const float> x, std::span<float> y) {
    dp::filters::require_fir_sizes(L_, x.size(), y.size(), "FFTW overlap-add");
    std::fill(y.begin(), y.end(), 0.0f);
    const std::size_t B = n_ - L_ + 1, M = x.size(), first_c = L_ - 1;
    for (std::size_t start = 0; start < M; start += B) {
      const std::size_t len = std::min(B, M - start);
      std::copy(x.begin() + static_cast<std::ptrdiff_t>(start), x.begin() + static_cast<std::ptrdiff_t>(start + len), in_);
      std::fill(in_ + len, in_ + n_, 0.0f);
      fftwf_execute(forward_);
      const float* H = reinterpret_cast<const float*>(H_.data());
      for (std::size_t k = 0; k <= n_ / 2; ++k) {  // plain float arithmetic, as in ours (std::complex's
        const float xr = spec_[k][0], xi = spec_[k][1], hr = H[2 * k], hi = H[2 * k + 1];  // * checks for NaN)
        spec_[k][0] = xr * hr - xi * hi, spec_[k][1] = xr * hi + xi * hr;
      }
      fftwf_execute(inverse_);
      const std::size_t j0 = first_c > start ? first_c - start : 0, j1 = std::min(n_, M - start);
      for (std::size_t j = j0; j < j1; ++j) y[start + j - first_c] += out_[j];
    }
  }

 private:
  std::size_t L_, n_;
  float* in_;
  fftwf_complex* spec_;
  float* out_;
  fftwf_plan forward_ = nullptr, inverse_ = nullptr;
  std::vector<std::complex<float>> H_;  // FFT(h) / N, N/2 + 1 values
};

FirVariant ola_fftw(std::span<const float> h, bool quick) {
  auto f = std::make_shared<FftwOla>(h, dp::filters::ola_fft_size(h.size()), quick ? FFTW_ESTIMATE : FFTW_MEASURE);
  return {"FFT overlap-add (FFTW)", false, dp::filters::ola_fft_size(h.size()),
          [p = f.get()](std::span<const float> x, std::span<float> y) { p->process(x, y); }, f};
}
#endif

// ---------------------------------------------------------------------------------------------
// The sound
// ---------------------------------------------------------------------------------------------

struct Sound {
  std::vector<float> samples;  // mono
  double rate = 0;             // samples per second
  std::string what;            // for the notes: where it came from
};

#if defined(DP_HAVE_SNDFILE)
// One file, its channels averaged to mono. Throws with libsndfile's reason.
Sound read_sound(const fs::path& path) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (!file) throw dp::Error(fmt::format("libsndfile could not open {}: {}", path.string(), sf_strerror(nullptr)));
  std::vector<float> frames(static_cast<std::size_t>(info.frames) * static_cast<std::size_t>(info.channels));
  const sf_count_t got = sf_readf_float(file, frames.data(), info.frames);
  sf_close(file);
  Sound s{std::vector<float>(static_cast<std::size_t>(got)), static_cast<double>(info.samplerate), path.filename().string()};
  const auto ch = static_cast<std::size_t>(info.channels);
  for (std::size_t i = 0; i < s.samples.size(); ++i) {
    float sum = 0;
    for (std::size_t c = 0; c < ch; ++c) sum += frames[i * ch + c];
    s.samples[i] = sum / static_cast<float>(ch);
  }
  return s;
}

// The theme's sounds in name order, those at the first one's sample rate, until `wanted` samples.
Sound freedesktop_sounds(double seconds) {
  const fs::path dir = "/usr/share/sounds/freedesktop/stereo";
  std::vector<fs::path> files;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().extension() == ".oga") files.push_back(e.path());
  if (files.empty())
    throw dp::Error(fmt::format("no .oga sounds in {} (Debian: apt install sound-theme-freedesktop)", dir.string()));
  std::sort(files.begin(), files.end());
  Sound all;
  std::size_t used = 0;
  for (const auto& f : files) {
    Sound s = read_sound(f);
    if (all.rate == 0) all.rate = s.rate;
    if (s.rate != all.rate) continue;
    all.samples.insert(all.samples.end(), s.samples.begin(), s.samples.end());
    ++used;
    if (static_cast<double>(all.samples.size()) >= seconds * all.rate) break;
  }
  all.what = fmt::format("{} sound{} of the freedesktop theme ({}/{}{}), Ogg Vorbis decoded by libsndfile, {:.0f} Hz",
                         used, used == 1 ? "" : "s", dir.string(), files.front().filename().string(),
                         used == 1 ? "" : " and the next ones in name order", all.rate);
  return all;
}

// espeak-ng writes a WAV file into a fresh temporary folder, which is removed afterwards.
Sound speech() {
  std::string pattern = (fs::temp_directory_path() / "dontpanic-speech-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw dp::Error(fmt::format("could not make a temporary folder in {}", fs::temp_directory_path().string()));
  const fs::path wav = fs::path(pattern) / "speech.wav";
  const std::string text =
      "Don't panic. A filter keeps the low notes of this voice and removes the hiss above four kilohertz. "
      "Direct convolution costs one multiply-add per tap and sample; the fast Fourier transform costs a few "
      "per sample, whatever the length of the filter.";
  const int rc = std::system(fmt::format("espeak-ng -w '{}' \"{}\" > /dev/null 2>&1", wav.string(), text).c_str());
  std::optional<Sound> s;
  std::string why;
  if (rc == 0 && fs::exists(wav)) {
    try {
      s = read_sound(wav);
    } catch (const dp::Error& e) {
      why = e.what();
    }
  } else {
    why = fmt::format("espeak-ng failed (exit status {}; Debian: apt install espeak-ng)", rc);
  }
  std::error_code ignored;
  fs::remove_all(pattern, ignored);
  if (!s) throw dp::Error(why);
  s->what = fmt::format("speech by espeak-ng (\"{}...\"), WAV decoded by libsndfile, {:.0f} Hz", text.substr(0, 40), s->rate);
  return *s;
}
#endif

// Where no sound can be read: a chirp 50 Hz -> 20 kHz over each second, and white noise 30 dB down.
Sound generated(double seconds) {
  Sound s{{}, 48000, "a generated signal: a 50 Hz - 20 kHz chirp every second plus white noise, 48 kHz"};
  std::mt19937 rng(2026);
  std::normal_distribution<double> noise(0.0, 0.0158);
  const auto n = static_cast<std::size_t>(seconds * s.rate);
  for (std::size_t i = 0; i < n; ++i) {
    const double t = std::fmod(static_cast<double>(i) / s.rate, 1.0);
    s.samples.push_back(static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * (50 * t + 19950 * t * t / 2)) + noise(rng)));
  }
  return s;
}

// The chosen sound, looped to `seconds`; on failure a note and the generated signal.
Sound load_sound(const std::string& which, double seconds, std::vector<std::string>& notes) {
  Sound s;
  if (which != "generated") {
#if defined(DP_HAVE_SNDFILE)
    try {
      s = which == "speech" ? speech() : freedesktop_sounds(seconds);
      if (s.samples.empty()) throw dp::Error("the sound had no samples");
    } catch (const dp::Error& e) {
      notes.push_back(fmt::format("Could not read the sound ({}): a generated signal is filtered instead.", e.what()));
      s = {};
    }
#else
    notes.push_back("libsndfile was not found when this was built (Debian: libsndfile1-dev): a generated signal is "
                    "filtered instead of a recorded sound.");
#endif
  }
  if (s.samples.empty()) return generated(seconds);
  const auto wanted = static_cast<std::size_t>(seconds * s.rate);
  const std::size_t original = s.samples.size();
  s.samples.reserve(wanted);
  for (std::size_t i = original; i < wanted; ++i) s.samples.push_back(s.samples[i % original]);
  s.samples.resize(wanted);
  if (original < wanted) s.what += fmt::format(", {:.2f} s looped to {} s", static_cast<double>(original) / s.rate, seconds);
  return s;
}

// ---------------------------------------------------------------------------------------------
// The scipy peer: bench/peers/scipy_filters.py, fed the same sound, taps and biquads through files
// ---------------------------------------------------------------------------------------------

struct ScipyRun {
  std::string version;
  std::vector<std::pair<std::uint64_t, double>> fir_s, iir_s;          // (L or order, median seconds)
  std::vector<std::pair<std::uint64_t, std::vector<float>>> fir_out, iir_out;  // the first outputs
};

template <class T>
void write_file(const fs::path& path, std::span<const T> data) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size_bytes()));
  if (!f) throw dp::Error(fmt::format("signal-filters: could not write {}", path.string()));
}

std::vector<float> read_floats(const fs::path& path, std::size_t n) {
  std::vector<float> v(n);
  std::ifstream f(path, std::ios::binary);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(float)));
  if (!f) throw std::runtime_error(fmt::format("{} missing or short", path.filename().string()));
  return v;
}

// Runs the peer; nullopt (and `why`) where it cannot run.
std::optional<ScipyRun> run_scipy(std::span<const float> sound, double fc, const std::vector<double>& lengths,
                                  const std::vector<int>& orders, std::size_t check, bool quick, std::string& why) {
  const auto python = dp::find_program("/usr/bin/python3");
  if (!python) {
    why = "scipy skipped: /usr/bin/python3 not found (Debian: apt install python3-scipy).";
    return std::nullopt;
  }
  const dp::labs::PeerScratch scratch("signal-filters");
  const auto& dir = scratch.dir();
  write_file(dir / "signal.f32", sound);
  std::string length_list, order_list;
  for (const double L : lengths) {
    const auto h = dp::filters::design_lowpass_fir(static_cast<std::size_t>(L), fc);
    write_file(dir / fmt::format("taps_{}.f32", L), std::span<const float>(h));
    length_list += fmt::format("{}{}", length_list.empty() ? "" : ",", L);
  }
  for (const int order : orders) {
    std::vector<double> rows;
    for (const Biquad& b : dp::filters::butterworth_lowpass(order, fc)) rows.insert(rows.end(), {b.b0, b.b1, b.b2, 1.0, b.a1, b.a2});
    write_file(dir / fmt::format("sos_{}.f64", order), std::span<const double>(rows));
    order_list += fmt::format("{}{}", order_list.empty() ? "" : ",", order);
  }
  const auto proc = dp::run_process({*python, (dp::source_dir() / "bench" / "peers" / "scipy_filters.py").string(), "--dir",
                                     dir.string(), "--lengths", length_list, "--orders", order_list, "--check",
                                     std::to_string(check), "--repeats", quick ? "3" : "7"},
                                    {}, 600);
  ScipyRun run;
  try {
    const auto j = dp::labs::peer_json(proc.output);  // its last line: warnings may come before
    if (j.contains("skipped")) {
      why = fmt::format("scipy skipped: {}", j.at("skipped").get<std::string>());
      return std::nullopt;
    }
    run.version = j.at("scipy");
    for (const double L : lengths) {
      const auto key = fmt::format("{}", L);
      run.fir_s.emplace_back(static_cast<std::uint64_t>(L), j.at("fir_s").at(key).get<double>());
      run.fir_out.emplace_back(static_cast<std::uint64_t>(L), read_floats(dir / fmt::format("out_fir_{}.f32", L), check));
    }
    for (const int order : orders) {
      run.iir_s.emplace_back(order, j.at("iir_s").at(std::to_string(order)).get<double>());
      run.iir_out.emplace_back(order, read_floats(dir / fmt::format("out_iir_{}.f32", order), check));
    }
  } catch (const std::exception& e) {
    why = fmt::format("scipy skipped: scipy_filters.py exited with {}{} ({}): {}", proc.exit_code,
                      proc.timed_out ? " (timed out)" : "", e.what(), proc.output.substr(0, 300));
    return std::nullopt;
  }
  return run;
}

// ---------------------------------------------------------------------------------------------
// The checks' error bounds (u = 2^-24, the unit roundoff of float)
// ---------------------------------------------------------------------------------------------
constexpr double kU = 0x1p-24;

double rms(std::span<const double> v) {
  long double s = 0;
  for (const double x : v) s += static_cast<long double>(x) * x;
  return static_cast<double>(std::sqrt(s / static_cast<long double>(std::max<std::size_t>(1, v.size()))));
}
double rms(std::span<const float> v) {
  long double s = 0;
  for (const float x : v) s += static_cast<long double>(x) * x;
  return static_cast<double>(std::sqrt(s / static_cast<long double>(std::max<std::size_t>(1, v.size()))));
}
template <class T>
double relative_rms_error(std::span<const T> got, std::span<const double> want) {
  long double e = 0, w = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const long double d = static_cast<long double>(got[i]) - want[i];
    e += d * d, w += static_cast<long double>(want[i]) * want[i];
  }
  return w == 0 ? (e == 0 ? 0.0 : INFINITY) : static_cast<double>(std::sqrt(e / w));
}

// Direct sums: a float sum of L products is off by at most gamma_L = L u / (1 - L u) times the sum
// of the products' magnitudes (Higham, Accuracy and Stability, 3.1), at every sample: |e[n]| <=
// gamma_L a[n], a = |h| * |x|. So the RMS error is at most gamma_L rms(a), and relative to the
// output, gamma_L rms(a) / rms(y): large when the filter removes most of the sound.
double fir_bound_direct(std::size_t L, double rms_abs, double rms_y) {
  const double Lu = static_cast<double>(L) * kU;
  return Lu / (1 - Lu) * rms_abs / rms_y;
}
// FFT convolution: the fft lab bounds one float FFT's relative RMS error by 2 log2(N) u; here two
// transforms, the taps' spectrum (itself off by ~ log2(N) u ||h||_1) and a product: about
// 2 (3 log2 N + 1) u, relative to the size of the block that went in, ||h||_1 rms(x), not to what
// came out (an FFT's error spreads over all frequencies, the stopband too).
double fir_bound_fft(std::size_t n, double h_l1, double rms_x, double rms_y) {
  return 2 * (3 * std::log2(static_cast<double>(n)) + 1) * kU * h_l1 * rms_x / rms_y;
}
// IIR: each section rounds about 5 values a sample, each error at most u times the size of the
// signal there, and reaches the output through 1/A(z) of its section and all the sections after
// it: at most 5 u G rms(x) in all, G = biquad_error_gain; we allow 8 u G, relative to rms(y).
double iir_bound(double gain, double rms_x, double rms_y) { return 8 * kU * gain * rms_x / rms_y; }

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

std::vector<FirVariant> fir_variants(std::span<const float> h, bool quick) {
  std::vector<FirVariant> v;
  v.push_back(direct_scalar(h));
  v.push_back(direct_simd(h));
  v.push_back(ola_ours(h));
#if defined(DP_HAVE_FFTW)
  v.push_back(ola_fftw(h, quick));
#else
  (void)quick;
#endif
  return v;
}

// The crossover: the shortest measured L from which on `fft` is faster than the better of the two
// direct variants at every longer measured L. Returns 0 when it never is.
struct Crossover {
  double taps = 0, below = 0;  // first L where it wins for good, and the measured L before it
};
Crossover crossover(const dp::Result& r, const std::string& fft, const std::vector<double>& lengths) {
  Crossover c;
  for (auto it = lengths.rbegin(); it != lengths.rend(); ++it) {
    const dp::Point* f = r.point_at(fft, *it);
    const dp::Point* d = r.point_at("direct", *it);
    const dp::Point* s = r.point_at("direct SIMD", *it);
    if (!f || !d || !s) continue;
    if (f->throughput <= std::max(d->throughput, s->throughput)) break;
    c.taps = *it;
  }
  for (const double L : lengths)
    if (L < c.taps) c.below = L;
  return c;
}

void run(dp::LabContext& ctx) {
  const double seconds = ctx.params.real("seconds");
  const double cutoff_hz = ctx.params.real("cutoff-hz");
  const auto max_taps = static_cast<std::size_t>(ctx.params.integer("max-taps"));

  const Sound sound = load_sound(ctx.params.text("sound"), seconds, ctx.result.notes);
  if (!(cutoff_hz < sound.rate / 2))
    throw dp::Error(fmt::format("cutoff-hz = {} is not below half the sound's sample rate ({} Hz); use a cutoff under {}",
                                cutoff_hz, sound.rate, sound.rate / 2));
  const double fc = cutoff_hz / sound.rate;
  const std::size_t N = sound.samples.size();
  // The sound after max_taps - 1 zeros of history: the filter of L taps reads from max_taps - L on.
  std::vector<float> padded(max_taps - 1, 0.0f);
  padded.insert(padded.end(), sound.samples.begin(), sound.samples.end());
  auto input = [&](std::size_t L, std::size_t outputs) {
    return std::span<const float>(padded).subspan(max_taps - L, outputs + L - 1);
  };

  std::vector<std::uint64_t> lengths;
  if (ctx.quick) {
    for (std::size_t L = 8; L <= max_taps; L *= 4) lengths.push_back(L);
  } else {
    lengths = dp::geometric_sizes(8, max_taps, 2, true);
  }
  // Direct variants cost L multiply-adds a sample: they are timed on the first stretch of the sound
  // that costs `direct_work` of them (their time per sample does not depend on the signal length).
  const double direct_work = ctx.quick ? 0x1p24 : 0x1p27;

  // 1. Check every FIR variant at every length on the sound, against the convolution in double.
  //    The stretch checked spans two pairs of overlap-add blocks (a quarter second at least).
  ctx.log << fmt::format("  checking {} FIR lengths against double precision on {}\n", lengths.size(), sound.what);
  for (const std::uint64_t L : lengths) {
    const auto h = dp::filters::design_lowpass_fir(L, fc);
    const std::size_t n_check =
        std::min(N, std::max<std::size_t>(static_cast<std::size_t>(sound.rate / 4), 4 * (dp::filters::ola_fft_size(L) - L + 1)));
    const auto x = input(L, n_check);
    const auto ref = dp::filters::fir_reference(h, x, n_check);
    const double rms_y = rms(ref.y), rms_a = rms(ref.abs), rms_x = rms(x.subspan(L - 1));
    double h_l1 = 0;
    for (const float t : h) h_l1 += std::abs(t);
    for (const auto& v : fir_variants(h, ctx.quick)) {
      std::vector<float> y(n_check, NAN);
      v.run(x, y);
      const double err = relative_rms_error<float>(y, ref.y);
      const double bound = v.direct ? fir_bound_direct(L, rms_a, rms_y) : fir_bound_fft(v.fft_size, h_l1, rms_x, rms_y);
      ctx.result.add_check(
          fmt::format("{}, L = {}: matches the convolution in double", v.name, L), err <= bound,
          fmt::format("{} output samples of the sound: relative RMS error {:.3g}, bound {:.3g} ({}){}", n_check, err, bound,
                      v.direct ? fmt::format("gamma_L rms(|h|*|x|) / rms(y), rms(|h|*|x|) / rms(y) = {:.2f}", rms_a / rms_y)
                               : fmt::format("2 (3 log2 N + 1) u ||h||_1 rms(x) / rms(y), N = {}, rms(x) / rms(y) = {:.2f}",
                                             v.fft_size, rms_x / rms_y),
                      err <= bound ? "" : " — a wrong index or block boundary gives an error near 1"));
    }
  }

  // IIR: the design's response, then both float cascades against the cascade in double.
  const std::vector<int> orders = ctx.quick ? std::vector<int>{4, 8} : std::vector<int>{2, 4, 8, 16};
  {
    const std::size_t n_check = std::min<std::size_t>(N, static_cast<std::size_t>(sound.rate));
    const auto x = std::span<const float>(sound.samples).first(n_check);
    for (const int order : orders) {
      const auto sections = dp::filters::butterworth_lowpass(order, fc);
      const double dc = std::abs(dp::filters::biquad_response(sections, 0));
      const double at_fc = std::abs(dp::filters::biquad_response(sections, fc));
      const bool design_ok = std::abs(dc - 1) < 1e-9 && std::abs(at_fc - std::sqrt(0.5)) < 1e-9;
      ctx.result.add_check(fmt::format("Butterworth order {}: DC gain 1, -3 dB at {} Hz", order, cutoff_hz), design_ok,
                           fmt::format("|H(0)| = {:.12f}, |H(fc)| = {:.12f} (1/sqrt 2 = {:.12f}); tolerance 1e-9",
                                       dc, at_fc, std::sqrt(0.5)));
      std::vector<double> want(n_check);
      dp::filters::biquad_cascade<double>(sections, x, std::span<double>(want));
      const double bound = iir_bound(dp::filters::biquad_error_gain(sections), rms(x), rms(want));
      for (const bool by_section : {false, true}) {
        std::vector<float> got(n_check, NAN);
        if (by_section) dp::filters::biquad_cascade_by_section<float>(sections, x, std::span<float>(got));
        else dp::filters::biquad_cascade<float>(sections, x, std::span<float>(got));
        const double err = relative_rms_error<float>(got, want);
        ctx.result.add_check(
            fmt::format("IIR order {}, {}: matches the cascade in double", order, by_section ? "section by section" : "sample by sample"),
            err <= bound,
            fmt::format("{} samples of the sound: relative RMS error {:.3g}, bound {:.3g} (8 u G rms(x) / rms(y), error gain G = {:.2f})",
                        n_check, err, bound, dp::filters::biquad_error_gain(sections)));
      }
    }
  }
  if (!ctx.result.all_checks_passed()) return;

  // 2. Time the FIR variants at every length, then the IIR cascades at every order.
  const std::string mss = "Msamples/s";
  std::vector<float> y(N);
  // Every length costs about the same time to measure (the direct variants' work is capped, the
  // overlap-add's hardly grows with L): weight 1 each, not the sweep's default (the size).
  const dp::SweepOptions options{.label = [](std::uint64_t L) { return fmt::format("{} taps", L); },
                                 .weight = [](std::uint64_t) { return 1.0; }, .budget_share = 0.8, .stops_early = true};
  std::vector<double> measured;
  for (const std::uint64_t L : dp::Sweep(ctx, "filter length", lengths, options)) {
    const auto h = dp::filters::design_lowpass_fir(L, fc);
    for (auto& v : fir_variants(h, ctx.quick)) {
      const std::size_t n = v.direct ? std::clamp<std::size_t>(static_cast<std::size_t>(direct_work / static_cast<double>(L)),
                                                               std::min<std::size_t>(N, 4096), N)
                                     : N;
      const auto x = input(L, n);
      const auto out = std::span<float>(y).first(n);
      const dp::Stats s = ctx.measure(fmt::format("{}/L={}", v.name, L), [&] {
        v.run(x, out);
        benchmark::ClobberMemory();
      });
      ctx.result.add_point(v.name, "taps", static_cast<double>(L), s.per(static_cast<double>(n)),
                           static_cast<double>(n) / s.median_ns * 1e3, mss, "sample");
    }
    measured.push_back(static_cast<double>(L));
  }
  for (const int order : orders) {
    const auto sections = dp::filters::butterworth_lowpass(order, fc);
    for (const bool by_section : {false, true}) {
      const std::string name = by_section ? "IIR biquads, section by section" : "IIR biquads, sample by sample";
      const dp::Stats s = ctx.measure(fmt::format("{}/order={}", name, order), [&] {
        if (by_section) dp::filters::biquad_cascade_by_section<float>(sections, sound.samples, std::span<float>(y));
        else dp::filters::biquad_cascade<float>(sections, sound.samples, std::span<float>(y));
        benchmark::ClobberMemory();
      });
      ctx.result.add_point(name, "order", order, s.per(static_cast<double>(N)), static_cast<double>(N) / s.median_ns * 1e3,
                           mss, "sample");
    }
  }

  // The scipy peer, timed inside Python; its first outputs checked against the same references
  // as ours before its points are recorded. Its transform sizes (mixed radix) and arithmetic are
  // its own: the bound is four times ours, with N the largest transform it could use (the whole
  // sound in one block); its measured errors were up to 10 times ours.
  const std::string scipy_fir = "scipy oaconvolve (float32)", scipy_iir = "scipy sosfilt (float32)";
  bool have_scipy = false;
  {
    const std::size_t check = std::min<std::size_t>(N, 12000);
    std::string why;
    if (const auto peer = run_scipy(sound.samples, fc, measured, orders, check, ctx.quick, why)) {
      have_scipy = true;
      for (std::size_t i = 0; i < peer->fir_s.size(); ++i) {
        const std::size_t L = peer->fir_s[i].first;
        const auto h = dp::filters::design_lowpass_fir(L, fc);
        const auto x = input(L, check);
        const auto ref = dp::filters::fir_reference(h, x, check);
        double h_l1 = 0;
        for (const float t : h) h_l1 += std::abs(t);
        const double err = relative_rms_error<float>(peer->fir_out[i].second, ref.y);
        const double bound = 4 * fir_bound_fft(std::bit_ceil(N + L), h_l1, rms(x.subspan(L - 1)), rms(ref.y));
        ctx.result.add_check(fmt::format("{}, L = {}: matches the convolution in double", scipy_fir, L), err <= bound,
                             fmt::format("its first {} outputs: relative RMS error {:.3g}, bound {:.3g} (4 x our overlap-add's "
                                         "bound with N = {})", check, err, bound, std::bit_ceil(N + L)));
        const double seconds = peer->fir_s[i].second;
        const dp::Stats s{.median_ns = seconds * 1e9, .p10_ns = seconds * 1e9, .p90_ns = seconds * 1e9,
                          .min_ns = seconds * 1e9, .reps = ctx.quick ? 3 : 7};
        ctx.result.add_point(scipy_fir, "taps", static_cast<double>(L), s.per(static_cast<double>(N)),
                             static_cast<double>(N) / seconds * 1e-6, mss, "sample");
      }
      for (std::size_t i = 0; i < peer->iir_s.size(); ++i) {
        const int order = static_cast<int>(peer->iir_s[i].first);
        const auto sections = dp::filters::butterworth_lowpass(order, fc);
        const auto x = std::span<const float>(sound.samples).first(check);
        std::vector<double> want(check);
        dp::filters::biquad_cascade<double>(sections, x, std::span<double>(want));
        const double err = relative_rms_error<float>(peer->iir_out[i].second, want);
        const double bound = iir_bound(dp::filters::biquad_error_gain(sections), rms(x), rms(want));
        ctx.result.add_check(fmt::format("{}, order {}: matches the cascade in double", scipy_iir, order), err <= bound,
                             fmt::format("its first {} outputs: relative RMS error {:.3g}, bound {:.3g}", check, err, bound));
        const double seconds = peer->iir_s[i].second;
        const dp::Stats s{.median_ns = seconds * 1e9, .p10_ns = seconds * 1e9, .p90_ns = seconds * 1e9,
                          .min_ns = seconds * 1e9, .reps = ctx.quick ? 3 : 7};
        ctx.result.add_point(scipy_iir, "order", order, s.per(static_cast<double>(N)), static_cast<double>(N) / seconds * 1e-6,
                             mss, "sample");
      }
      ctx.result.notes.push_back(fmt::format(
          "scipy {} (bench/peers/scipy_filters.py, /usr/bin/python3): oaconvolve and sosfilt on the same sound in float32, "
          "one thread, median of {} runs by Python's own clock (no spread reported).", peer->version, ctx.quick ? 3 : 7));
    } else {
      ctx.result.notes.push_back(why);
    }
  }

  // 3. Plots, headlines, notes.
  std::vector<std::string> fir_names = {"direct", "direct SIMD", "FFT overlap-add (ours)"};
#if defined(DP_HAVE_FFTW)
  fir_names.push_back("FFT overlap-add (FFTW)");
#else
  ctx.result.notes.push_back("FFTW was not found when this was built (Debian: libfftw3-dev): the overlap-add has no library peer.");
#endif
  std::vector<std::string> plot_fir = fir_names, plot_iir = {"IIR biquads, sample by sample", "IIR biquads, section by section"};
  if (have_scipy) plot_fir.push_back(scipy_fir), plot_iir.push_back(scipy_iir);
  ctx.result.plots.push_back({.name = "fir", .title = fmt::format("FIR low-pass ({} Hz) on {:.0f} Hz audio, one thread", cutoff_hz, sound.rate),
                              .xlabel = "filter length (taps)", .ylabel = "Msamples/s", .y = dp::PlotSpec::Y::throughput,
                              .logx = true, .logy = true, .variants = plot_fir, .markers = {}});
  ctx.result.plots.push_back({.name = "iir", .title = "IIR Butterworth low-pass, biquad cascade (float), one thread",
                              .xlabel = "filter order", .ylabel = "Msamples/s", .y = dp::PlotSpec::Y::throughput,
                              .logx = true, .logy = false,
                              .variants = plot_iir, .markers = {}});
  for (const std::string& fft : fir_names) {
    if (fft.find("FFT") == std::string::npos) continue;
    const Crossover c = crossover(ctx.result, fft, measured);
    ctx.result.headlines.push_back(
        {fmt::format("crossover: {} beats the best direct FIR from", fft),
         c.taps == 0 ? fmt::format("never within L = {} .. {} taps", measured.front(), measured.back())
         : c.below == 0 ? fmt::format("L = {} taps (the shortest measured)", c.taps)
                        : fmt::format("L = {} taps (measured: slower or equal at {}, faster at {} and every longer L)", c.taps,
                                      c.below, c.taps)});
  }
  for (const std::string& name : plot_fir) {
    const auto* s = ctx.result.find_series(name);
    if (!s || s->points.empty()) continue;
    ctx.result.headlines.push_back(
        {fmt::format("{}: Msamples/s", name),
         fmt::format("{:.0f} at L = {}, {:.1f} at L = {}", s->points.front().throughput, s->points.front().x,
                     s->points.back().throughput, s->points.back().x)});
  }
  for (const std::string& name : plot_iir)
    if (const dp::Point* p = ctx.result.point_at(name, 8))
      ctx.result.headlines.push_back({fmt::format("{}, order 8: Msamples/s", name), fmt::format("{:.0f}", p->throughput)});

  ctx.result.notes.push_back(fmt::format("The sound: {}; {:.1f} s, {} samples, mono float.", sound.what,
                                         static_cast<double>(N) / sound.rate, N));
  ctx.result.notes.push_back(fmt::format(
      "FIR: windowed sinc (Hamming) low-pass at {} Hz ({:.4f} of the sample rate). The direct variants are timed on the first "
      "min(N, {:.0f} / L) samples (their cost per sample does not depend on the signal's length); the overlap-add ones on "
      "the whole sound, with an FFT of N = ola_fft_size(L) points (the power of two minimising N log2 N / (N - L + 1), "
      "about 8 L){}.",
      cutoff_hz, fc, direct_work, ctx.quick ? "; FFTW planned with FFTW_ESTIMATE in quick runs" : "; FFTW planned with FFTW_MEASURE"));
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "signal-filters",
             .title = "Filtering audio: direct, SIMD and FFT convolution, and IIR biquads",
             .module = 4,
             .level = 3,
             .tracks = {"sp"},
             .question = "From what filter length does FFT convolution beat direct convolution, and what does an IIR cost?",
             .guide_page = "m4/signal-filters.md",
             .source = "src/labs/m4/signal_filters.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::choice("sound", "what is filtered: the freedesktop theme's sounds, espeak-ng speech, or a "
                                              "generated chirp",
                                     {"freedesktop", "speech", "generated"}, "freedesktop"),
               dp::ParamSpec::real("seconds", "seconds of sound (looped where the sound is shorter)", 60.0, 2.0, 0.5, 600.0),
               dp::ParamSpec::real("cutoff-hz", "the low-pass filters' cutoff, in Hz", 4000.0, 4000.0, 20.0, 96000.0),
               dp::ParamSpec::integer("max-taps", "the longest FIR (8, 12, 16, 24 ... up to it; quick: 8, 32, 128 ...)", 4096,
                                      2048, 8, 16384)},
    .run = run,
});
