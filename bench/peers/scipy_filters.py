#!/usr/bin/env python3
"""scipy_filters.py - scipy.signal on the signal-filters lab's sound, taps and biquads.

The lab (src/labs/m4/signal_filters.cpp) writes into --dir:
    signal.f32        the sound, mono float32
    taps_<L>.f32      the FIR taps of each length L (float32)
    sos_<order>.f64   the Butterworth biquads of each order, rows (b0, b1, b2, 1, a1, a2)
For each L it times scipy.signal.oaconvolve(x, h)[:n] (overlap-add, scipy's own block size), and
for each order scipy.signal.sosfilt(sos, x) in float32 (the sections cast to float32, so that
scipy runs its float32 loop), each --repeats times on one thread, median reported. It writes the
first --check outputs of each to out_fir_<L>.f32 / out_iir_<order>.f32 for the lab to check
against its double references, and prints one JSON object last:
    {"scipy": version, "fir_s": {"<L>": median seconds}, "iir_s": {"<order>": median seconds}}
or {"skipped": why} where numpy or scipy cannot be imported (peer_common.py).
"""
import argparse
import json
import os

from peer_common import import_or_skip, median_seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--lengths", required=True)
    parser.add_argument("--orders", required=True)
    parser.add_argument("--check", type=int, default=12000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    np, scipy, signal = import_or_skip("numpy", "scipy", "scipy.signal")
    x = np.fromfile(os.path.join(args.dir, "signal.f32"), dtype=np.float32)
    n = len(x)
    fir_s, iir_s = {}, {}
    for L in (int(v) for v in args.lengths.split(",")):
        h = np.fromfile(os.path.join(args.dir, f"taps_{L}.f32"), dtype=np.float32)
        seconds, y = median_seconds(lambda: signal.oaconvolve(x, h)[:n], args.repeats)
        fir_s[str(L)] = seconds
        np.asarray(y[: args.check], dtype=np.float32).tofile(os.path.join(args.dir, f"out_fir_{L}.f32"))
    for order in (int(v) for v in args.orders.split(",")):
        sos = np.fromfile(os.path.join(args.dir, f"sos_{order}.f64"), dtype=np.float64).reshape(-1, 6).astype(np.float32)
        seconds, y = median_seconds(lambda: signal.sosfilt(sos, x), args.repeats)
        iir_s[str(order)] = seconds
        np.asarray(y[: args.check], dtype=np.float32).tofile(os.path.join(args.dir, f"out_iir_{order}.f32"))
    print(json.dumps({"scipy": scipy.__version__, "fir_s": fir_s, "iir_s": iir_s}))


if __name__ == "__main__":
    main()
