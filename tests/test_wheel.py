"""The package as a user gets it: a wheel, installed with only the `edge` extra into a fresh venv.

`mnist_edge` must be the only top-level import package (generic names like `train` or `benchmarks` would
collide with a user's own modules), no TensorFlow may come with it, and `mnist-edge run` must work from an
unrelated folder with the models and sample clip inside the package. Runs in the full environment (CI's
`pytest` run); needs pip and the package index or pip's cache for the edge dependencies, about 30 s.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, REPO)
    if built.returncode != 0:
        pytest.fail(f"pip wheel failed: {built.stderr[-2000:]}")
    wheels = list(out.glob("mnist_edge-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_the_wheel_installs_one_top_level_package_with_its_data(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/RECORD")).rsplit("/", 1)[0]
        record = archive.read(f"{info}/RECORD").decode().splitlines()
        top_level = archive.read(f"{info}/top_level.txt").decode().split()
    installed = {line.split(",")[0].split("/")[0] for line in record if line}
    assert installed - {info} == {"mnist_edge"}, installed
    assert top_level == ["mnist_edge"]
    paths = {line.split(",")[0] for line in record}
    for shipped in ("mnist_edge/edge_runtime/assets/cnn_int8.tflite", "mnist_edge/edge_runtime/assets/cnn_int8.json",
                    "mnist_edge/edge_runtime/assets/sample.avi", "mnist_edge/benchmarks/data/mnist_test_subset.npz",
                    "mnist_edge/benchmarks/rss_probe.py", "mnist_edge/train/mnist.py"):
        assert shipped in paths, shipped
    assert not any(p.startswith("mnist_edge/tests") or "/results/" in p for p in paths)


def test_edge_install_runs_from_anywhere_without_tensorflow(wheel, tmp_path):
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    python, mnist_edge = venv / "bin" / "python", venv / "bin" / "mnist-edge"
    installed = run(python, "-m", "pip", "install", "-q", f"{wheel}[edge]")
    assert installed.returncode == 0, installed.stderr[-2000:]
    assert run(python, "-c", "import tensorflow").returncode != 0, "the edge extra pulled in TensorFlow"
    # Nothing but mnist_edge: the stage folders are not importable under their bare names.
    for bare in ("train", "convert", "edge_runtime", "benchmarks"):
        found = run(python, "-c", f"import importlib.util, sys; sys.exit(importlib.util.find_spec({bare!r}) is not None)",
                    cwd=tmp_path)
        assert found.returncode == 0, f"{bare} is importable as a top-level package"
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = run(mnist_edge, "run", "--max-frames", "3", cwd=work, env=env)
    assert result.returncode == 0, result.stderr
    assert [line.split("\t")[:2] for line in result.stdout.splitlines()] == [["0", "sample.avi"], ["1", "sample.avi"],
                                                                             ["2", "sample.avi"]]
    assert not [line for line in result.stderr.splitlines() if line.startswith("INFO:")], result.stderr
    train = run(mnist_edge, "train", cwd=work, env=env)
    assert train.returncode == 1 and train.stderr.count("\n") == 1, train.stderr
    assert "pip install '.[train]'" in train.stderr and "mnist-edge train: error:" in train.stderr
    assert list(work.iterdir()) == []  # ran in a folder it left as it found it
