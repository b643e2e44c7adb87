#!/usr/bin/env python3
"""sparse_scipy.py - scipy.sparse's CSR matrix-vector product on the sparse lab's matrices.

The lab (src/labs/m2/sparse.cpp) writes into --dir a manifest, matrices.json:
    [{"stem": "m0", "rows": R, "cols": C, "nnz": N}, ...]
and for each matrix its CSR arrays and a vector x, raw little-endian:
    <stem>.row_ptr.u32   R + 1 uint32     <stem>.col.u32   N uint32
    <stem>.val.f32       N float32        <stem>.x.f32     C float32
For each, this script builds scipy.sparse.csr_matrix((val, col, row_ptr)) (float32 values, int32
indices: no copy to float64) and times `a @ x` with time.perf_counter: each repetition calls it
enough times to last --min-seconds, --repeats repetitions, the median per call is reported.
scipy's SpMV runs on one thread. It writes the last y to <stem>.y.f32 for the lab to check, and
prints one JSON object last:
    {"scipy": version, "numpy": version, "seconds": {"m0": median seconds per product, ...}}
or {"skipped": why} where numpy or scipy cannot be imported (peer_common.py).
"""
import argparse
import json
import os

from peer_common import import_or_skip, seconds_per_call


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.01)
    args = parser.parse_args()
    np, scipy, sparse = import_or_skip("numpy", "scipy", "scipy.sparse")
    with open(os.path.join(args.dir, "matrices.json")) as f:
        manifest = json.load(f)
    seconds = {}
    for m in manifest:
        path = lambda suffix: os.path.join(args.dir, m["stem"] + suffix)
        row_ptr = np.fromfile(path(".row_ptr.u32"), dtype=np.uint32).astype(np.int32)
        col = np.fromfile(path(".col.u32"), dtype=np.uint32).astype(np.int32)
        val = np.fromfile(path(".val.f32"), dtype=np.float32)
        x = np.fromfile(path(".x.f32"), dtype=np.float32)
        a = sparse.csr_matrix((val, col, row_ptr), shape=(m["rows"], m["cols"]))
        assert a.nnz == m["nnz"] and a.dtype == np.float32, (a.nnz, a.dtype)
        seconds[m["stem"]], y = seconds_per_call(lambda: a @ x, args.repeats, args.min_seconds)
        np.asarray(y, dtype=np.float32).tofile(path(".y.f32"))
    print(json.dumps({"scipy": scipy.__version__, "numpy": np.__version__, "seconds": seconds}))


if __name__ == "__main__":
    main()
