#!/usr/bin/env python3
"""torch_transfer.py — PyTorch CUDA's copies at the sizes gpu-transfer measured, into one JSON.

The peer of our gpu-transfer lab: the same directions, the same bytes per copy, CUDA's own way:
  host-to-device, pageable   gpu.copy_(cpu_tensor)            (CUDA stages it through pinned memory)
  host-to-device, pinned     gpu.copy_(pinned, non_blocking=True)
  device-to-host, pageable   cpu_tensor.copy_(gpu)
  device-to-host, pinned     pinned.copy_(gpu, non_blocking=True)
  device-to-device           gpu2.copy_(gpu)
Times are CUDA-event medians over back-to-back copies (a pageable copy blocks the host, which the
events include). Writes {"device", "sizes", "entries": [{variant, bytes, torch_ms, torch_gbs,
ours_ms, ours_gbs, ratio}]} with ratio = torch_ms / ours_ms (above 1: ours is faster).

  python3 bench/gpu/torch_transfer.py --lab OUT/gpu-transfer.json --out OUT/torch-transfer.json
"""
import argparse
import json
import statistics

import torch


def time_ms(fn, repeats=7, min_total_ms=20.0):
    """Median ms per call: warm up, size a batch of about min_total_ms, time `repeats` batches."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    batch = max(1, min(1000, int(min_total_ms / max(start.elapsed_time(end), 1e-3))))
    samples = []
    for _ in range(repeats):
        start.record()
        for _ in range(batch):
            fn()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) / batch)
    return statistics.median(samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab", required=True, help="gpu-transfer's result JSON (its sizes and our times)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    lab = json.load(open(args.lab))
    ours = {(s["variant"], int(p["x"])): p["median_ns"] / 1e6 for s in lab["series"] for p in s["points"]}
    sizes = sorted({int(p["x"]) for s in lab["series"] if s["x"] == "bytes" for p in s["points"]})
    entries = []
    for n in sizes:
        words = n // 4
        src = torch.randint(-2**31, 2**31 - 1, (words,), dtype=torch.int32)
        pinned, back = src.pin_memory(), torch.empty_like(src).pin_memory()
        pageable_back = torch.empty_like(src)
        gpu, gpu2 = src.cuda(), torch.empty(words, dtype=torch.int32, device="cuda")
        cases = {  # variant: (the copy, its destination)
            "host-to-device, pageable": (lambda: gpu2.copy_(src), gpu2),
            "host-to-device, pinned": (lambda: gpu2.copy_(pinned, non_blocking=True), gpu2),
            "device-to-host, pageable": (lambda: pageable_back.copy_(gpu), pageable_back),
            "device-to-host, pinned": (lambda: back.copy_(gpu, non_blocking=True), back),
            "device-to-device": (lambda: gpu2.copy_(gpu), gpu2),
        }
        for variant, (fn, target) in cases.items():
            target.fill_(-1)  # so that a copy that did nothing cannot pass the check
            fn()
            torch.cuda.synchronize()
            assert torch.equal(target.cpu(), src), f"{variant} at {n} bytes: the copy differs from the source"
            ms = time_ms(fn)
            mine = ours.get((variant, n))
            entries.append({"variant": variant, "bytes": n, "torch_ms": ms, "torch_gbs": n / ms / 1e6,
                            "ours_ms": mine, "ours_gbs": n / mine / 1e6 if mine else None,
                            "ratio": ms / mine if mine else None})
            print(f"{variant:26s} {n:>12d} B  torch {ms:9.4f} ms {n / ms / 1e6:7.1f} GB/s"
                  + (f"  ours {mine:9.4f} ms  ratio {ms / mine:5.2f}" if mine else ""), flush=True)
        del src, pinned, back, pageable_back, gpu, gpu2
        torch.cuda.empty_cache()
    props = torch.cuda.get_device_properties(0)
    json.dump({"device": {"name": props.name, "torch": torch.__version__, "cuda": torch.version.cuda},
               "sizes": sizes, "entries": entries}, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
