#!/usr/bin/env python3
"""m4_tables.py — the train-mlp page's GPU tables, from the JSON of bench/gpu/m4_h200.sh.

Reads train-mlp.json (schema 1: the full run with PyTorch CPU and CUDA beside ours) and, where
present, the shorter Vulkan runs beside it (train-mlp-16-per-submit.json, train-mlp-block-2.json),
and prints Markdown: the machine and GPU, time per epoch and per step of every variant (median of
the epochs after the first, as the lab reports it), final test accuracy, and the lab's checks.

  python3 bench/gpu/m4_tables.py bench/results/h200-gpu
"""
import json
import pathlib
import sys


def point(result, variant):
    for s in result.get("series", []):
        if s["variant"] == variant and s["points"]:
            return s["points"][-1]
    return None


def last_accuracy(result, variant):
    p = point(result, f"accuracy, {variant}")
    return f"{p['throughput']:.2f}%" if p else "-"


def main():
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    r = json.loads((folder / "train-mlp.json").read_text())
    m, gpu = r["machine"], r["machine"].get("gpu") or {}
    steps = -(-int(r["params"].get("train-images", 60000)) // 256)
    print(f"{m['cpu']} ({m['cores']} cores), {m['os']}; GPU {gpu.get('name', '?')} ({gpu.get('driver', '?')}); "
          f"{r['params'].get('epochs')} epochs on {r['params'].get('train-images')} images, lab code {r.get('code_version')}, "
          f"started {r['started_at']}.\n")
    print("| variant | time per epoch | per step | test accuracy |")
    print("|---|---|---|---|")
    rows = [("ours, fused (CPU)", "epoch time, ours fused", "ours"),
            ("PyTorch CPU eager", "epoch time, PyTorch eager", "PyTorch"),
            ("ours, Vulkan", "epoch time, ours Vulkan", "ours Vulkan")]
    rows += [(f"PyTorch {s['variant'].split('PyTorch ')[1]}", s["variant"], None)
             for s in r["series"] if s["variant"].startswith("epoch time, PyTorch CUDA")]
    for name, series, acc in rows:
        p = point(r, series)
        if not p:
            continue
        print(f"| {name} | {p['median_ns'] * 1e-9:.3f} s | {p['median_ns'] * 1e-3 / steps:.0f} us | "
              f"{last_accuracy(r, acc) if acc else '(in its headline)'} |")
    print()
    print("| Vulkan step | GPU clock | wall (submit to end of wait) |")
    print("|---|---|---|")
    for f in ["train-mlp.json", "train-mlp-16-per-submit.json", "train-mlp-block-2.json"]:
        if not (folder / f).exists():
            continue
        x = json.loads((folder / f).read_text())
        g, w = point(x, "step time, ours Vulkan (GPU clock)"), point(x, "step time, ours Vulkan (wall)")
        if not w:
            continue
        label = f"{x['params'].get('gpu-steps-per-submit')} step(s) per submit, block {x['params'].get('gpu-block')}"
        gpu_clock = f"{g['median_ns'] * 1e-3:.0f} us (p10-p90 {g['p10_ns'] * 1e-3:.0f}-{g['p90_ns'] * 1e-3:.0f})" if g else "-"
        print(f"| {label} | {gpu_clock} | {w['median_ns'] * 1e-3:.0f} us |")
    print()
    for h in r.get("headlines", []):
        print(f"- {h['name']}: {h['value']}")
    for n in r.get("notes", []):
        print(f"- note: {n}")
    failed = [c["name"] for c in r.get("checks", []) if not c.get("passed")]
    print(f"- checks: {'all passed' if not failed else 'FAILED: ' + '; '.join(failed)}")


if __name__ == "__main__":
    main()
