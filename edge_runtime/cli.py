"""`mnist-edge run`: read numbers from a camera, video, image or folder; thin CLI over the pipeline."""
from __future__ import annotations

import argparse

from mnist_edge.cli import positive

BACKENDS = ("auto", "litert", "tflite-runtime", "tensorflow")


def _roi(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,w,h in pixels, got {text!r}") from None
    if w <= 0 or h <= 0 or x < 0 or y < 0:
        raise argparse.ArgumentTypeError(f"--roi needs x,y >= 0 and w,h > 0, got {text!r}")
    return x, y, w, h


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def add_parser(subparsers) -> None:
    from mnist_edge.edge_runtime import sinks

    p = subparsers.add_parser(
        "run", help="read handwritten numbers from a camera, video, image or folder",
        description="Find the digits in each frame, classify them in one batched TFLite inference, and "
        "group them into numbers. With no arguments: the faster shipped CNN (int8 or float32, --model auto) on "
        "the shipped sample clip.")
    p.add_argument("--model", default="auto",
                   help="a .tflite file, a shipped model by name (cnn_int8, cnn_float32, ...), or auto: the faster of "
                   "the shipped cnn_int8 and cnn_float32 on this CPU, measured once (~0.5 s) and cached in "
                   "~/.cache/mnist-edge (default: auto)")
    p.add_argument("--source", default=None,
                   help="camera index (0), /dev/videoN, picamera, a video or image file, a folder of "
                   "images, a glob, or a stream URL (default: the shipped sample clip)")
    p.add_argument("--loop", action="store_true", help="replay a finite source (video, folder) forever")
    p.add_argument("--max-frames", type=positive(int), default=None, help="stop after N frames")
    p.add_argument("--min-confidence", type=_probability, default=0.5,
                   help="reject candidates whose top probability is below P (default: 0.5)")
    p.add_argument("--roi", type=_roi, default=None,
                   help="only look inside x,y,w,h (pixels of the rotated frame); an ROI entirely outside a "
                   "frame is an error (exit 1)")
    p.add_argument("--rotate", type=int, choices=(0, 90, 180, 270), default=0,
                   help="turn each frame clockwise by this many degrees first: a camera mounted sideways "
                   "(90, 270) or upside down (180) (default: 0)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="TFLite interpreter (default: ai-edge-litert, then tflite-runtime, then tensorflow)")
    p.add_argument("--threads", type=positive(int), default=1, help="interpreter threads (default: 1)")
    p.add_argument("--per-digit", action="store_true",
                   help="one inference per digit instead of one batched inference per frame")
    p.add_argument("--width", type=positive(int), default=None, help="camera width to request")
    p.add_argument("--height", type=positive(int), default=None, help="camera height to request")
    p.add_argument("--fps", type=positive(float), default=None, help="camera frame rate to request")
    outputs = p.add_argument_group("outputs", "where readings go (default: one text line per frame on stdout)")
    sinks.add_arguments(outputs)
    p.set_defaults(run=run)


def run(args) -> int:
    from mnist_edge.edge_runtime.app import RunOptions, configure_logging, run_pipeline
    from mnist_edge.edge_runtime.sinks import open_sinks

    options = RunOptions(
        model=args.model, source=args.source, loop=args.loop, max_frames=args.max_frames,
        min_confidence=args.min_confidence, roi=args.roi, rotate=args.rotate, backend=args.backend,
        threads=args.threads, batched=not args.per_digit, width=args.width, height=args.height, fps=args.fps)
    configure_logging()
    # Every output is opened and checked before the model (and --model auto's measurement) and the source:
    # a bad path, a busy port or an unreachable broker is one error line before the first frame.
    return run_pipeline(options, open_sinks(args))
