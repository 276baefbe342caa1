"""MNIST loading from local IDX / npz files, verified, with Keras' download as the last resort.

Needs only numpy: the benchmarks and tests use it on the device too.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# SHA-256 of the original files as published by LeCun et al. (the same as ../shared/data/mnist/SHA256SUMS).
KNOWN_SHA256 = {
    "train-images-idx3-ubyte.gz": "0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",
    "train-labels-idx1-ubyte.gz": "1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",
    "t10k-images-idx3-ubyte.gz": "1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",
    "t10k-labels-idx1-ubyte.gz": "b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",
}

IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned byte, 3 dimensions
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned byte, 1 dimension
SPLITS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000)}


class MnistDataError(ValueError):
    """A local MNIST file is missing, corrupt, or does not match its known checksum."""


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # uint8 (60000, 28, 28), white digit on black
    y_train: np.ndarray  # uint8 (60000,)
    x_test: np.ndarray   # uint8 (10000, 28, 28)
    y_test: np.ndarray   # uint8 (10000,)
    source: str          # where the data came from, for reports


def normalize(images: np.ndarray) -> np.ndarray:
    """The notebook's normalization: x / 255.0 as float32 in [0, 1]."""
    return (np.asarray(images, dtype=np.float32) / 255.0).astype(np.float32)


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise MnistDataError(f"{path}: corrupt gzip data ({exc})") from None
    return raw


def _check_sha256(path: Path) -> None:
    expected = KNOWN_SHA256.get(path.name)
    if expected is None:
        return  # an uncompressed copy: its IDX header and sizes are checked instead
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    if actual != expected:
        raise MnistDataError(f"{path}: checksum mismatch (sha256 {actual[:12]}…, expected {expected[:12]}…); "
                             "re-copy the original file")


def read_idx(path: str | os.PathLike, expected_magic: int) -> np.ndarray:
    """Read one IDX file (gzipped or not) and check its header against its size."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 8:
        raise MnistDataError(f"{path}: truncated (only {len(data)} bytes, no IDX header)")
    magic = int.from_bytes(data[0:4], "big")
    if magic != expected_magic:
        raise MnistDataError(f"{path}: wrong magic number {magic:#010x}, expected {expected_magic:#010x}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistDataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(shape))
    if len(data) - header < count:
        raise MnistDataError(f"{path}: truncated data ({len(data) - header} bytes, header says {count})")
    if len(data) - header > count:
        raise MnistDataError(f"{path}: {len(data) - header - count} unexpected trailing bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _find(data_dir: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (data_dir / name).is_file():
            return data_dir / name
    return None


def _load_idx_split(data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images_stem, labels_stem, _ = SPLITS[split]
    paths = []
    for stem in (images_stem, labels_stem):
        path = _find(data_dir, stem)
        if path is None:
            raise MnistDataError(f"{data_dir}: missing file {stem}.gz (or {stem})")
        _check_sha256(path)
        paths.append(path)
    images = read_idx(paths[0], IDX_IMAGES_MAGIC)
    labels = read_idx(paths[1], IDX_LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise MnistDataError(f"{paths[0]}: images are {images.shape[1:]}, expected 28x28")
    if len(images) != len(labels):
        raise MnistDataError(f"{data_dir}: {split} has {len(images)} images but {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise MnistDataError(f"{paths[1]}: label {int(labels.max())} out of range 0-9")
    return images, labels


def _load_npz(path: Path) -> Mnist:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except KeyError as exc:
        raise MnistDataError(f"{path}: missing array {exc} (expected x_train, y_train, x_test, y_test)") from None
    except (OSError, ValueError) as exc:
        raise MnistDataError(f"{path}: not a readable npz file ({exc})") from None
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise MnistDataError(f"{path}: x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if len(x) != len(y):
            raise MnistDataError(f"{path}: {split} has {len(x)} images but {len(y)} labels")
    return Mnist(*(arrays[k].astype(np.uint8) for k in ("x_train", "y_train", "x_test", "y_test")),
                 source=str(path))


def load_local(data_dir: str | os.PathLike) -> Mnist:
    """Load MNIST from a folder with the original IDX files (gzipped or not) or Keras' mnist.npz."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"MNIST folder not found: {data_dir}")
    if _find(data_dir, SPLITS["train"][0]) or _find(data_dir, SPLITS["test"][0]) or not (data_dir / "mnist.npz").is_file():
        x_train, y_train = _load_idx_split(data_dir, "train")
        x_test, y_test = _load_idx_split(data_dir, "test")
        return Mnist(x_train, y_train, x_test, y_test, source=str(data_dir))
    return _load_npz(data_dir / "mnist.npz")


def load_test_split(data_dir: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Only the 10,000 test images and labels (what evaluation needs; skips the 47 MB train set)."""
    data_dir = Path(data_dir)
    if _find(data_dir, SPLITS["test"][0]):
        return _load_idx_split(data_dir, "test")
    data = load_local(data_dir)
    return data.x_test, data.y_test


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """`--data-dir`, else $MNIST_DIR, else Keras' cache folder if it holds a copy; None if nothing local."""
    if data_dir:
        return Path(data_dir)
    if os.environ.get("MNIST_DIR"):
        return Path(os.environ["MNIST_DIR"])
    cache = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets"
    if (cache / "mnist.npz").is_file():
        return cache
    return None


def _verbose() -> bool:
    import logging

    return logging.getLogger("mnist_edge").isEnabledFor(logging.DEBUG)


def load_mnist(data_dir: str | os.PathLike | None = None) -> Mnist:
    """Load and verify MNIST: local files first, Keras' download only when there is no local copy."""
    local = resolve_data_dir(data_dir)
    if local is not None:
        return load_local(local)
    try:
        import keras  # noqa: PLC0415 - heavy, and only for the download fallback

        # Keras prints "Downloading data from URL" on stdout (which carries results) before it fails offline.
        with contextlib.redirect_stdout(sys.stderr if _verbose() else io.StringIO()):
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except ImportError:
        raise MnistDataError("no local MNIST copy and Keras is not installed: set MNIST_DIR "
                             "(or --data-dir) to a folder with the original *-idx?-ubyte.gz files") from None
    except Exception:  # noqa: BLE001 - urllib/HTTP/OS errors all mean the same to the user
        raise MnistDataError("no local MNIST copy (--data-dir, $MNIST_DIR, ~/.keras/datasets) and Keras' download "
                             "failed (offline?): set MNIST_DIR or --data-dir to a folder with the original "
                             "*-idx?-ubyte.gz files") from None
    return Mnist(x_train, y_train, x_test, y_test, source="keras.datasets.mnist")


def balanced_subset(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Indices of `per_class` examples of each digit, in shuffled order."""
    rng = np.random.default_rng(seed)
    picks = []
    for digit in range(10):
        candidates = np.flatnonzero(labels == digit)
        if len(candidates) < per_class:
            raise ValueError(f"only {len(candidates)} examples of digit {digit}, need {per_class}")
        picks.append(rng.choice(candidates, per_class, replace=False))
    indices = np.concatenate(picks)
    rng.shuffle(indices)
    return indices
