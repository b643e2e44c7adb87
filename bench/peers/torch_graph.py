#!/usr/bin/env python3
"""torch_graph.py - the graph labs' MLP in PyTorch, timed the way our labs time theirs.

The network is the one src/graph/mlp.cpp builds, with the same weights bit for bit (the same
SplitMix64 stream, reproduced with numpy):
    x (batch x width) -> depth x [Linear(width, width) -> ReLU] -> softmax over each row
Weights are He-uniform U(-a, a), a = sqrt(6 / width); biases U(-0.1, 0.1).

Modes
  cpu:  eager        the Python loop over nn.Linear + relu, under torch.inference_mode()
        jit          torch.jit.script of the same module, frozen (torch.jit.freeze), where it works
  cuda: eager        as above on the GPU (cuBLAS)
        cudagraph    the whole forward captured once in a CUDA graph and replayed

Threads (cpu): every count in --threads is tried with torch.set_num_threads and the best median is
reported, with the per-count medians beside it: on 2-core machines Debian's PyTorch can be several
times slower with two threads than with one at some sizes, and the fair peer is PyTorch at its best.

Transfers (cuda): with --transfers host, each timed pass starts from the input in (pinned) host
memory and ends with the result copied back to (pinned) host memory and the GPU synchronised, as
our GPU modes do; without it the input stays on the GPU and only a synchronise ends the pass.

Timing: like Google Benchmark in our labs. A warm-up, then --reps repetitions; each repetition
runs the forward pass enough times to last --min-time seconds; the per-pass time of each
repetition is one sample; we report the median and the 10th/90th percentiles.

Output: one JSON object on stdout (the lab parses it):
  {"torch": "1.13.1", "device": "cpu", "results": [{"width", "depth", "batch", "mode",
    "threads", "median_ns", "p10_ns", "p90_ns", "reps", "by_threads": {"1": ns, ...}}, ...],
   "verify": {"width", "depth", "batch", "output": [...]} }            (with --verify)
   "skipped": [{"mode", "reason"}]                                      (a mode that failed)

Usage
  torch_graph.py --shapes 64x64x64,128x64x128 [--modes eager,jit] [--threads 1,2]
                 [--reps 10] [--min-time 0.05] [--seed 1] [--device cpu|cuda] [--verify 17x3x17]
                 [--transfers none|host]
  A shape is WIDTHxDEPTHxBATCH.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

MASK = (1 << 64) - 1


# --- the same tensors as dp::tensor::Tensor2D<float>::random ------------------------------------

def splitmix64_floats(seed, count, lo, hi):
    """Tensor2D<float>::random(rows, cols, seed, lo, hi) as a flat float32 array."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        i = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed & MASK) + i * golden
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    u = (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)
    lo64, hi64 = float(np.float32(lo)), float(np.float32(hi))
    x = (lo64 + u * (hi64 - lo64)).astype(np.float32)
    x[x >= np.float32(hi)] = np.float32(lo)
    return x


def random_tensor(rows, cols, seed, lo=-1.0, hi=1.0):
    return torch.from_numpy(splitmix64_floats(seed, rows * cols, lo, hi).reshape(rows, cols))


class MLP(torch.nn.Module):
    def __init__(self, width, depth, seed):
        super().__init__()
        a = float(np.sqrt(np.float32(6.0) / np.float32(width)))
        layers = []
        for l in range(depth):
            s = (seed * 1000003 + 2 * l + 1) & MASK
            lin = torch.nn.Linear(width, width)
            with torch.no_grad():
                lin.weight.copy_(random_tensor(width, width, s, -a, a))
                lin.bias.copy_(random_tensor(1, width, s + 1, -0.1, 0.1).reshape(width))
            layers.append(lin)
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, x):
        for layer in self.layers:
            x = torch.relu(layer(x))
        return torch.softmax(x, dim=1)


def mlp_input(width, batch, seed):
    return random_tensor(batch, width, (seed * 7919 + 17) & MASK)


# --- timing --------------------------------------------------------------------------------------

def percentile(samples, q):
    s = sorted(samples)
    pos = q * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def measure(fn, reps, min_time, sync):
    """Per-call times (ns) of `fn`: one sample per repetition, each >= min_time seconds."""
    # Warm-up, and a first estimate of how many calls make one repetition.
    t0 = time.perf_counter()
    calls = 0
    while True:
        fn()
        calls += 1
        sync()
        if time.perf_counter() - t0 >= min_time:
            break
    per_call = (time.perf_counter() - t0) / calls
    iters = max(1, int(min_time / max(per_call, 1e-9)))
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        sync()
        samples.append((time.perf_counter() - t) / iters * 1e9)
    return samples


