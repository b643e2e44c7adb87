#!/usr/bin/env python3
"""The Python side of the bindings lab (src/labs/m5/bindings.cpp): y = relu(a*x + b), float32.

Variants, each timed per call, for each size n:
  python-loop       a Python loop calling dontpanic.relu_affine (C++) once per element
  batched           one call, dontpanic.relu_affine_into(x, out, a, b): a C++ loop over the
                    numpy buffer (GIL released)
  batched-gil-held  the same call with release_gil=False
  numpy             numpy's vectorised ops: multiply, add, maximum (out= each time: no allocation)
  graph-fused       a graph x -> linear(W = [[a]], b = [[b]]) -> relu, compiled for cpu-fused (one
                    fused linear_relu), run on a Tensor2D made once from x
The lab itself times the same C++ loop called from C++, and checks every variant's output against
its own: it writes the check input (--check-in), we write each variant's output to --check-out.

Prints one JSON object on its last line. Needs the module on PYTHONPATH (the lab sets it).
"""
import argparse
import json
import os
import sys
import time


def measure(fn, min_seconds, reps):
    """Median, p10, p90 of one call's time (ns), over `reps` repetitions of >= min_seconds each."""
    fn()  # warm up (first touch of the output, caches, branch predictors)
    t0 = time.perf_counter_ns()
    fn()
    one = max(time.perf_counter_ns() - t0, 1)
    calls = max(1, int(min_seconds * 1e9 / one))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter_ns() - t0) / calls)
    times.sort()

    def q(p):
        return times[min(len(times) - 1, int(p * (len(times) - 1) + 0.5))]

    return {"median_ns": q(0.5), "p10_ns": q(0.1), "p90_ns": q(0.9), "min_ns": times[0], "reps": reps}


def variants(dp, np, x, a, b):
    """name -> (call, result): call() computes once; result() returns the last output, float32."""
    n = x.size
    out = {}

    xs = x.tolist()  # Python floats: what a Python loop over data has in hand
    loop_result = []

    def python_loop():
        f = dp.relu_affine
        loop_result[:] = [f(v, a, b) for v in xs]

    out["python-loop"] = (python_loop, lambda: np.array(loop_result, dtype=np.float32))

    y = np.empty_like(x)
    out["batched"] = (lambda: dp.relu_affine_into(x, y, a, b), lambda: y.copy())
    y2 = np.empty_like(x)
    out["batched-gil-held"] = (lambda: dp.relu_affine_into(x, y2, a, b, release_gil=False), lambda: y2.copy())

    y3 = np.empty_like(x)
    a32, b32 = np.float32(a), np.float32(b)

    def numpy_op():
        np.multiply(x, a32, out=y3)
        np.add(y3, b32, out=y3)
        np.maximum(y3, np.float32(0), out=y3)

    out["numpy"] = (numpy_op, lambda: y3.copy())

    g = dp.Graph()
    xi = g.input("x", n, 1)
    w = g.constant("a", np.array([[a]], dtype=np.float32))
    c = g.constant("b", np.array([[b]], dtype=np.float32))
    g.mark_output(g.relu(g.linear(xi, w, c)))
    runner = dp.Runner(g, "cpu-fused")
    xt = dp.Tensor2D(x.reshape(n, 1))  # a copy, made once: the run reads it in place
    out["graph-fused"] = (lambda: runner.run(xt), lambda: runner.output(0).reshape(n))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", required=True, help="comma-separated element counts")
    ap.add_argument("--a", type=float, required=True)
    ap.add_argument("--b", type=float, required=True)
    ap.add_argument("--loop-max", type=int, required=True, help="largest n for python-loop")
    ap.add_argument("--min-seconds", type=float, default=0.01)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--check-in", required=True, help="raw float32 input for the check")
    ap.add_argument("--check-out", required=True, help="folder for each variant's raw float32 output")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    try:
        import numpy as np
    except ImportError as e:
        print(json.dumps({"skipped": f"numpy cannot be imported ({e}); Debian: apt install python3-numpy"}))
        return
    try:
        import dontpanic as dp
    except ImportError as e:
        print(json.dumps({"skipped": f"the module dontpanic cannot be imported ({e}); PYTHONPATH={os.environ.get('PYTHONPATH', '')}"}))
        return
    a, b = float(np.float32(args.a)), float(np.float32(args.b))

    # 1. The check: every variant on the lab's input, outputs back to the lab.
    x = np.fromfile(args.check_in, dtype=np.float32)
    for name, (call, result) in variants(dp, np, x, a, b).items():
        call()
        result().astype(np.float32).tofile(os.path.join(args.check_out, name + ".f32"))

    # 2. The timings, on fresh random input in [-1, 1).
    rng = np.random.default_rng(args.seed)
    timings = {}
    for n in [int(s) for s in args.sizes.split(",")]:
        x = rng.uniform(-1, 1, n).astype(np.float32)
        for name, (call, _) in variants(dp, np, x, a, b).items():
            if name == "python-loop" and n > args.loop_max:
                continue
            timings.setdefault(name, []).append(dict(n=n, **measure(call, args.min_seconds, args.reps)))
    print(json.dumps({"python": sys.version.split()[0], "numpy": np.__version__, "variants": timings}))


if __name__ == "__main__":
    main()
