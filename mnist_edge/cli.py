"""The `mnist-edge` command: one subcommand per stage, each stage's CLI a thin layer over its library.

Only argparse is imported here; every stage imports its heavy dependencies inside its `run`, so
`mnist-edge --help` and the edge runtime start fast and never load TensorFlow.
"""
from __future__ import annotations

import argparse
import importlib
import logging
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


# Exit codes, the same for every subcommand: a mistake in the command line (argparse or a flag's value)
# is USAGE; a failure while running (missing file, camera, extra, data) is FAILED.
OK, FAILED, USAGE = 0, 1, 2

# Top-level packages a stage needs beyond the edge install → the extra that brings them.
EXTRAS = {"tensorflow": "train", "keras": "train", "matplotlib": "bench", "psutil": "bench"}


class UserError(Exception):
    """An error the user can fix; printed as one line, without a traceback."""


class OneLineParser(argparse.ArgumentParser):
    """argparse with one-line errors: `mnist-edge run: error: …` and exit 2, no usage block (--help has it)."""

    def error(self, message: str) -> None:
        self.exit(USAGE, f"{self.prog}: error: {' '.join(message.split())}\n")


def at_least(minimum: float, kind: type = int):
    """An argparse type: a `kind` number ≥ `minimum`; anything else is a usage error (exit 2)."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        return value
    return parse


def positive(kind: type = int):
    """An argparse type: a `kind` number > 0."""
    def parse(text: str):
        value = at_least(float("-inf"), kind)(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


class UsageError(ValueError):
    """Flags that do not go together; one line and exit 2, like argparse's own usage errors."""


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
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
    parser.subcommands = subparsers.choices
    for subparser in subparsers.choices.values():
        subparser.add_argument("-v", "--verbose", action="store_true",
                               help="also show the interpreter's and TensorFlow's own INFO/WARNING lines")
    return parser


def missing_extra_hint(exc: ImportError) -> str | None:
    """`pip install '.[train]'` (or the extra that has it) for a package an optional stage needs."""
    package = (getattr(exc, "name", None) or "").split(".")[0]
    extra = EXTRAS.get(package)
    if extra is None:
        return None
    return (f"needs {package}, which the edge install leaves out: pip install '.[{extra}]' in the repository "
            f"(or pip install 'mnist-edge[{extra}]')")


def main(argv: list[str] | None = None) -> int:
    # TensorFlow's C++ start-up chatter (CUDA probing on machines without a GPU) buries our
    # one-line messages; only train/convert load it, and their own errors are Python exceptions.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # OpenCV's own log lines for a camera that is absent repeat what our one-line error says, and at ERROR
    # level too: OpenCV 4.11 prints "[ERROR:0@0.042] global obsensor_uvc_stream_channel.cpp:158 … Camera
    # index out of range" for `--source 95`. Off unless -v (or the user set OPENCV_LOG_LEVEL); cv2 reads it
    # at import, which no subcommand does before this point.
    opencv_level_set = "OPENCV_LOG_LEVEL" in os.environ
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the subcommand's parser, so the line names it: `mnist-edge run: error: …`
        parser.subcommands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.verbose:
        # The native INFO lines (e.g. LiteRT's "Created TensorFlow Lite XNNPACK delegate") pass through
        # when this logger is at DEBUG: see mnist_edge.edge_runtime.native_log.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        if not opencv_level_set:
            os.environ["OPENCV_LOG_LEVEL"] = "WARNING"
        logging.getLogger("mnist_edge").setLevel(logging.DEBUG)
    try:
        return int(args.run(args) or OK)
    except KeyboardInterrupt:
        print("mnist-edge: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        print(f"mnist-edge {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return USAGE
    except ImportError as exc:
        print(f"mnist-edge {args.command}: error: {missing_extra_hint(exc) or one_line(exc)}", file=sys.stderr)
        return FAILED
    except (UserError, ValueError, OSError) as exc:
        print(f"mnist-edge {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return FAILED


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (whitespace collapsed, at most 400 characters); the exception's
    type leads it unless it is one of the errors whose message says it all (ValueError, OSError, ...)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text if len(text) <= 400 else text[:397] + "..."
    if isinstance(exc, (UserError, ValueError, OSError, RuntimeError, ImportError)) or text == type(exc).__name__:
        return text
    return f"{type(exc).__name__}: {text}"


if __name__ == "__main__":
    sys.exit(main())
