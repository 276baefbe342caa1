"""300 MNIST *test* digits (30 of each) shipped with the package: `mnist-edge bench --quick` and the tests
need no MNIST download. The arrays are checked against their SHA-256 on every load.

    python -m mnist_edge.benchmarks.subset /path/to/mnist   # regenerate; prints the new SHA-256
"""
from __future__ import annotations

import hashlib
import sys
from importlib import resources
from pathlib import Path

import numpy as np

PER_CLASS = 30
SEED = 2024
# SHA-256 over images, labels and indices (uint8, uint8, int32 bytes, in that order): the npz container
# itself carries zip timestamps, so the arrays are what is verified.
SHA256 = "8ab1048a439350305071991737e5b661a8dcd509e285e6ed13153c09b41d749a"


def subset_path() -> Path:
    return Path(str(resources.files("mnist_edge.benchmarks") / "data" / "mnist_test_subset.npz"))


def _digest(images: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> str:
    h = hashlib.sha256()
    for array in (images, labels, indices):
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def load_subset() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images uint8 (300, 28, 28), labels uint8, indices into the 10,000 MNIST test images), verified."""
    path = subset_path()
    try:
        with np.load(path) as data:
            images, labels, indices = data["images"], data["labels"], data["indices"]
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable MNIST subset ({exc}); reinstall mnist-edge") from None
    if _digest(images, labels, indices) != SHA256:
        raise ValueError(f"{path}: checksum mismatch; reinstall mnist-edge (or regenerate it: "
                         "python -m mnist_edge.benchmarks.subset /path/to/mnist)")
    return images, labels, indices


def main(argv: list[str]) -> int:
    from mnist_edge.train.mnist import balanced_subset, load_test_split

    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    images, labels = load_test_split(argv[0])
    indices = np.sort(balanced_subset(labels, PER_CLASS, SEED)).astype(np.int32)
    np.savez_compressed(subset_path(), images=images[indices], labels=labels[indices], indices=indices)
    print(f"wrote {len(indices)} test images to {subset_path()}; SHA256 = "
          f"\"{_digest(images[indices], labels[indices], indices)}\" (paste it into {Path(__file__).name})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
