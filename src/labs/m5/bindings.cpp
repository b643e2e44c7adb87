// bindings — What does a call from Python into C++ cost, per element: one call per element, one
// call per array, numpy, our graph engine, and the same loop called from C++?
//
// The op is y = relu(a*x + b) on float32 (labs/m5/bindings_op.hpp: one definition, bound into the
// Python module `dontpanic` by src/python/module.cpp and called here from C++). Variants, per
// element, for n = 100 ... 10^7 elements:
//   python-loop       a Python list comprehension calling dontpanic.relu_affine(v, a, b) per element
//   batched           dontpanic.relu_affine_into(x, out, a, b): one call, a C++ loop over the numpy
//                     buffer (no copy: the buffer protocol), the GIL released during the loop
//   batched-gil-held  the same call keeping the GIL (what releasing it costs, at small n)
//   numpy             np.multiply, np.add, np.maximum, each with out= (three passes, no allocation)
//   graph-fused       a graph x -> linear(W = [[a]], b = [[b]]) -> relu compiled for cpu-fused (one
//                     fused linear_relu op, rows split across threads), run from Python on a Tensor2D
//   cpp-loop          relu_affine_loop called from C++ here: the floor the others are compared with
// The Python variants run in /usr/bin/python3 (bench/peers/bindings_py.py) with the module this
// build made (PYTHONPATH=<build>/python); without the module or numpy a note says why and only
// cpp-loop is measured.
// Checked before the timings are used: on a fresh random input (written to a file the script
// reads), every variant's output equals relu(fma(a, x, b)) computed here, element by element and
// exactly, where the C++ op runs (cpp-loop, python-loop, batched*); numpy rounds twice (a*x, then
// +b) and graph-fused's GEMM adds the bias after the product, so theirs must be within float
// rounding of the double result: eps * (|a*x| + |y|).
//
//   dontpanic run bindings            n = 100 .. 10^7 (python-loop up to 10^6)
//   dontpanic run bindings --quick    n = 100 .. 10^5 (python-loop up to 10^4)
//   --param max-n=1000000 --param loop-max=100000
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "labs/peer_output.hpp"
#include "core/error.hpp"
#include "core/lab.hpp"
#include "core/process.hpp"
#include "core/source_tree.hpp"
#include "core/sweep.hpp"
#include "labs/m5/bindings_op.hpp"
#include "tensor/tensor.hpp"

namespace {

namespace fs = std::filesystem;
using dp::tensor::Tensor2D;

constexpr float kA = 1.5f;    // y = relu(kA * x + kB), x in [-1, 1): a quarter of the outputs are 0
constexpr float kB = -0.25f;
constexpr std::uint64_t kSeed = 1;
constexpr std::size_t kCheckN = 10'007;  // odd: every vector loop has a remainder

// The Python variants, in the script's names, and what each is.
const std::vector<std::string> kPythonVariants = {"python-loop", "batched", "batched-gil-held", "numpy", "graph-fused"};

// ---------------------------------------------------------------------------------------------
// The C++ side: the loop the Python module runs in `batched`, called from C++
// ---------------------------------------------------------------------------------------------

void cpp_loop(const Tensor2D<float>& x, Tensor2D<float>& y) {
  dp::bindings::relu_affine_loop(x.data(), y.data(), x.size(), kA, kB);
}

// ---------------------------------------------------------------------------------------------
// Reference and check
// ---------------------------------------------------------------------------------------------

// relu(a*x + b) with one rounding, as the op defines it.
float reference(float x) {
  const float s = std::fma(kA, x, kB);
  return s > 0.0f ? s : 0.0f;
}

// Compares `got` with the reference: exactly, or (rounds_otherwise) within float rounding of the
// double result.
void check_output(dp::LabContext& ctx, const std::string& name, const std::vector<float>& x,
                  const std::vector<float>& got, bool rounds_otherwise) {
  if (got.size() != x.size()) {
    ctx.result.add_check(fmt::format("{} output", name), false,
                         fmt::format("{} elements, want {}", got.size(), x.size()));
    return;
  }
  std::size_t bad = 0, first_bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double exact = std::max(0.0, double(kA) * double(x[i]) + double(kB));
    const double tol = rounds_otherwise ? std::max(std::abs(exact), 1e-30) * std::numeric_limits<float>::epsilon() +
                                         std::abs(double(kA) * x[i]) * std::numeric_limits<float>::epsilon()
                                   : 0.0;
    const double err = rounds_otherwise ? std::abs(double(got[i]) - exact) : std::abs(double(got[i]) - double(reference(x[i])));
    worst = std::max(worst, err);
    if (!(err <= tol) && bad++ == 0) first_bad = i;
  }
  ctx.result.add_check(
      fmt::format("{} output", name), bad == 0,
      bad == 0 ? fmt::format("{} elements {}; largest difference {:.3g}", x.size(),
                             rounds_otherwise ? "within float rounding of relu(a*x + b) in double" : "equal to relu(fma(a, x, b)), bit for bit", worst)
               : fmt::format("{} of {} elements differ; first at {}: x = {}, got {}, want {}", bad, x.size(), first_bad,
                             x[first_bad], got[first_bad], reference(x[first_bad])));
}

