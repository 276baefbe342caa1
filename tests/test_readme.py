"""Every `mnist-edge` command in the README's code blocks runs as written, from a fresh clone.

The commands run in order in one `git clone` of this repository (so `train` makes the model `convert`
reads), through bash (so "$MNIST_DIR" and globs expand as in a terminal). Synopsis lines (with `[`, `{`
or `...`) are not commands. Commands that need a camera, never end, or take minutes are listed in
README_COMMANDS below: skipped with a reason, or run as a bounded variant. Add new README commands there
when they cannot run as written in a test.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

# README command prefix → ("skip", reason) or ("run", extra arguments appended to bound it).
# The first matching prefix wins; anything not listed runs exactly as written.
README_COMMANDS: list[tuple[str, tuple[str, str]]] = [
    ("mnist-edge run --source 0", ("skip", "needs a USB camera")),
    ("mnist-edge run --source picamera", ("skip", "needs the Pi's CSI camera")),
    ("mnist-edge run --serve", ("skip", "a server that runs until stopped; tests/test_webview.py covers it")),
    ("mnist-edge run --source ../shared/data/realphotos",
     ("skip", "the real photos live beside the repository, never in it; tests/test_real_scenes.py reads them")),
    ("mnist-edge train", ("run", "--epochs 1 --limit 500 --quiet")),      # a real training step, not 5 epochs
    ("mnist-edge convert", ("run", "--calibration-samples 100")),
    ("mnist-edge bench --quick", ("run", "--no-pipeline --no-keras --runs 20 --threads 1")),  # ~1 min as written
    ("mnist-edge bench --data-dir", ("skip", "the full benchmark takes minutes; tests/test_bench.py runs it")),
    ("scripts/make_models.sh", ("skip", "trains the shipped models: ~25 minutes")),
]
NEEDS_MNIST = ("mnist-edge train", "mnist-edge convert", "mnist-edge bench --data-dir")
NEEDS_TENSORFLOW = ("mnist-edge train", "mnist-edge convert")
NEEDS_MICRO = ("mnist-edge export-micro",)  # TensorFlow Lite Micro's wheel: the micro extra (in dev)


def readme_commands(text: str) -> list[str]:
    """The `mnist-edge …` lines of the README's code blocks, comments stripped, in order."""
    commands = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            # "mnist-edge run: model auto → …" is a line of output shown in the README, not a command.
            if (line.startswith("mnist-edge ") and not re.match(r"mnist-edge [\w-]+:", line)
                    and not re.search(r"[\[{]|\.\.\.", line)):
                commands.append(line)
    return list(dict.fromkeys(commands))  # a command shown twice runs once


def plan(command: str) -> tuple[str, str]:
    for prefix, action in README_COMMANDS:
        if command.startswith(prefix):
            return action
    return ("run", "")


COMMANDS = readme_commands((REPO / "README.md").read_text())


def test_the_readme_has_commands_to_run():
    assert len(COMMANDS) >= 8 and sum(plan(c)[0] == "run" for c in COMMANDS) >= 6, COMMANDS


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout")
    path = tmp_path_factory.mktemp("readme") / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(path)], check=True, timeout=120)
    return path


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(command, clone):
    action, extra = plan(command)
    if action == "skip":
        pytest.skip(extra)
    if command.startswith(NEEDS_TENSORFLOW):
        pytest.importorskip("tensorflow", reason="needs the train extra")
    if command.startswith(NEEDS_MICRO):
        pytest.importorskip("tflite_micro", reason="needs the micro extra: pip install '.[micro]'")
    env = dict(os.environ)
    if command.startswith(NEEDS_MNIST) and not env.get("MNIST_DIR"):
        pytest.skip("needs MNIST: set MNIST_DIR")
    # `mnist-edge` as installed beside this Python (the venv's console script).
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(["bash", "-c", f"{command} {extra}"], cwd=clone, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"{command} {extra}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr
