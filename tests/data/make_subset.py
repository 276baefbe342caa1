"""Regenerate mnist_test_subset.npz: 300 MNIST *test* images, 30 of each digit, for tests without MNIST.

    python tests/data/make_subset.py /path/to/mnist
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from mnist_edge.train.mnist import balanced_subset, load_test_split  # noqa: E402

PER_CLASS = 30
SEED = 2024

if __name__ == "__main__":
    images, labels = load_test_split(sys.argv[1])
    indices = np.sort(balanced_subset(labels, PER_CLASS, SEED))
    np.savez_compressed(Path(__file__).with_name("mnist_test_subset.npz"),
                        images=images[indices], labels=labels[indices], indices=indices.astype(np.int32))
    print(f"wrote {len(indices)} test images (indices into t10k) to mnist_test_subset.npz")
