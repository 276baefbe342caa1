"""The device side never imports TensorFlow: checked in a fresh interpreter after real work."""
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.edge


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_cli_help_imports_no_tensorflow():
    result = run_python(
        "import sys, contextlib, io\n"
        "from mnist_edge.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try: main(['--help'])\n"
        "    except SystemExit as e: assert e.code == 0\n"
        "assert 'train' in out.getvalue() and 'run' in out.getvalue(), out.getvalue()\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'cv2', 'numpy') if m in sys.modules]\n"
        "assert not heavy, heavy\n")
    assert result.returncode == 0, result.stderr


def test_edge_runtime_imports_no_tensorflow():
    result = run_python(
        "import sys, mnist_edge, mnist_edge.edge_runtime.pipeline, mnist_edge.edge_runtime.sources, "
        "mnist_edge.edge_runtime.app, mnist_edge.edge_runtime.annotate, mnist_edge.edge_runtime.classifier, "
        "mnist_edge.edge_runtime.webview\n"
        "from mnist_edge import DigitReader, Classifier, shipped_model\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n")
    assert result.returncode == 0, result.stderr