std::vector<float> read_floats(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<float> v;
  if (!in) return v;
  in.seekg(0, std::ios::end);
  v.resize(static_cast<std::size_t>(in.tellg()) / sizeof(float));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

// ---------------------------------------------------------------------------------------------
// The Python side: where the module is, running the script
// ---------------------------------------------------------------------------------------------

// The folder with this build's dontpanic.*.so, or a note saying why there is none.
std::optional<std::string> module_dir(std::string& why) {
#ifdef DP_HAVE_PYBIND11
  const fs::path dir = DP_PYTHON_MODULE_DIR;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("dontpanic.") && name.ends_with(".so")) return dir.string();
  }
  why = fmt::format("the Python module is not built ({} has no dontpanic.*.so): cmake --build --preset release "
                    "--target dontpanic_py", dir.string());
  return std::nullopt;
#else
  why = "this build has no Python module (pybind11 not found: Debian pybind11-dev python3-dev; or a sanitizer "
        "build, where python3 cannot load an instrumented module)";
  return std::nullopt;
#endif
}

struct ScratchDir {
  fs::path path = fs::temp_directory_path() / fmt::format("dontpanic-bindings-{}", ::getpid());
  ScratchDir() { fs::create_directories(path); }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

// Runs the script; returns its JSON (or nullopt with a note).
std::optional<nlohmann::json> run_python(dp::LabContext& ctx, const std::string& modules, const fs::path& scratch,
                                         const std::vector<std::uint64_t>& sizes, std::int64_t loop_max) {
  const auto python = fs::exists("/usr/bin/python3") ? std::optional<std::string>("/usr/bin/python3") : dp::find_program("python3");
  if (!python) {
    ctx.result.notes.push_back("Python variants skipped: no python3 here.");
    return std::nullopt;
  }
  std::string size_list;
  for (auto n : sizes) size_list += fmt::format("{}{}", size_list.empty() ? "" : ",", n);
  dp::ProcessFence fence;
  fence.env.push_back("PYTHONPATH=" + modules);
  const auto proc = dp::run_process(
      {*python, (dp::source_dir() / "bench" / "peers" / "bindings_py.py").string(), "--sizes", size_list, "--a",
       fmt::format("{}", kA), "--b", fmt::format("{}", kB), "--loop-max", std::to_string(loop_max), "--min-seconds",
       ctx.quick ? "0.002" : "0.02", "--reps", ctx.quick ? "5" : "9", "--check-in", (scratch / "x.f32").string(),
       "--check-out", scratch.string(), "--seed", std::to_string(kSeed + 1)},
      {}, ctx.quick ? 120 : 1800, fence);
  try {
    auto j = dp::labs::peer_json(proc.output);  // its last line: warnings may come before
    if (j.contains("skipped")) {
      ctx.result.notes.push_back(fmt::format("Python variants skipped: {}", j.at("skipped").get<std::string>()));
      return std::nullopt;
    }
    return j;
  } catch (const std::exception&) {
    ctx.result.notes.push_back(fmt::format("Python variants skipped: bindings_py.py exited with {}{}: {}", proc.exit_code,
                                           proc.timed_out ? " (timed out)" : "", proc.output.substr(0, 600)));
    return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// run(): check, then time, then report
// ---------------------------------------------------------------------------------------------

void run(dp::LabContext& ctx) {
  const auto max_n = static_cast<std::uint64_t>(ctx.params.integer("max-n"));
  const auto loop_max = ctx.params.integer("loop-max");
  const auto sizes = dp::geometric_sizes(100, max_n, 10);

  // 1. The check input, and the C++ loop's output on it.
  const auto xt = Tensor2D<float>::random(1, kCheckN, kSeed);
  const std::vector<float> x(xt.span().begin(), xt.span().end());
  {
    Tensor2D<float> y(1, kCheckN);
    cpp_loop(xt, y);
    check_output(ctx, "cpp-loop", x, std::vector<float>(y.span().begin(), y.span().end()), false);
  }

  // 2. The Python variants: the script checks first (their outputs on x come back as files), then times.
  std::string why;
  const auto modules = module_dir(why);
  std::optional<nlohmann::json> py;
  const ScratchDir scratch;
  if (!modules) {
    ctx.result.notes.push_back("Python variants skipped: " + why + ". Only cpp-loop is measured.");
  } else {
    {
      std::ofstream out(scratch.path / "x.f32", std::ios::binary);
      out.write(reinterpret_cast<const char*>(x.data()), static_cast<std::streamsize>(x.size() * sizeof(float)));
    }
    ctx.log << fmt::format("python3 bench/peers/bindings_py.py, module from {}\n", *modules);
    py = run_python(ctx, *modules, scratch.path, sizes, loop_max);
    if (py)
      for (const auto& name : kPythonVariants)
        check_output(ctx, name, x, read_floats(scratch.path / (name + ".f32")), name == "numpy" || name == "graph-fused");
  }
  if (!ctx.result.all_checks_passed()) return;

  // 3. Time the C++ loop from C++, into a buffer made once (as `batched` writes into `out`).
  for (const auto n : sizes) {
    const auto in = Tensor2D<float>::random(1, n, kSeed + 2);
    Tensor2D<float> out(1, n);
    const auto s = ctx.measure(fmt::format("cpp-loop/n={}", n), [&] {
      cpp_loop(in, out);
      benchmark::DoNotOptimize(out.data());
      benchmark::ClobberMemory();
    });
    ctx.result.add_point("cpp-loop", "elements", double(n), s.per(double(n)), 1e3 * double(n) / s.median_ns,
                         "M elements/s", "element");
  }

  // 4. The Python timings (per call, from the script) per element.
  std::vector<std::string> shown = {"cpp-loop"};
  if (py) {
    for (const auto& name : kPythonVariants) {
      if (!py->at("variants").contains(name)) continue;
      shown.push_back(name);
      for (const auto& p : py->at("variants").at(name)) {
        const double n = p.at("n");
        const dp::Stats call{.median_ns = p.at("median_ns"), .p10_ns = p.at("p10_ns"), .p90_ns = p.at("p90_ns"),
                             .min_ns = p.at("min_ns"), .reps = p.at("reps")};
        ctx.result.add_point(name, "elements", n, call.per(n), 1e3 * n / call.median_ns, "M elements/s", "element");
      }
    }
    ctx.result.notes.push_back(fmt::format(
        "Python {} with numpy {}; each Python time is one call's median over repetitions of >= {} ms "
        "(time.perf_counter_ns), divided by n. numpy makes three passes (multiply, add, maximum, each with out=); "
        "graph-fused times Runner.run alone (its output stays in C++ until output() copies it).",
        py->at("python").get<std::string>(), py->at("numpy").get<std::string>(), ctx.quick ? 2 : 20));
  }

  // 5. Plots and headlines.
  ctx.result.plots.push_back(dp::PlotSpec{
      .name = "per-element", .title = "y = relu(a*x + b): time per element, by how C++ is called",
      .xlabel = "elements per call (n)", .ylabel = "ns per element", .y = dp::PlotSpec::Y::time, .logx = true,
      .logy = true, .variants = shown, .markers = {}});
  const double big = double(sizes.back());
  const auto* cpp = ctx.result.point_at("cpp-loop", big);
  auto per_elem = [&](const std::string& v, double n) {
    const auto* p = ctx.result.point_at(v, n);
    return p ? p->median_ns : 0.0;
  };
  if (py && cpp) {
    if (const double b = per_elem("batched", big); b > 0)
      ctx.result.headlines.push_back({fmt::format("batched call vs cpp-loop at n = {:.0e}", big),
                                      fmt::format("{:.2f}x the time per element ({:.3g} vs {:.3g} ns)", b / cpp->median_ns, b, cpp->median_ns)});
    if (const auto* s = ctx.result.find_series("python-loop"); s && !s->points.empty()) {
      const auto& last = s->points.back();
      ctx.result.headlines.push_back({"python-loop, one call per element",
                                      fmt::format("{:.0f} ns per element at n = {:.0e} ({:.0f}x cpp-loop)", last.median_ns, last.x,
                                                  last.median_ns / std::max(per_elem("cpp-loop", last.x), 1e-9))});
    }
    if (const double nb = per_elem("numpy", big), b = per_elem("batched", big); nb > 0 && b > 0)
      ctx.result.headlines.push_back({fmt::format("numpy vs batched at n = {:.0e}", big), fmt::format("{:.2f}x the time", nb / b)});
    const double small = double(sizes.front());
    if (const double held = per_elem("batched-gil-held", small), rel = per_elem("batched", small); held > 0 && rel > 0)
      ctx.result.headlines.push_back({fmt::format("releasing the GIL (batched - batched-gil-held), n = {:.0f}", small),
                                      fmt::format("{:+.0f} ns per call", (rel - held) * small)});
  }
}

}  // namespace

DP_REGISTER_LAB({
    .info = {.id = "bindings",
             .title = "Bindings: calling C++ from Python (pybind11)",
             .module = 5,
             .level = 3,
             .tracks = {"dl"},
             .question = "What does a call from Python into C++ cost per element: one call per element, one call per "
                         "array, numpy, our graph engine, and the same loop called from C++?",
             .guide_page = "m5/bindings.md",
             .source = "src/labs/m5/bindings.cpp",
             .requires_gpu = {}},
    .params = {dp::ParamSpec::integer("max-n", "largest n; n = 100, 1000, ... up to it", 10'000'000, 100'000, 100, 100'000'000),
               dp::ParamSpec::integer("loop-max", "largest n for python-loop (about 100 ns per element)", 1'000'000, 10'000,
                                      100, 100'000'000)},
    .run = run,
});
