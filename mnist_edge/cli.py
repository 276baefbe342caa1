"""The `mnist-edge` command: one subcommand per stage, each stage's CLI a thin layer over its library.

Only argparse is imported here; every stage imports its heavy dependencies inside its `run`, so
`mnist-edge --help` and the edge runtime start fast and never load TensorFlow.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from mnist_edge import __version__

# subcommand → module with `add_parser(subparsers)` and `run(args) -> int`
STAGES = {
    "train": "mnist_edge.train.cli",
    "convert": "mnist_edge.convert.cli",
    "run": "mnist_edge.edge_runtime.cli",
    "bench": "mnist_edge.benchmarks.cli",
    "export-micro": "mnist_edge.convert.micro_cli",
}


class UserError(Exception):
    """An error the user can fix; printed as one line, without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-edge", description="Handwritten-digit recognition on edge devices: "
        "train (Keras) → convert (TFLite) → run (camera, no TensorFlow) → bench.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in STAGES.items():
        try:
            importlib.import_module(module).add_parser(subparsers)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a real import error inside the stage, not a missing stage
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    # TensorFlow's C++ start-up chatter (CUDA probing on machines without a GPU) buries our
    # one-line messages; only train/convert load it, and their own errors are Python exceptions.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # OpenCV's WARN lines for a camera that is absent repeat what our one-line error says.
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("mnist-edge: interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, OSError, ImportError) as exc:
        print(f"mnist-edge {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 1


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:397] + "..."


if __name__ == "__main__":
    sys.exit(main())
