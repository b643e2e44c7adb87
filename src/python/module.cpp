// module.cpp — `import dontpanic`: the project's tensors, graph engine and labs from Python.
//
// Build: the CMake project builds it with dontpanic (target dontpanic_py, file <build>/python/
// dontpanic.*.so). Use from the checkout:
//   PYTHONPATH=build/release/python /usr/bin/python3 -c 'import dontpanic; print(dontpanic.modes())'
//
// Index
//   Tensor2D          dp::tensor::Tensor2D<float>, with the buffer protocol: numpy.asarray(t) and
//                     t.numpy() are views of the tensor's memory, no copy; writes go both ways
//   Graph, build_mlp  the graph builder (graph/graph.hpp) and the labs' MLP (graph/mlp.hpp)
//   Runner            a graph compiled for a CPU mode ("cpu-immediate", "cpu-fused"), run(inputs)
//   relu_affine*      y = relu(a*x + b): one element, a whole numpy array, into a given array
//                     (the bindings lab's op, labs/m5/bindings_op.hpp)
//   run_lab           a lab's schema-1 result as a dict, as `dontpanic run` writes it
//   Error             dp::Error (bad parameter, shape, lab id ...): a RuntimeError subclass
//
// Who owns memory:
//   - A Tensor2D made from Python is owned by its Python object. A numpy view of it (through the
//     buffer protocol, or t.numpy()) holds a reference to that object, so the tensor lives as
//     long as any view, even after `del t`. Tensor2D has no resize from Python, so a view never
//     dangles.
//   - Everything C++ hands back (a runner's output, a graph's constant) is a copy: a runner's
//     outputs are overwritten (cpu-fused) or reallocated (cpu-immediate) by the next run, so a
//     view of them could dangle.
//   - A Runner holds its own copy of the graph (constants are shared, not copied: they are
//     immutable shared_ptrs), so changing or deleting the Graph object afterwards is safe.
// The GIL is released while C++ computes (Runner.run, the batched calls, run_lab): other Python
// threads run meanwhile. relu_affine_batch(..., release_gil=False) keeps it, for the lab to
// measure what releasing costs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/process.hpp"
#include "graph/graph.hpp"
#include "graph/mlp.hpp"
#include "graph/plan.hpp"
#include "graph/runner.hpp"
#include "labs/m5/bindings_op.hpp"
#include "tensor/tensor.hpp"

namespace py = pybind11;
using namespace py::literals;

