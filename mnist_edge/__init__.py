"""mnist-edge: train, convert, run and benchmark an MNIST digit recognizer for edge devices.

The stages are subpackages: `mnist_edge.train`, `mnist_edge.convert`, `mnist_edge.edge_runtime` (the device:
numpy, OpenCV and a TFLite interpreter, never TensorFlow) and `mnist_edge.benchmarks`. The short public API
below is imported lazily, so `import mnist_edge` (and `mnist-edge --help`) loads no numpy or OpenCV:

    from mnist_edge import DigitReader, Classifier, shipped_model
"""
from __future__ import annotations

import importlib
from pathlib import Path

__version__ = "0.1.0"

# Imported straight from a source checkout (`python -m mnist_edge` in the repository with a regular, not
# editable, install: the current directory comes first on sys.path), this folder shadows the installed
# package, and the stage folders beside it are not its subpackages. Let them be found where they are.
_checkout = Path(__file__).resolve().parent.parent
if (_checkout / "edge_runtime" / "__init__.py").is_file() and not (Path(__file__).parent / "edge_runtime").is_dir():
    __path__.append(str(_checkout))

# public name → module that defines it
_PUBLIC = {
    "DigitReader": "mnist_edge.edge_runtime.pipeline",
    "FrameResult": "mnist_edge.edge_runtime.pipeline",
    "Number": "mnist_edge.edge_runtime.pipeline",
    "Digit": "mnist_edge.edge_runtime.pipeline",
    "shipped_model": "mnist_edge.edge_runtime.pipeline",
    "sample_clip": "mnist_edge.edge_runtime.pipeline",
    "Classifier": "mnist_edge.edge_runtime.classifier",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'mnist_edge' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_PUBLIC))
