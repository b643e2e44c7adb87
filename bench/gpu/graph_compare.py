#!/usr/bin/env python3
"""graph_compare.py - our graph modes vs PyTorch CUDA on the same MLP shapes, as one JSON.

Inputs: the graph-modes lab's JSON (dontpanic run graph-modes --json FILE) and the output of
bench/peers/torch_graph.py --device cuda --modes eager,cudagraph --transfers host.
Both time one forward pass from the input in host memory to the result in host memory.

Output (--out):
  { "device": ..., "torch": ...,
    "entries": [ {"lab": "graph-modes", "variant": "gpu-graph-loop", "shape": {"width", "depth",
                  "batch"}, "ours_ms", "torch_op": "eager" | "cudagraph", "torch_ms",
                  "ratio": torch_ms / ours_ms}, ... ],            (ratio above 1: ours is faster)
    "targets": [ {"name", "value", "target", "met"}, ... ] }

  python3 bench/gpu/graph_compare.py --modes graph-modes.json --torch torch-cuda.json --out FILE
"""
import argparse
import json
import sys


def series_points(result, variant):
    for s in result.get("series", []):
        if s["variant"] == variant:
            return s
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--modes", required=True)
    ap.add_argument("--torch", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--compiler", help="graph-compiler lab JSON: its depth sweep is added as is")
    ap.add_argument("--note", default="", help="how and where the inputs were produced")
    ap.add_argument("--torch-resident", help="torch_graph.py --transfers none: PyTorch without transfers")
    args = ap.parse_args()
    with open(args.modes) as f:
        modes = json.load(f)
    with open(args.torch) as f:
        torch_res = json.load(f)
    depth = modes["params"].get("depth", 64)
    depth_width = modes["params"].get("depth-width", 256)

    torch_ms = {}  # (mode, width, depth) -> ms
    for r in torch_res.get("results", []):
        torch_ms[(r["mode"], r["width"], r["depth"])] = r["median_ns"] / 1e6

    entries = []
    ours = {}  # (variant, width, depth) -> ms
    for s in modes.get("series", []):
        variant = s["variant"]
        by_depth = variant.endswith("/depth")
        base = variant[: -len("/depth")] if by_depth else variant
        for p in s["points"]:
            width, d = (depth_width, int(p["x"])) if by_depth else (int(p["x"]), depth)
            ms = p["median_ns"] / 1e6
            ours[(base, width, d)] = ms
            for op in ("eager", "cudagraph"):
                t = torch_ms.get((op, width, d))
                if t is None:
                    continue
                entries.append({"lab": "graph-modes", "variant": base,
                                "shape": {"width": width, "depth": d, "batch": width},
                                "ours_ms": ms, "torch_op": op, "torch_ms": t, "ratio": t / ms,
                                "reps": p.get("reps")})

    targets = []

    def target(name, value, goal, higher_is_better=True):
        if value is None:
            targets.append({"name": name, "value": None, "target": goal, "met": False,
                            "note": "not measured"})
            return
        met = value >= goal if higher_is_better else value <= goal
        targets.append({"name": name, "value": value, "target": goal, "met": met})

    def ratio(a, b):
        return a / b if a and b else None

    imm, loop = ours.get(("gpu-immediate", 32, depth)), ours.get(("gpu-graph-loop", 32, depth))
    target(f"gpu-graph-loop vs gpu-immediate, width 32, depth {depth} (x faster)", ratio(imm, loop), 10.0)
    for w in (4, 8, 16, 32, 64):
        loop = ours.get(("gpu-graph-loop", w, depth))
        target(f"gpu-graph-loop vs PyTorch CUDA eager, width {w}, depth {depth} (x faster)",
               ratio(torch_ms.get(("eager", w, depth)), loop), 2.0)
        # within 1.5x of CUDA graphs: ours / theirs <= 1.5
        target(f"gpu-graph-loop time / PyTorch CUDA graphs time, width {w}, depth {depth}",
               ratio(loop, torch_ms.get(("cudagraph", w, depth))), 1.5, higher_is_better=False)
        comp = ours.get(("gpu-compiled", w, depth))
        if comp:
            targets.append({"name": f"gpu-compiled vs PyTorch CUDA graphs, width {w}, depth {depth} (x faster)",
                            "value": ratio(torch_ms.get(("cudagraph", w, depth)), comp), "target": None,
                            "met": None})

    out = {"device": modes.get("machine", {}).get("gpu"), "cpu": modes.get("machine", {}).get("cpu"),
           "torch": torch_res.get("torch"), "torch_gpu": torch_res.get("gpu"),
           "timing": "one forward pass, input from and result to host memory, median wall-clock time",
           "note": args.note, "entries": entries, "targets": targets}
    if args.compiler:
        with open(args.compiler) as f:
            comp = json.load(f)
        out["graph_compiler"] = {
            "params": comp.get("params"), "headlines": comp.get("headlines"),
            "series": {s["variant"]: {int(p["x"]): p["median_ns"] / 1e6 for p in s["points"]}
                       for s in comp.get("series", [])},
            "unit": "ms per forward pass, by depth"}
    if args.torch_resident:
        with open(args.torch_resident) as f:
            res = json.load(f)
        out["torch_resident"] = {
            "note": "PyTorch with the input already on the GPU and no download: the lower bound of its "
                    "time, for reference (not the apples-to-apples number above)",
            "results": [{"mode": r["mode"], "shape": {"width": r["width"], "depth": r["depth"],
                                                      "batch": r["batch"]}, "ms": r["median_ns"] / 1e6}
                        for r in res.get("results", [])]}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    for t in targets:
        v = "n/a" if t["value"] is None else f"{t['value']:.2f}"
        print(f"{'MET ' if t['met'] else ('    ' if t['met'] is None else 'MISS')} {t['name']}: {v}"
              + (f" (target {t['target']})" if t["target"] is not None else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
