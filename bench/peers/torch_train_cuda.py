#!/usr/bin/env python3
"""torch_train_cuda.py - the train-mlp lab's network trained by PyTorch on a CUDA GPU.

The model, data and schedule are torch_train.py's (the lab's, src/labs/m4/train_mlp.cpp):
    784 -> Linear 256 -> ReLU -> Linear 128 -> ReLU -> Linear 10, softmax cross-entropy,
    PyTorch's default nn.Linear initialisation, Adam at lr 1e-3, batches of --batch, the first
    --train training images in a fresh order each epoch, pixels / 255, test accuracy on the first
    --test test images after each epoch.
Like our Vulkan trainer, the images stay on the GPU (uploaded once) and each step gathers its
batch there through an index tensor. Two variants, each from the same initial weights:
  eager        the usual loop: zero_grad, forward, loss, backward, opt.step() per batch
  CUDA graphs  forward, loss, backward and opt.step() (Adam with capturable=True, so its step
               count lives on the GPU) captured once as one CUDA graph and replayed per batch, the
               batch's ids copied into the graph's static index tensor first. A graph has fixed
               shapes, so the last, short batch of an epoch (60,000 = 234 x 256 + 96) runs eagerly.
Neither reads the loss back per step: losses are summed on the GPU and read once per epoch, so the
host never waits for the GPU inside an epoch (our Vulkan trainer waits once per submission).
Time per epoch: the host clock from the first step to a synchronize after the last.

Where torch.cuda is unavailable it prints {"skipped": "..."} and exits 0 (the lab then notes it).

Output: one JSON object on stdout:
  {"torch": "2.x", "device": "NVIDIA H200", "steps": 235,
   "variants": {"eager": {"epochs": [{"seconds", "mean_loss", "accuracy"}, ...]},
                "CUDA graphs": {...}}}
"""
import argparse
import json
import sys
import time

import torch

import torch_train  # beside this file: the data and the model are the CPU peer's


def load(folder, stem, device):
    x, y = torch_train.load(folder, stem)  # the IDX files read as the CPU peer reads them
    return x.to(device), y.to(device)


def make_model(seed, device):
    return torch_train.make_model(seed).to(device)  # the CPU peer's model and initialisation


def accuracy(model, tx, ty):
    with torch.inference_mode():
        return float((model(tx).argmax(dim=1) == ty).float().mean()) * 100


def eager_step(model, opt, loss_fn, x, y, ids):
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x[ids]), y[ids])
    loss.backward()
    opt.step()
    return loss.detach()


def train_eager(a, x, y, tx, ty, device):
    model = make_model(a.seed, device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator(device=device).manual_seed(a.seed)
    epochs = []
    for e in range(a.epochs):
        order = torch.randperm(len(x), generator=gen, device=device)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        total = torch.zeros((), device=device)
        steps = 0
        for start in range(0, len(order), a.batch):
            total += eager_step(model, opt, loss_fn, x, y, order[start:start + a.batch])
            steps += 1
        torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        epochs.append({"seconds": seconds, "mean_loss": float(total) / steps, "accuracy": accuracy(model, tx, ty)})
        print(f"torch_train_cuda: eager epoch {e + 1}: {seconds:.3f} s, loss {epochs[-1]['mean_loss']:.4f}, "
              f"accuracy {epochs[-1]['accuracy']:.2f}%", file=sys.stderr)
    return epochs


def train_graphs(a, x, y, tx, ty, device):
    model = make_model(a.seed, device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    static_ids = torch.arange(a.batch, device=device)
    # Warm-up steps on a side stream (the recipe of torch.cuda.graphs' documentation) train the
    # model; keep the starting weights and put them back, with Adam's state zeroed, after capture.
    start = [p.detach().clone() for p in model.parameters()]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            eager_step(model, opt, loss_fn, x, y, static_ids)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = loss_fn(model(x[static_ids]), y[static_ids])
        static_loss.backward()
        opt.step()
    with torch.no_grad():
        for p, p0 in zip(model.parameters(), start):
            p.copy_(p0)
        for state in opt.state.values():
            for value in state.values():
                if torch.is_tensor(value):
                    value.zero_()  # exp_avg, exp_avg_sq and the step count, in place
    gen = torch.Generator(device=device).manual_seed(a.seed)
    epochs = []
    for e in range(a.epochs):
        order = torch.randperm(len(x), generator=gen, device=device)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        total = torch.zeros((), device=device)
        steps = 0
        for start_at in range(0, len(order), a.batch):
            ids = order[start_at:start_at + a.batch]
            if len(ids) == a.batch:
                static_ids.copy_(ids)
                graph.replay()
                total += static_loss.detach()
            else:  # the short last batch: eagerly (capturable Adam runs eagerly too)
                total += eager_step(model, opt, loss_fn, x, y, ids)
            steps += 1
        torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        epochs.append({"seconds": seconds, "mean_loss": float(total) / steps, "accuracy": accuracy(model, tx, ty)})
        print(f"torch_train_cuda: CUDA graphs epoch {e + 1}: {seconds:.3f} s, loss {epochs[-1]['mean_loss']:.4f}, "
              f"accuracy {epochs[-1]['accuracy']:.2f}%", file=sys.stderr)
    return epochs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--train", type=int, default=60000)
    ap.add_argument("--test", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=2024)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps({"skipped": f"torch {torch.__version__} here has no CUDA device"}))
        return
    device = torch.device("cuda")
    x, y = load(a.data, "train", device)
    tx, ty = load(a.data, "t10k", device)
    x, y, tx, ty = x[:a.train], y[:a.train], tx[:a.test], ty[:a.test]
    variants = {"eager": {"epochs": train_eager(a, x, y, tx, ty, device)},
                "CUDA graphs": {"epochs": train_graphs(a, x, y, tx, ty, device)}}
    print(json.dumps({"torch": torch.__version__, "device": torch.cuda.get_device_name(0),
                      "steps": (len(x) + a.batch - 1) // a.batch, "variants": variants}))


if __name__ == "__main__":
    main()
