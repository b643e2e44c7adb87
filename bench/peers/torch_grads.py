#!/usr/bin/env python3
"""torch_grads.py - PyTorch's autograd gradients of the network tests/tensor/backward_test.cpp checks.

Reads a JSON list of networks on stdin, each {"x": [[...]], "w1": [[...]], "b1": [...], "w2": [[...]],
"b2": [...], "labels": [...]}; for each builds in float64
    loss = cross_entropy(relu(x w1^T + b1) w2^T + b2, labels)     (mean over the batch)
and writes a list of {"torch": version, "loss": L, "dx", "dw1", "db1", "dw2", "db2"} on stdout: what
loss.backward() leaves in each tensor's .grad. Our backward passes are checked against these.
(One call for every network: importing torch takes seconds.)
"""
import json
import sys

import torch


def gradients(data):
    t = {k: torch.tensor(data[k], dtype=torch.float64, requires_grad=True) for k in ("x", "w1", "b1", "w2", "b2")}
    labels = torch.tensor(data["labels"], dtype=torch.int64)
    hidden = torch.relu(t["x"] @ t["w1"].T + t["b1"])
    loss = torch.nn.functional.cross_entropy(hidden @ t["w2"].T + t["b2"], labels)
    loss.backward()
    out = {"torch": torch.__version__, "loss": loss.item()}
    out.update({"d" + k: v.grad.tolist() for k, v in t.items()})
    return out


def main():
    json.dump([gradients(net) for net in json.load(sys.stdin)], sys.stdout)


if __name__ == "__main__":
    main()
