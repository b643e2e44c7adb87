#!/usr/bin/env python3
"""torch_quantized.py - the quantization lab's linear layers in PyTorch, fp32 and dynamic int8.

For each shape MxKxN (a batch of M rows with K features into N outputs):
    fp32         torch.nn.Linear(K, N), under torch.inference_mode()
    int8         torch.ao.quantization.quantize_dynamic of that Linear to qint8 weights: per-tensor
                 weight scale (PyTorch's default), the input quantized per batch at run time, as
                 our "int8 dynamic" variant does; once for every quantized engine this build has
                 (fbgemm, x86, onednn, qnnpack), and the best engine is reported
The weights are He-uniform, the inputs uniform in [-1, 1), drawn by numpy from --seed; the error
printed is PyTorch's own: max |int8 - fp32| over max |fp32| on that input.

Threads: every count in --threads is tried with torch.set_num_threads and the best median is
reported (on 2-core machines Debian's PyTorch can be much slower with two threads than one).

Timing: as bench/peers/torch_graph.py (which this imports): a warm-up, then --reps repetitions
of at least --min-time seconds each; median and 10th/90th percentiles of the per-call time.

Output: one JSON object on stdout:
  {"torch": "2.1.0", "engines": [...], "results": [{"m", "k", "n", "mode", "engine", "threads",
   "median_ns", "p10_ns", "p90_ns", "reps", "max_rel_error"}], "skipped": [{"mode", "reason"}]}

Usage
  torch_quantized.py --shapes 256x1024x1024,128x128x128 [--threads 1,2] [--reps 5]
  (default threads: 1, 2, 4, ... below the core count, and the core count)
                     [--min-time 0.05] [--seed 1]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_graph import measure, summary  # noqa: E402  (same timing as the graph peer)


def parse_shapes(text):
    shapes = []
    for part in text.split(","):
        m, k, n = (int(v) for v in part.lower().split("x"))
        shapes.append((m, k, n))
    return shapes


def quantized_engines():
    wanted = ["fbgemm", "x86", "onednn", "qnnpack"]
    return [e for e in wanted if e in torch.backends.quantized.supported_engines]


def best_over_threads(fn, threads, reps, min_time):
    best, by_threads = None, {}
    for t in threads:
        torch.set_num_threads(t)
        s = summary(measure(fn, reps, min_time, lambda: None))
        by_threads[str(t)] = s["median_ns"]
        if best is None or s["median_ns"] < best["median_ns"]:
            best = dict(s, threads=t)
    best["by_threads"] = by_threads
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--threads", default=None, help="comma list; default 1..cores")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    cores = os.cpu_count() or 1
    threads = ([int(t) for t in a.threads.split(",")] if a.threads
               else sorted({t for t in (1, 2, 4, 8, 16, 32, 64) if t < cores} | {cores}))
    rng = np.random.default_rng(a.seed)
    out = {"torch": torch.__version__, "engines": quantized_engines(), "results": [], "skipped": []}
    for (m, k, n) in parse_shapes(a.shapes):
        bound = float(np.sqrt(6.0 / k))
        layer = torch.nn.Linear(k, n)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(rng.uniform(-bound, bound, (n, k)).astype(np.float32)))
            layer.bias.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, n).astype(np.float32)))
        x = torch.from_numpy(rng.uniform(-1, 1, (m, k)).astype(np.float32))
        with torch.inference_mode():
            want = layer(x)
            r = best_over_threads(lambda: layer(x), threads, a.reps, a.min_time)
            out["results"].append(dict(r, m=m, k=k, n=n, mode="fp32", engine="", max_rel_error=0.0))
            for engine in out["engines"]:
                try:
                    torch.backends.quantized.engine = engine
                    q = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(layer), {torch.nn.Linear},
                                                               dtype=torch.qint8)
                    got = q(x)
                    err = float((got - want).abs().max() / want.abs().max())
                    r = best_over_threads(lambda: q(x), threads, a.reps, a.min_time)
                    out["results"].append(dict(r, m=m, k=k, n=n, mode="int8", engine=engine, max_rel_error=err))
                except Exception as e:  # an engine this CPU or build cannot run: say so, go on
                    out["skipped"].append({"mode": f"int8 ({engine}) at {m}x{k}x{n}", "reason": str(e)[:200]})
        print(f"torch_quantized: {m}x{k}x{n} done", file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
