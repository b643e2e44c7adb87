#!/usr/bin/env python3
"""torch_train.py - the train-mlp lab's network trained by PyTorch on the CPU, eager mode.

The model, data and schedule are the lab's (src/labs/m4/train_mlp.cpp):
    784 -> Linear 256 -> ReLU -> Linear 128 -> ReLU -> Linear 10, softmax cross-entropy,
    PyTorch's default nn.Linear initialisation (what the lab copies), Adam at lr 1e-3,
    batches of --batch, the first --train training images in a fresh order each epoch,
    pixels / 255, test accuracy on the first --test test images after each epoch.
The IDX files are tools/get-data's (--data folder). Shuffling uses torch's own generator, so the
order of batches differs from ours; the curves are comparable, not identical.

Threads: each count in 1, 2, 4, ... up to the cores (and the core count) trains 20 batches on a
throw-away copy; the fastest count trains the real run (on 2-core machines Debian's PyTorch can be
much slower with two threads than one).

Output: one JSON object on stdout:
  {"torch": "1.13.1", "threads": 1, "by_threads": {"1": s per step, ...},
   "epochs": [{"seconds", "mean_loss", "accuracy"}, ...]}
"""
import argparse
import copy
import json
import os
import struct
import sys
import time

import numpy as np
import torch


def read_idx(path, magic, dims):
    with open(path, "rb") as f:
        data = f.read()
    got = struct.unpack(">I", data[:4])[0]
    if got != magic:
        sys.exit(f"torch_train.py: {path}: magic {got:#x}, want {magic:#x}")
    sizes = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(sizes)


def load(folder, stem):
    images = read_idx(os.path.join(folder, f"{stem}-images-idx3-ubyte"), 0x803, 3)
    labels = read_idx(os.path.join(folder, f"{stem}-labels-idx1-ubyte"), 0x801, 1)
    return (torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0),
            torch.from_numpy(labels.astype(np.int64)))


def make_model(seed):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                               torch.nn.ReLU(), torch.nn.Linear(128, 10))


def train_steps(model, opt, x, y, order, batch, limit=None):
    loss_fn = torch.nn.CrossEntropyLoss()
    total, steps = 0.0, 0
    for start in range(0, len(order), batch):
        if limit is not None and steps >= limit:
            break
        ids = order[start:start + batch]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[ids]), y[ids])
        loss.backward()
        opt.step()
        total += loss.item()
        steps += 1
    return total / max(steps, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--train", type=int, default=60000)
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=2024)
    a = ap.parse_args()
    x, y = load(a.data, "train")
    tx, ty = load(a.data, "t10k")
    x, y, tx, ty = x[:a.train], y[:a.train], tx[:a.test], ty[:a.test]

    cores = os.cpu_count() or 1
    counts = sorted({t for t in (1, 2, 4, 8, 16, 32, 64) if t < cores} | {cores})
    by_threads = {}
    probe = make_model(a.seed)
    for t in counts:
        torch.set_num_threads(t)
        m = copy.deepcopy(probe)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(a.seed))
        train_steps(m, opt, x, y, order, a.batch, limit=3)  # warm-up
        t0 = time.perf_counter()
        train_steps(m, opt, x, y, order, a.batch, limit=20)
        by_threads[str(t)] = (time.perf_counter() - t0) / 20
    threads = int(min(by_threads, key=by_threads.get))
    torch.set_num_threads(threads)

    model = make_model(a.seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(a.seed)
    epochs = []
    for e in range(a.epochs):
        order = torch.randperm(len(x), generator=gen)
        t0 = time.perf_counter()
        mean_loss = train_steps(model, opt, x, y, order, a.batch)
        seconds = time.perf_counter() - t0
        with torch.inference_mode():
            accuracy = float((model(tx).argmax(dim=1) == ty).float().mean()) * 100
        epochs.append({"seconds": seconds, "mean_loss": mean_loss, "accuracy": accuracy})
        print(f"torch_train: epoch {e + 1}: {seconds:.2f} s, loss {mean_loss:.4f}, accuracy {accuracy:.2f}%",
              file=sys.stderr)
    print(json.dumps({"torch": torch.__version__, "threads": threads, "by_threads": by_threads, "epochs": epochs}))


if __name__ == "__main__":
    main()
