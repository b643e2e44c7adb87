#!/usr/bin/env python3
"""h100_tables.py — Markdown tables from bench/results/h100-gpu-labs.json for the guide pages.

  python3 bench/gpu/h100_tables.py gpu-matmul      # one lab's table, as pasted into its page
"""
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


def main():
    with open(os.path.join(HERE, "..", "results", "h100-gpu-labs.json")) as f:
        doc = json.load(f)
    for lab in sys.argv[1:] or SHAPES:
        print(f"<!-- {lab} -->\n{table(doc, lab)}\n")


if __name__ == "__main__":
    main()
