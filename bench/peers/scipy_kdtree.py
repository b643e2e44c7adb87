#!/usr/bin/env python3
"""scipy_kdtree.py - scipy's cKDTree on the nearest-neighbour lab's points and queries.

The lab (src/labs/m1/nearest_neighbour.cpp) writes into --dir:
    points.f32    n x 3 float32 (x, y, z of each point)
    queries.f32   m x 3 float32
This script builds scipy.spatial.cKDTree over the points (leafsize = --leaf-size) and asks it for
the k nearest of every query (k in --ks), all queries in one call on one thread (workers=1, as
our variants run). Each is repeated --repeats times; the median is reported. It writes the
indices of the last query run to --dir/indices_k<k>.i64 (m x k int64, nearest first) for the lab
to check against brute force, and prints one JSON object last:
    {"scipy": version, "build_s": median seconds, "query_s": {"1": median seconds for all m, ...}}
or {"skipped": why} where numpy or scipy cannot be imported (peer_common.py).
"""
import argparse
import json
import os

from peer_common import import_or_skip, median_seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--leaf-size", type=int, default=16)
    parser.add_argument("--ks", default="1,8")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    np, scipy, spatial = import_or_skip("numpy", "scipy", "scipy.spatial")
    cKDTree = spatial.cKDTree
    points = np.fromfile(os.path.join(args.dir, "points.f32"), dtype=np.float32).reshape(-1, 3)
    queries = np.fromfile(os.path.join(args.dir, "queries.f32"), dtype=np.float32).reshape(-1, 3)
    # cKDTree computes in float64: it converts the points once, at build (part of its build time).
    build_s, tree = median_seconds(lambda: cKDTree(points, leafsize=args.leaf_size), args.repeats)
    query_s = {}
    for k in (int(k) for k in args.ks.split(",")):
        seconds, (_, indices) = median_seconds(lambda: tree.query(queries, k=k, workers=1), args.repeats)
        query_s[str(k)] = seconds
        np.asarray(indices, dtype=np.int64).reshape(len(queries), k).tofile(os.path.join(args.dir, f"indices_k{k}.i64"))
    print(json.dumps({"scipy": scipy.__version__, "build_s": build_s, "query_s": query_s}))


if __name__ == "__main__":
    main()