namespace {

using Tensor = dp::tensor::Tensor2D<float>;
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

// A tensor from any 2-D array-like (copied, converted to float32).
Tensor tensor_from_array(const FloatArray& a) {
  if (a.ndim() != 2)
    throw dp::Error(fmt::format("Tensor2D wants a 2-D array; got {} dimension(s) (reshape it, e.g. a.reshape(1, -1))",
                                a.ndim()));
  Tensor t(static_cast<std::size_t>(a.shape(0)), static_cast<std::size_t>(a.shape(1)));
  if (t.size() != 0) std::memcpy(t.data(), a.data(), t.size() * sizeof(float));
  return t;
}

// A numpy array that owns a copy of `t`.
py::array_t<float> copy_to_numpy(const Tensor& t) {
  py::array_t<float> a({t.rows(), t.cols()});
  if (t.size() != 0) std::memcpy(a.mutable_data(), t.data(), t.size() * sizeof(float));
  return a;
}

// A numpy view of the tensor behind `self`: no copy; `self` is the array's base, so the tensor
// lives as long as the view.
py::array_t<float> view_of(py::object self) {
  Tensor& t = self.cast<Tensor&>();
  const auto cols = static_cast<py::ssize_t>(t.cols());
  return py::array_t<float>({static_cast<py::ssize_t>(t.rows()), cols},
                            {cols * static_cast<py::ssize_t>(sizeof(float)), static_cast<py::ssize_t>(sizeof(float))},
                            t.data(), self);
}

std::pair<std::size_t, std::size_t> checked_index(const Tensor& t, std::pair<py::ssize_t, py::ssize_t> rc) {
  auto [r, c] = rc;
  if (r < 0) r += static_cast<py::ssize_t>(t.rows());
  if (c < 0) c += static_cast<py::ssize_t>(t.cols());
  if (r < 0 || c < 0 || static_cast<std::size_t>(r) >= t.rows() || static_cast<std::size_t>(c) >= t.cols())
    throw py::index_error(fmt::format("index ({}, {}) is outside a {} tensor", rc.first, rc.second, t.shape()));
  return {static_cast<std::size_t>(r), static_cast<std::size_t>(c)};
}

// A Runner with its own copy of the graph (the runner keeps a reference to the graph it runs).
struct PyRunner {
  dp::graph::Graph graph;
  std::unique_ptr<dp::graph::Runner> runner;
};

dp::graph::Mode parse_cpu_mode(const std::string& name) {
  const auto mode = dp::graph::parse_mode(name);
  std::string cpu_modes;
  for (auto m : dp::graph::all_modes())
    if (!dp::graph::is_gpu_mode(m)) cpu_modes += fmt::format("{}'{}'", cpu_modes.empty() ? "" : ", ", dp::graph::mode_name(m));
  if (!mode) throw dp::Error(fmt::format("no execution mode '{}'; the CPU modes are {}", name, cpu_modes));
  if (dp::graph::is_gpu_mode(*mode))
    throw dp::Error(fmt::format("mode '{}' runs on the GPU, which the Python module does not open; use {} "
                                "(or `dontpanic run graph-modes` for the GPU modes)", name, cpu_modes));
  return *mode;
}

// Runner.run's inputs: one Tensor2D, a numpy array, or a list of them (one per graph input).
// A single Tensor2D is used in place; anything else is copied into tensors first.
void run_runner(PyRunner& r, const py::object& inputs) {
  if (py::isinstance<Tensor>(inputs)) {
    const Tensor& t = inputs.cast<const Tensor&>();
    py::gil_scoped_release release;
    r.runner->run(std::span(&t, 1));
    return;
  }
  std::vector<Tensor> tensors;
  auto add = [&](const py::handle& h) {
    if (py::isinstance<Tensor>(h)) tensors.push_back(h.cast<const Tensor&>());
    else tensors.push_back(tensor_from_array(py::cast<FloatArray>(h)));
  };
  if (py::isinstance<py::list>(inputs) || py::isinstance<py::tuple>(inputs)) {
    for (const auto& h : inputs) add(h);
  } else {
    add(inputs);
  }
  py::gil_scoped_release release;
  r.runner->run(tensors);
}

// --- the bindings lab's op --------------------------------------------------------------------

py::array_t<float> relu_affine_batch(const FloatArray& x, float a, float b, bool release_gil) {
  py::array_t<float> y(x.request().shape);
  const float* in = x.data();
  float* out = y.mutable_data();
  const auto n = static_cast<std::size_t>(x.size());
  if (release_gil) {
    py::gil_scoped_release release;
    dp::bindings::relu_affine_loop(in, out, n, a, b);
  } else {
    dp::bindings::relu_affine_loop(in, out, n, a, b);
  }
  return y;
}

// Into an array the caller owns: float32, C-contiguous, writeable, as many elements as x. No
// silent conversion here: a copy would make the writes land in a temporary.
void relu_affine_into(const FloatArray& x, py::array out, float a, float b, bool release_gil) {
  if (!py::isinstance<py::array_t<float>>(out) || !out.dtype().is(py::dtype::of<float>()))
    throw dp::Error(fmt::format("relu_affine_into: out must be a float32 numpy array; got dtype {}",
                                std::string(py::str(out.dtype()))));
  if (!(out.flags() & py::array::c_style))
    throw dp::Error("relu_affine_into: out must be C-contiguous (numpy.ascontiguousarray, or a fresh numpy.empty)");
  if (!out.writeable()) throw dp::Error("relu_affine_into: out is read-only");
  if (out.size() != x.size())
    throw dp::Error(fmt::format("relu_affine_into: out has {} elements and x {}; want the same", out.size(), x.size()));
  const float* in = x.data();
  auto* dst = static_cast<float*>(out.mutable_data());
  const auto n = static_cast<std::size_t>(x.size());
  if (release_gil) {
    py::gil_scoped_release release;
    dp::bindings::relu_affine_loop(in, dst, n, a, b);
  } else {
    dp::bindings::relu_affine_loop(in, dst, n, a, b);
  }
}

// --- run_lab ----------------------------------------------------------------------------------

// Labs run in a `dontpanic run` process, not in Python's: labs load libraries that need static
// TLS (GLIBC_TUNABLES=glibc.rtld.optional_static_tls, set before a process starts: too late for
// a running python3), time things with every core and may leave a Ctrl-C half-handled; and
// linking every lab into the module would build all of dp_labs a second time, -fPIC. The result
// comes back as the JSON file the CLI writes, through Python's json.loads: one parser, and the
// dict holds exactly what `dontpanic run --json` writes (nothing re-encoded on the way).
py::object run_lab(const std::string& id, const py::dict& params, bool quick, bool history, double timeout) {
  const char* cli = std::getenv("DONTPANIC_CLI");
  const std::string exe = cli != nullptr && *cli != '\0' ? cli : DP_CLI_PATH;
  if (!std::filesystem::exists(exe))
    throw dp::Error(fmt::format("run_lab: {} does not exist; build it (cmake --build --preset release --target dontpanic) "
                                "or point DONTPANIC_CLI at a dontpanic executable", exe));
  std::string dir_template = (std::filesystem::temp_directory_path() / "dontpanic-py-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) throw dp::Error("run_lab: cannot create a scratch folder in /tmp");
  const std::filesystem::path dir = dir_template;
  const std::string json_path = (dir / "result.json").string();
  std::vector<std::string> argv = {exe, "run", id, "--json", json_path, "--plot", "none", "--out", dir.string()};
  if (quick) argv.emplace_back("--quick");
  for (const auto& [key, value] : params) {
    std::string text;
    if (py::isinstance<py::bool_>(value)) text = value.cast<bool>() ? "on" : "off";
    else text = py::str(value);
    argv.emplace_back("--param");
    argv.push_back(fmt::format("{}={}", std::string(py::str(key)), text));
  }
  dp::ProcessFence fence;
  fence.env.emplace_back("GLIBC_TUNABLES=glibc.rtld.optional_static_tls=16384");
  if (!history) fence.env.push_back(fmt::format("DONTPANIC_HISTORY={}", (dir / "history.db").string()));
  dp::ProcessResult proc;
  {
    py::gil_scoped_release release;
    proc = dp::run_process(argv, {}, timeout, fence);
  }
  std::string text;
  if (std::ifstream in(json_path); in) {
    std::ostringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (text.empty()) {
    // No result: the CLI said why (a bad id or parameter, a lab that cannot run here). Its words,
    // not ours: the same message as on the command line.
    std::string why = proc.output;
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    if (why.size() > 4000) why = "..." + why.substr(why.size() - 4000);
    if (proc.timed_out) why += fmt::format(" (timed out after {} s)", timeout);
    throw dp::Error(fmt::format("run_lab('{}'): {}", id, why.empty() ? fmt::format("dontpanic exited with {}", proc.exit_code) : why));
  }
  return py::module_::import("json").attr("loads")(text);
}

}  // namespace

PYBIND11_MODULE(dontpanic, m) {
  m.doc() = "Don't Panic from Python: Tensor2D (buffer protocol), the graph engine, run_lab.";
  static py::exception<dp::Error> error(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const dp::Error& e) {
      error(e.what());
    }
  });

