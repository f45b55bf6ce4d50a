#!/usr/bin/python3
"""Writes the embedded Fashion-MNIST subset (fashion-mnist-mini) from Debian's full copy.

Usage: /usr/bin/python3 make_fashion_mnist_mini.py [SOURCE_DIR] [OUT_DIR]
  SOURCE_DIR defaults to /usr/share/datasets/fashion-mnist (package dataset-fashion-mnist),
  OUT_DIR to this script's folder.

Picks 1000 training and 200 test images per class with numpy's PCG64 generator seeded
with 0 (numpy.random.default_rng(0)); within each split the chosen images keep their
original order. Writes gzipped IDX files (the same format as the source) with a zero
gzip timestamp and no file name, so reruns give byte-identical files for the same zlib.
Needs only numpy; independent of RawDistill.
"""
import gzip
import hashlib
import os
import struct
import sys

import numpy as np

SEED = 0
PER_CLASS = {"train": 1000, "t10k": 200}
CLASSES = 10


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, array):
    magic = 0x00000800 | array.ndim  # 0x08 = unsigned byte elements
    header = struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape)
    raw = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    with open(path, "wb") as f:
        # GzipFile with mtime=0 and an empty name keeps the output reproducible.
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(raw)
    return hashlib.sha256(raw).hexdigest()


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
    rng = np.random.default_rng(SEED)
    for split, per_class in PER_CLASS.items():
        images = read_idx(os.path.join(src, f"{split}-images-idx3-ubyte.gz"))
        labels = read_idx(os.path.join(src, f"{split}-labels-idx1-ubyte.gz"))
        chosen = []
        for c in range(CLASSES):
            members = np.flatnonzero(labels == c)
            chosen.append(rng.choice(members, size=per_class, replace=False))
        chosen = np.sort(np.concatenate(chosen))
        for kind, array in (("images-idx3", images[chosen]), ("labels-idx1", labels[chosen])):
            name = f"{split}-{kind}-ubyte.gz"
            digest = write_idx(os.path.join(out, name), array)
            print(f"{name}: shape {array.shape}, sha256 of the uncompressed IDX {digest}")


if __name__ == "__main__":
    main()
