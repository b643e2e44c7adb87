#!/usr/bin/env python3
"""torch_quantize_mlp.py - quantize-mlp's trained network in PyTorch: fp32 and quantize_dynamic.

The weights are the lab's own (--weights: raw little-endian float32, layer by layer, W row-major
as nn.Linear stores it, then b; --widths 784,256,128,10), so fp32 accuracy must equal the lab's.
int8 is torch.ao.quantization.quantize_dynamic(qint8) with every quantized engine this build
has; the fastest engine at batch 256 is kept, and its accuracy reported.
Latency: one forward pass at each batch size, under torch.inference_mode(), the best thread count
of 1, 2, 4, ... and the core count; timed as bench/peers/torch_graph.py times (imported).

Output: one JSON object on stdout:
  {"torch", "engine", "threads": {series: {batch: n}}, "fp32_accuracy", "int8_accuracy",
   "latency": [{"series", "batch", "median_ns", "p10_ns", "p90_ns", "reps"}]}
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_graph import measure, summary  # noqa: E402
from torch_train import load  # noqa: E402


def build(weights_path, widths):
    flat = np.fromfile(weights_path, dtype="<f4")
    layers, at = [], 0
    for i, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        lin = torch.nn.Linear(fan_in, fan_out)
        w = flat[at:at + fan_in * fan_out].reshape(fan_out, fan_in)
        at += fan_in * fan_out
        b = flat[at:at + fan_out]
        at += fan_out
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))
        layers.append(lin)
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    if at != len(flat):
        sys.exit(f"torch_quantize_mlp.py: {weights_path} holds {len(flat)} floats, the widths need {at}")
    return torch.nn.Sequential(*layers).eval()


def best_over_threads(fn, counts, reps, min_time):
    best = None
    for t in counts:
        torch.set_num_threads(t)
        s = summary(measure(fn, reps, min_time, lambda: None))
        if best is None or s["median_ns"] < best["median_ns"]:
            best = dict(s, threads=t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--widths", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--batches", default="1,8,64,256,1024")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.05)
    a = ap.parse_args()
    widths = [int(w) for w in a.widths.split(",")]
    model = build(a.weights, widths)
    tx, ty = load(a.data, "t10k")
    tx, ty = tx[:a.test], ty[:a.test]
    cores = os.cpu_count() or 1
    counts = sorted({t for t in (1, 2, 4, 8, 16, 32, 64) if t < cores} | {cores})
    batches = [int(b) for b in a.batches.split(",")]
    out = {"torch": torch.__version__, "latency": [], "threads": {}}
    with torch.inference_mode():
        out["fp32_accuracy"] = float((model(tx).argmax(1) == ty).float().mean()) * 100
        engines = [e for e in ("fbgemm", "x86", "onednn", "qnnpack") if e in torch.backends.quantized.supported_engines]
        best_engine, best_ns, q_model = None, None, None
        probe = tx[:256]
        for engine in engines:
            try:
                torch.backends.quantized.engine = engine
                q = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
                ns = summary(measure(lambda: q(probe), 3, a.min_time, lambda: None))["median_ns"]
            except Exception as e:  # an engine this CPU or build cannot run
                print(f"torch_quantize_mlp: engine {engine} skipped: {e}", file=sys.stderr)
                continue
            if best_ns is None or ns < best_ns:
                best_engine, best_ns, q_model = engine, ns, q
        if q_model is None:
            sys.exit("torch_quantize_mlp.py: no quantized engine works here")
        torch.backends.quantized.engine = best_engine
        out["engine"] = best_engine
        out["int8_accuracy"] = float((q_model(tx).argmax(1) == ty).float().mean()) * 100
        for series, m in (("PyTorch fp32", model), (f"PyTorch int8 dynamic ({best_engine})", q_model)):
            out["threads"][series] = {}
            for b in batches:
                x = tx[:b] if b <= len(tx) else tx.repeat((b + len(tx) - 1) // len(tx), 1)[:b]
                r = best_over_threads(lambda: m(x), counts, a.reps, a.min_time)
                out["threads"][series][str(b)] = r["threads"]
                out["latency"].append({"series": series, "batch": b, "median_ns": r["median_ns"], "p10_ns": r["p10_ns"],
                                       "p90_ns": r["p90_ns"], "reps": r["reps"]})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