  // --- Tensor2D ---------------------------------------------------------------------------------
  py::class_<Tensor>(m, "Tensor2D", py::buffer_protocol(),
                     "A row-major float32 matrix in 64-byte aligned memory (tensor/tensor.hpp).\n"
                     "numpy.asarray(t) and t.numpy() are views of it, no copy; they keep it alive.")
      .def(py::init<std::size_t, std::size_t>(), "rows"_a, "cols"_a, "Zeros, rows x cols.")
      .def(py::init(&tensor_from_array), "array"_a, "A copy of a 2-D array (converted to float32).")
      .def_static("random", &Tensor::random, "rows"_a, "cols"_a, "seed"_a, "lo"_a = -1.0f, "hi"_a = 1.0f,
                  "Uniform in [lo, hi) from a seed: the same values as Tensor2D<float>::random in C++.")
      .def_property_readonly("rows", &Tensor::rows)
      .def_property_readonly("cols", &Tensor::cols)
      .def_property_readonly("shape", [](const Tensor& t) { return py::make_tuple(t.rows(), t.cols()); })
      .def_property_readonly("address", [](const Tensor& t) { return reinterpret_cast<std::uintptr_t>(t.data()); },
                             "Where the elements are, to compare with a view's __array_interface__['data'][0].")
      .def("__len__", &Tensor::rows)
      .def("__getitem__", [](const Tensor& t, std::pair<py::ssize_t, py::ssize_t> rc) {
        const auto [r, c] = checked_index(t, rc);
        return t(r, c);
      })
      .def("__setitem__", [](Tensor& t, std::pair<py::ssize_t, py::ssize_t> rc, float v) {
        const auto [r, c] = checked_index(t, rc);
        t(r, c) = v;
      })
      .def("fill", &Tensor::fill, "value"_a)
      .def("sum", [](const Tensor& t) {
        double s = 0;
        for (float v : t.span()) s += v;
        return s;
      }, "The sum of the elements, in double, read by C++.")
      .def("numpy", &view_of, "A numpy view (no copy) that keeps this tensor alive.")
      .def("copy", [](const Tensor& t) { return copy_to_numpy(t); }, "A numpy copy.")
      .def("__repr__", [](const Tensor& t) { return fmt::format("<dontpanic.Tensor2D {}>", t.shape()); })
      .def_buffer([](Tensor& t) -> py::buffer_info {
        // (rows, cols), rows contiguous: row stride = cols floats. The exporter (this Python object)
        // is referenced by the Py_buffer, so numpy's array keeps the tensor alive.
        return py::buffer_info(t.data(), sizeof(float), py::format_descriptor<float>::format(), 2,
                               {t.rows(), t.cols()}, {sizeof(float) * t.cols(), sizeof(float)});
      });

