import gzip
import shutil

import numpy as np
import pytest

from mnist_edge.train.mnist import (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, MnistDataError, balanced_subset, load_local,
                         load_mnist, normalize, read_idx)


def write_idx(path, array, magic=None, gz=False, truncate=0, extra=b""):
    array = np.asarray(array, dtype=np.uint8)
    magic = magic if magic is not None else (0x0800 | array.ndim)
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes() + extra
    if truncate:
        data = data[:-truncate]
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_split_files(folder, n_train=30, n_test=20, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    suffix = ".gz" if gz else ""
    files = {}
    for name, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        files[name] = (write_idx(folder / f"{name}-images-idx3-ubyte{suffix}", images),
                       write_idx(folder / f"{name}-labels-idx1-ubyte{suffix}", labels))
    return files


def test_real_files_load_and_verify(mnist_path):
    data = load_local(mnist_path)
    assert data.x_train.shape == (60000, 28, 28) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (10000, 28, 28)
    assert np.bincount(data.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert data.y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the first training labels, as published


def test_real_files_uncompressed(mnist_path, tmp_path):
    for name in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
                 "train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        with gzip.open(mnist_path / f"{name}.gz") as src, open(tmp_path / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    data = load_local(tmp_path)
    reference = load_local(mnist_path)
    assert np.array_equal(data.x_test, reference.x_test) and np.array_equal(data.y_train, reference.y_train)


def test_mnist_dir_environment_variable(mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_path))
    assert load_mnist().source == str(mnist_path)


def test_normalize_matches_notebook():
    x = np.array([[0, 128, 255]], dtype=np.uint8)
    out = normalize(x)
    assert out.dtype == np.float32
    assert np.array_equal(out, (x / 255.0).astype(np.float32))
    assert out.min() == 0.0 and out.max() == 1.0


@pytest.mark.parametrize("gz", [False, True])
def test_synthetic_idx_round_trip(tmp_path, gz):
    files = write_split_files(tmp_path, gz=False)
    if gz:  # a gzipped copy whose name is not a known original: checked by header, not checksum
        path = tmp_path / "sub.gz"
        path.write_bytes(gzip.compress(files["t10k"][0].read_bytes()))
    else:
        path = files["t10k"][0]
    assert read_idx(path, IDX_IMAGES_MAGIC).shape == (20, 28, 28)


def test_npz_is_read(tmp_path):
    rng = np.random.default_rng(1)
    arrays = {"x_train": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), "y_train": np.arange(12) % 10,
              "x_test": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), "y_test": np.arange(5)}
    np.savez(tmp_path / "mnist.npz", **arrays)
    data = load_local(tmp_path)
    assert np.array_equal(data.x_train, arrays["x_train"]) and data.y_test.tolist() == [0, 1, 2, 3, 4]


def test_npz_missing_array(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(MnistDataError, match="missing array"):
        load_local(tmp_path)


def test_missing_file(tmp_path):
    write_split_files(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(MnistDataError, match="missing file t10k-labels-idx1-ubyte"):
        load_local(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="MNIST folder not found"):
        load_local(tmp_path / "nope")


def test_wrong_magic(tmp_path):
    write_split_files(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((30, 28, 28)), magic=IDX_LABELS_MAGIC)
    with pytest.raises(MnistDataError, match="wrong magic number 0x00000801, expected 0x00000803"):
        load_local(tmp_path)


def test_truncated_data(tmp_path):
    write_split_files(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((20, 28, 28)), truncate=100)
    with pytest.raises(MnistDataError, match="t10k-images-idx3-ubyte: truncated data"):
        load_local(tmp_path)


def test_truncated_header(tmp_path):
    write_split_files(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00")
    with pytest.raises(MnistDataError, match="truncated"):
        load_local(tmp_path)


def test_trailing_bytes(tmp_path):
    write_split_files(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(20), extra=b"xx")
    with pytest.raises(MnistDataError, match="unexpected trailing bytes"):
        load_local(tmp_path)


def test_count_mismatch(tmp_path):
    write_split_files(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(29))
    with pytest.raises(MnistDataError, match="train has 30 images but 29 labels"):
        load_local(tmp_path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"\x00" * 100)[:20])
    with pytest.raises(MnistDataError, match="corrupt gzip"):
        read_idx(path, IDX_IMAGES_MAGIC)


def test_checksum_mismatch(mnist_path, tmp_path):
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(mnist_path / name, tmp_path / name)
    # A valid IDX file, but not the original bytes: the known checksum must catch it.
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((10000, 28, 28)), gz=True)
    with pytest.raises(MnistDataError, match="t10k-images-idx3-ubyte.gz: checksum mismatch"):
        load_local(tmp_path)


def test_offline_without_local_copy(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    keras = pytest.importorskip("keras")

    def offline(*args, **kwargs):  # what keras' get_file raises without a network
        raise Exception("URL fetch failure on mnist.npz: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(MnistDataError, match=r"no local MNIST copy .* download failed \(offline\?\): set MNIST_DIR"):
        load_mnist()


def test_balanced_subset():
    labels = np.repeat(np.arange(10), 7)
    picks = balanced_subset(labels, 5, seed=3)
    assert np.bincount(labels[picks]).tolist() == [5] * 10
    assert np.array_equal(picks, balanced_subset(labels, 5, seed=3))
    with pytest.raises(ValueError, match="only 7 examples"):
        balanced_subset(labels, 8, seed=0)
