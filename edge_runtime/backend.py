"""Find a TFLite interpreter: LiteRT first, then tflite-runtime, then TensorFlow as a last resort."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

# (name, module, package to install); tried in this order by "auto".
BACKENDS = (
    ("litert", "ai_edge_litert.interpreter", "ai-edge-litert"),
    ("tflite-runtime", "tflite_runtime.interpreter", "tflite-runtime"),
    ("tensorflow", "tensorflow.lite", "tensorflow"),
)
BACKEND_NAMES = ("auto",) + tuple(name for name, _, _ in BACKENDS)


@dataclass(frozen=True)
class Backend:
    name: str            # "litert", "tflite-runtime" or "tensorflow"
    interpreter_cls: Any  # the module's Interpreter class
    version: str          # the package's version, for reports


def _package_version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def load_backend(name: str = "auto") -> Backend:
    """Import the interpreter named, or the first one installed for "auto"."""
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    for backend, module_name, package in BACKENDS:
        if name not in ("auto", backend):
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            if name == backend:
                raise ImportError(f"backend {name!r} is not installed: pip install {package}") from None
            continue
        return Backend(backend, module.Interpreter, _package_version(package))
    raise ImportError("no TFLite interpreter installed: pip install ai-edge-litert "
                      "(or tflite-runtime; or pip install 'mnist-edge[edge]')")
