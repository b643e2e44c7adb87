#!/usr/bin/env python3
"""h100_tables.py — Markdown tables from the GPU machine's JSON for the guide pages.

  python3 bench/gpu/h100_tables.py gpu-matmul      # one lab's table, as pasted into its page
  python3 bench/gpu/h100_tables.py graph-modes     # from h100-graph.json (graph_h100.sh)
  python3 bench/gpu/h100_tables.py --graph bench/results/h200-gpu/graph.json graph-modes
                                                   # another run (--labs for run_on_gpu_machine.sh's)
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = {  # the rows each page shows: the largest shapes the labs ran
    "gpu-add": ["n=100000000", "n=1000000"],
    "gpu-matmul": ["4096x4096x4096", "2048x2048x2048"],
    "gpu-reduce": ["n=100000000"],
    "gpu-histogram": ["67108864 bytes, uniform", "67108864 bytes, skewed"],
    "gpu-conv": ["4096x4096, k=5", "1024x1024, k=5"],
}


def fmt_ms(x):
    return f"{x:.4g}"


def table(doc, lab):
    rows = [e for s in SHAPES.get(lab, []) for e in doc["entries"] if e["lab"] == lab and e["shape"] == s]
    dev = doc["device"]
    out = [f"Measured on one {dev.get('name', 'GPU')} (driver {dev.get('nvidia_driver', '?')}, PyTorch "
           f"{dev.get('torch', '?')}, CUDA {dev.get('cuda', '?')}); ours: Vulkan timestamps, PyTorch: CUDA events. "
           "ratio = PyTorch time / our time (above 1: ours is faster).", "",
           "| variant | shape | ours (ms) | PyTorch (ms) | PyTorch op | ratio |", "|---|---|---|---|---|---|"]
    for e in rows:
        out.append(f"| {e['variant']} | {e['shape']} | {fmt_ms(e['ours_ms'])} | {fmt_ms(e['torch_ms'])} | "
                   f"{e['torch_op']} | {e['ratio']:.2f} |")
    return "\n".join(out)


GRAPH_MODES = ["gpu-immediate", "gpu-graph-cached", "gpu-graph-loop", "gpu-compiled"]


def graph_table(doc, source):
    """graph-modes at depth 64: our GPU modes and PyTorch CUDA (eager, CUDA graphs), ms per pass."""
    ms = {}  # (variant, width) -> ms; PyTorch's under ("torch eager" | "torch cudagraph", width)
    for e in doc["entries"]:
        if e["lab"] != "graph-modes" or e["shape"]["depth"] != 64:
            continue
        w = e["shape"]["width"]
        ms[(e["variant"], w)] = e["ours_ms"]
        ms[("torch " + e["torch_op"], w)] = e["torch_ms"]
    widths = sorted({w for (_, w) in ms})
    cols = GRAPH_MODES + ["torch eager", "torch cudagraph"]
    dev = doc["device"]
    out = [f"Measured on one {dev.get('name', 'GPU')} ({dev.get('driver', '?')}, PyTorch {doc.get('torch', '?')}); "
           "ms per forward pass at depth 64, input from and result to host memory for every column "
           f"(median wall-clock time). From `{source}`.", "",
           "| width | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for w in widths:
        cells = [fmt_ms(ms[(c, w)]) if (c, w) in ms else "—" for c in cols]
        out.append(f"| {w} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labs", default="bench/results/h100-gpu-labs.json", help="run_on_gpu_machine.sh's comparison")
    ap.add_argument("--graph", default="bench/results/h100-graph.json", help="graph_h100.sh's comparison")
    ap.add_argument("tables", nargs="*", help="labs (or graph-modes) to print; default: all")
    args = ap.parse_args()
    root = os.path.join(HERE, "..", "..")
    with open(os.path.join(root, args.labs)) as f:
        doc = json.load(f)
    with open(os.path.join(root, args.graph)) as f:
        graph_doc = json.load(f)
    for lab in args.tables or list(SHAPES) + ["graph-modes"]:
        text = graph_table(graph_doc, args.graph) if lab == "graph-modes" else table(doc, lab)
        print(f"<!-- {lab} -->\n{text}\n")


if __name__ == "__main__":
    main()