  // --- the graph engine -------------------------------------------------------------------------
  using dp::graph::Graph;
  using dp::graph::NodeId;
  py::class_<Graph>(m, "Graph", "A computational graph (graph/graph.hpp); builder methods return node ids.")
      .def(py::init<>())
      .def("input", [](Graph& g, std::string name, std::size_t rows, std::size_t cols) { return g.input(std::move(name), {rows, cols}); },
           "name"_a, "rows"_a, "cols"_a)
      .def("constant", [](Graph& g, std::string name, const Tensor& v) { return g.constant(std::move(name), v); },
           "name"_a, "value"_a, "A constant (copied): a Tensor2D ...")
      .def("constant", [](Graph& g, std::string name, const FloatArray& v) { return g.constant(std::move(name), tensor_from_array(v)); },
           "name"_a, "value"_a, "... or a 2-D array")
      .def("linear", &Graph::linear, "x"_a, "w"_a, "b"_a, "name"_a = "", "x · Wᵀ + b; W (N x K) and b (1 x N) constants")
      .def("relu", &Graph::relu, "x"_a, "name"_a = "")
      .def("softmax", &Graph::softmax, "x"_a, "name"_a = "")
      .def("add", &Graph::add, "a"_a, "b"_a, "name"_a = "")
      .def("sub", &Graph::sub, "a"_a, "b"_a, "name"_a = "")
      .def("sum", &Graph::sum, "x"_a, "name"_a = "")
      .def("mark_output", &Graph::mark_output, "node"_a)
      .def("__len__", &Graph::size)
      .def("node_names", [](const Graph& g) {
        std::vector<std::string> names;
        for (const auto& n : g.nodes()) names.push_back(n.name);
        return names;
      })
      .def("constant_value", [](const Graph& g, const std::string& name) {
        for (const auto& n : g.nodes())
          if (n.name == name && n.value) return copy_to_numpy(*n.value);
        throw dp::Error(fmt::format("no constant named '{}' in this graph", name));
      }, "name"_a, "A numpy copy of a constant (weights, biases).")
      .def("plan", [](const Graph& g, bool fuse) { return dp::graph::make_plan(g, fuse).describe(g); }, "fuse"_a = true,
           "The compiled plan, one op per line (what cpu-fused runs when fuse=True).");

