"""Shared fixtures: real MNIST (via MNIST_DIR), a tiny model trained once per session, the CLI runner."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def mnist_dir() -> Path | None:
    """The MNIST folder from $MNIST_DIR, or ../shared/data/mnist beside the repo; None if absent."""
    candidates = [os.environ.get("MNIST_DIR"), REPO.parent / "shared" / "data" / "mnist"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "t10k-images-idx3-ubyte.gz").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """`--model auto` caches its measurement in $XDG_CACHE_HOME: the tests' own, not the user's ~/.cache."""
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg_cache"))
    yield Path(os.environ["XDG_CACHE_HOME"])
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture(scope="session")
def subset():
    """(images uint8 (300, 28, 28), labels): 30 of each digit, shipped in the package (and verified), so
    these tests never skip."""
    from mnist_edge.benchmarks.subset import load_subset

    images, labels, _ = load_subset()
    return images, labels


@pytest.fixture(scope="module")
def frames_dir(subset, tmp_path_factory):
    """Camera-like frames made of MNIST test digits (from the committed subset), with ground truth."""
    from mnist_edge.benchmarks.camera_synth import make_dataset

    images, labels = subset
    out = tmp_path_factory.mktemp("frames")
    make_dataset(out, 6, seed=11, source_images=images, source_labels=labels)
    return out


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = mnist_dir()
    if path is None:
        pytest.skip("needs the full MNIST files: set MNIST_DIR to a folder with *-idx?-ubyte.gz")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_path):
    from mnist_edge.train.mnist import load_mnist

    return load_mnist(mnist_path)


@pytest.fixture(scope="session")
def tf():
    return pytest.importorskip("tensorflow", reason="needs TensorFlow (pip install 'mnist-edge[train]')")


def run_cli(*args: str, timeout: float = 300, env: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run `mnist-edge ARGS` in a fresh interpreter, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "mnist_edge", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """A CLI failure as the brief wants it: non-zero exit, one clear line, no traceback."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    # TensorFlow's C++ start-up lines (absl, CUDA probing) may precede ours; they are not ours to count.
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("mnist-edge") and "error:" in line]
    assert len(error_lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in error_lines[0], error_lines[0]
