"""The reader as it was at an earlier git revision, loaded beside today's in the same process.

Speed claims against "the reader before" (issue 11: "not slower than today per frame") are made side by
side, like those against the baseline: `previous_reader(REV)` copies that revision's `edge_runtime/*.py`
and its shipped model out of git into a temporary package `mnist_edge_at_<rev>` (imports renamed), so both
readers run on the same frames, in one process, alternately. It needs the repository's history (a clone,
not an installed wheel); without it the caller reports the comparison as skipped.
"""
from __future__ import annotations

import atexit
import importlib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# The reader before the real-photo work (issue 11): the last commit of main before it was merged.
BEFORE_REAL_PHOTOS = "8e90c0d"


def repository_root() -> Path | None:
    """The git work tree this package was loaded from, or None (an installed wheel has no history)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=30)
    except OSError:
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def _git(root: Path, *args: str) -> bytes:
    out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.decode(errors='replace').strip()[-200:]}")
    return out.stdout


def previous_reader(revision: str = BEFORE_REAL_PHOTOS, model: str = "cnn_int8", threads: int = 1,
                    backend: str = "auto"):
    """A DigitReader of `revision` with that revision's own shipped `model`; raises RuntimeError without git."""
    root = repository_root()
    if root is None:
        raise RuntimeError("not a git checkout: the previous reader is read from the repository's history")
    commit = _git(root, "rev-parse", "--short=7", f"{revision}^{{commit}}").decode().strip()
    package = f"mnist_edge_at_{commit}"
    if package not in sys.modules:
        tmp = Path(tempfile.mkdtemp(prefix="mnist-edge-previous-"))
        atexit.register(shutil.rmtree, tmp, True)
        runtime = tmp / package / "edge_runtime"
        (runtime / "assets").mkdir(parents=True)
        (tmp / package / "__init__.py").write_text("")
        names = _git(root, "ls-tree", "--name-only", commit, "edge_runtime/").decode().split()
        for name in names:
            if name.endswith(".py"):
                source = _git(root, "show", f"{commit}:{name}").decode()
                source = re.sub(r"\bmnist_edge\.edge_runtime\b", f"{package}.edge_runtime", source)
                (runtime / Path(name).name).write_text(source)
        for suffix in (".tflite", ".json"):
            (runtime / "assets" / f"{model}{suffix}").write_bytes(
                _git(root, "show", f"{commit}:edge_runtime/assets/{model}{suffix}"))
        sys.path.insert(0, str(tmp))
    pipeline = importlib.import_module(f"{package}.edge_runtime.pipeline")
    reader = pipeline.DigitReader(pipeline.shipped_model(model), backend, threads=threads)
    reader.revision = commit
    return reader
