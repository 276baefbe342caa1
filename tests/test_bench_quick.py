"""`mnist-edge bench --quick` as a newcomer runs it: from a fresh clone, no MNIST, edge install only.

No speed is asserted; tests/test_bench.py checks every figure of a run on trained models.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO, assert_one_line_error

pytestmark = pytest.mark.edge


def mnist_edge(*args: str, cwd, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mnist_edge", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


@pytest.fixture()
def no_mnist_env(tmp_path) -> dict:
    """No MNIST_DIR and a HOME without ~/.keras: nothing local to find."""
    env = {k: v for k, v in os.environ.items() if k not in ("MNIST_DIR", "KERAS_HOME")}
    env["HOME"] = str(tmp_path / "home")
    return env


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs git and a git checkout")
def test_quick_from_a_fresh_clone_without_mnist_leaves_the_tree_clean(tmp_path, no_mnist_env):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True, timeout=120)
    result = mnist_edge("bench", "--quick", cwd=clone, env=no_mnist_env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "using the 300 test digits shipped with mnist-edge" in result.stderr
    status = subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True, check=True)
    assert status.stdout == "", status.stdout  # mnist-edge-bench/ is ignored; nothing tracked changed
    runs = list((clone / "mnist-edge-bench").iterdir())
    assert len(runs) == 1 and (runs[0] / "report.md").is_file()
    results = json.loads((runs[0] / "results.json").read_text())
    assert "shipped with mnist-edge" in results["mnist"]
    assert all(row["status"] == "ok" and row["test_images"] == 300 for row in results["models"])
    targets = [line for line in result.stdout.splitlines() if line.startswith("target")]
    assert targets and all("a reference for" in line and " — " in line for line in targets), targets
    assert "## Targets" in (runs[0] / "report.md").read_text()


def test_missing_models_say_which_command_builds_them(tmp_path, no_mnist_env):
    result = mnist_edge("bench", "--models", "models/*.tflite", cwd=tmp_path, env=no_mnist_env)
    assert result.returncode == 1
    assert_one_line_error(result, "no such model: models/*.tflite", "scripts/make_models.sh")


def test_full_run_without_mnist_points_at_quick(tmp_path, no_mnist_env):
    result = mnist_edge("bench", "--no-pipeline", "--no-keras", cwd=tmp_path, env=no_mnist_env)
    assert result.returncode == 1
    assert_one_line_error(result, "no MNIST test set for a full run", "--quick")
    assert not (tmp_path / "mnist-edge-bench").exists() or not any((tmp_path / "mnist-edge-bench").rglob("*.md"))


def test_shipped_subset_is_verified_and_is_real_mnist(mnist_path):
    from mnist_edge.benchmarks.subset import load_subset
    from mnist_edge.train.mnist import load_test_split

    images, labels, indices = load_subset()
    assert images.shape == (300, 28, 28) and np.bincount(labels).tolist() == [30] * 10
    x_test, y_test = load_test_split(mnist_path)
    assert np.array_equal(images, x_test[indices]) and np.array_equal(labels, y_test[indices])