def summary(samples):
    return {"median_ns": percentile(samples, 0.5), "p10_ns": percentile(samples, 0.1),
            "p90_ns": percentile(samples, 0.9), "reps": len(samples)}


# --- modes ---------------------------------------------------------------------------------------

def make_forward(mode, model, x, device, transfers):
    """A zero-argument callable running one forward pass in `mode`, or raises."""
    host_in = host_out = None
    if transfers == "host":  # start and end in (pinned) host memory, like our GPU modes
        pin = device.type == "cuda"
        host_in = x.detach().cpu().clone()
        host_out = torch.empty(x.shape[0], model.layers[-1].out_features)  # not an inference tensor
        if pin:
            host_in, host_out = host_in.pin_memory(), host_out.pin_memory()

    if mode == "eager":
        def run():
            with torch.inference_mode():
                if host_in is None:
                    return model(x)
                y = model(host_in.to(device, non_blocking=True))
                host_out.copy_(y)  # blocking: waits for the GPU
                return host_out
        return run
    if mode == "jit":
        with torch.no_grad():
            scripted = torch.jit.freeze(torch.jit.script(model.eval()))
            scripted(x)  # let the profiling executor specialise
            scripted(x)
        def run():
            with torch.inference_mode():
                return scripted(x)
        return run
    if mode == "cudagraph":
        with torch.inference_mode():
            static_x = x.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.inference_mode():
            for _ in range(3):  # warm up on a side stream, as the CUDA graphs docs ask
                model(static_x)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.inference_mode():
            static_y = model(static_x)
        def run():
            with torch.inference_mode():
                if host_in is None:
                    graph.replay()
                    return static_y
                static_x.copy_(host_in, non_blocking=True)
                graph.replay()
                host_out.copy_(static_y)
                return host_out
        return run
    raise ValueError(f"unknown mode {mode}")


def parse_shape(text):
    parts = text.lower().split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"shape '{text}': want WIDTHxDEPTHxBATCH, e.g. 64x64x64")
    return tuple(int(p) for p in parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", required=True, help="WIDTHxDEPTHxBATCH,...")
    ap.add_argument("--modes", default="eager,jit")
    ap.add_argument("--threads", default="", help="thread counts to try (default 1..nproc)")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--min-time", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--verify", type=parse_shape, default=None)
    ap.add_argument("--transfers", default="none", choices=["none", "host"])
    args = ap.parse_args()

    shapes = [parse_shape(s) for s in args.shapes.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    device = torch.device(args.device)
    if args.device == "cuda":
        sync = torch.cuda.synchronize
        thread_counts = [torch.get_num_threads()]
    else:
        def sync():
            pass
        n = os.cpu_count() or 1
        thread_counts = [int(t) for t in args.threads.split(",") if t] or list(range(1, n + 1))

    out = {"torch": torch.__version__, "device": args.device, "transfers": args.transfers,
           "results": [], "skipped": []}
    if args.device == "cuda":
        out["gpu"] = torch.cuda.get_device_name(0)
    failed_modes = {}
    for (width, depth, batch) in shapes:
        model = MLP(width, depth, args.seed).to(device).eval()
        x = mlp_input(width, batch, args.seed).to(device)
        for mode in modes:
            if mode in failed_modes:
                continue
            try:
                forward = make_forward(mode, model, x, device, args.transfers)
            except Exception as e:  # e.g. TorchScript missing in this build: say so, go on
                failed_modes[mode] = f"{type(e).__name__}: {e}".splitlines()[0][:200]
                out["skipped"].append({"mode": mode, "reason": failed_modes[mode]})
                continue
            by_threads = {}
            best = None
            for t in thread_counts:
                if args.device == "cpu":
                    torch.set_num_threads(t)
                samples = measure(forward, args.reps, args.min_time, sync)
                s = summary(samples)
                by_threads[str(t)] = s["median_ns"]
                if best is None or s["median_ns"] < best[1]["median_ns"]:
                    best = (t, s)
            row = {"width": width, "depth": depth, "batch": batch, "mode": mode,
                   "threads": best[0], "by_threads": by_threads}
            row.update(best[1])
            out["results"].append(row)
            print(f"torch {mode:9} width {width:5} depth {depth:4} batch {batch:5}: "
                  f"{best[1]['median_ns'] / 1e6:9.3f} ms ({best[0]} threads)", file=sys.stderr)

    if args.verify:
        width, depth, batch = args.verify
        model = MLP(width, depth, args.seed).to(device).eval()
        with torch.inference_mode():
            y = model(mlp_input(width, batch, args.seed).to(device)).cpu()
        out["verify"] = {"width": width, "depth": depth, "batch": batch,
                         "output": [float(v) for v in y.reshape(-1)]}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