  m.def("build_mlp", [](std::size_t width, std::size_t depth, std::size_t batch, std::uint64_t seed, bool softmax) {
    return dp::graph::build_mlp({.width = width, .depth = depth, .batch = batch, .seed = seed, .softmax = softmax});
  }, "width"_a = 64, "depth"_a = 4, "batch"_a = 64, "seed"_a = 1, "softmax"_a = true,
        "The labs' MLP (graph/mlp.hpp): x (batch x width) -> depth x [linear -> relu] -> softmax.\n"
        "Its constants are named W<i> and b<i> (see Graph.node_names()).");
  m.def("mlp_input", [](std::size_t width, std::size_t depth, std::size_t batch, std::uint64_t seed, bool softmax) {
    return dp::graph::mlp_input({.width = width, .depth = depth, .batch = batch, .seed = seed, .softmax = softmax});
  }, "width"_a = 64, "depth"_a = 4, "batch"_a = 64, "seed"_a = 1, "softmax"_a = true, "The labs' seeded input for that MLP.");
  m.def("modes", [] {
    std::vector<std::string> names;
    for (auto mode : dp::graph::all_modes())
      if (!dp::graph::is_gpu_mode(mode)) names.emplace_back(dp::graph::mode_name(mode));
    return names;
  }, "The execution modes Runner takes (the CPU ones; the labs' names).");

  py::class_<PyRunner>(m, "Runner", "A graph prepared for one execution mode (graph/runner.hpp).")
      .def(py::init([](const Graph& g, const std::string& mode) {
        auto r = std::make_unique<PyRunner>();
        r->graph = g;  // its own copy: the runner refers to it
        r->runner = dp::graph::make_cpu_runner(r->graph, parse_cpu_mode(mode));
        return r;
      }), "graph"_a, "mode"_a = "cpu-fused")
      .def_property_readonly("mode", [](const PyRunner& r) { return dp::graph::mode_name(r.runner->mode()); })
      .def("run", &run_runner, "inputs"_a,
           "Runs the graph: a Tensor2D (used in place), a 2-D array, or a list, one per graph input.")
      .def("output", [](const PyRunner& r, std::size_t i) {
        if (i >= r.graph.outputs().size())
          throw py::index_error(fmt::format("output {} of a graph with {} output(s)", i, r.graph.outputs().size()));
        return copy_to_numpy(r.runner->output(i));
      }, "i"_a = 0, "A numpy copy of output i of the last run.")
      .def("__call__", [](PyRunner& r, const py::object& inputs) {
        run_runner(r, inputs);
        return copy_to_numpy(r.runner->output(0));
      }, "inputs"_a, "run(inputs), then output(0).");

  // --- the bindings lab's op ---------------------------------------------------------------------
  m.def("relu_affine", &dp::bindings::relu_affine, "x"_a, "a"_a, "b"_a, "relu(a*x + b) of one float.");
  m.def("relu_affine_batch", &relu_affine_batch, "x"_a, "a"_a, "b"_a, "release_gil"_a = true,
        "relu(a*x + b) of every element of x, into a new float32 array; one C++ loop.");
  m.def("relu_affine_into", &relu_affine_into, "x"_a, "out"_a, "a"_a, "b"_a, "release_gil"_a = true,
        "relu(a*x + b) of every element of x, written into out (float32, C-contiguous).");

  // --- labs ----------------------------------------------------------------------------------------
  m.def("run_lab", &run_lab, "id"_a, "params"_a = py::dict(), "quick"_a = true, "history"_a = true, "timeout"_a = 3600.0,
        "Runs a lab as `dontpanic run <id> [--quick] --param k=v ...` does and returns its schema-1\n"
        "result as a dict. A bad id or parameter raises dontpanic.Error with the CLI's message.\n"
        "A failed check does not raise: it is in result['checks']. history=False keeps the run out\n"
        "of the history database.");
}
