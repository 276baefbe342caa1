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


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected [HOST:]PORT, got {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"port out of range: {number}")
    return (host.strip("[]") or "127.0.0.1"), number


def _video_path(text: str) -> str:
    from pathlib import Path

    if Path(text).suffix.lower() not in (".mp4", ".avi", ".mkv"):
        raise argparse.ArgumentTypeError(f"use a .mp4 or .avi file name, got {text!r}")
    return text


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="read handwritten numbers from a camera, video, image or folder",
        description="Find the digits in each frame, classify them in one batched TFLite inference, and "
        "group them into numbers. With no arguments: the shipped int8 model on the shipped sample clip.")
    p.add_argument("--model", default=None, help="a .tflite model (default: the shipped cnn int8)")
    p.add_argument("--source", default=None,
                   help="camera index (0), /dev/videoN, picamera, a video or image file, a folder of "
                   "images, a glob, or a stream URL (default: the shipped sample clip)")
    p.add_argument("--json", action="store_true", help="print one JSON object per frame on stdout")
    p.add_argument("--save", metavar="OUT", type=_video_path, default=None, help="write the annotated video (.mp4 or .avi)")
    p.add_argument("--show", action="store_true", help="show the annotated video in a window (needs a GUI)")
    p.add_argument("--serve", metavar="[HOST:]PORT", type=_address, default=None,
                   help="serve a live web view (default host 127.0.0.1; 0.0.0.0 to share on the network)")
    p.add_argument("--loop", action="store_true", help="replay a finite source (video, folder) forever")
    p.add_argument("--max-frames", type=positive(int), default=None, help="stop after N frames")
    p.add_argument("--min-confidence", type=_probability, default=0.5,
                   help="reject candidates whose top probability is below P (default: 0.5)")
    p.add_argument("--roi", type=_roi, default=None,
                   help="only look inside x,y,w,h (pixels); an ROI entirely outside a frame is an error (exit 1)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="TFLite interpreter (default: ai-edge-litert, then tflite-runtime, then tensorflow)")
    p.add_argument("--threads", type=positive(int), default=1, help="interpreter threads (default: 1)")
    p.add_argument("--per-digit", action="store_true",
                   help="one inference per digit instead of one batched inference per frame")
    p.add_argument("--width", type=positive(int), default=None, help="camera width to request")
    p.add_argument("--height", type=positive(int), default=None, help="camera height to request")
    p.add_argument("--fps", type=positive(float), default=None, help="camera frame rate to request")
    p.set_defaults(run=run)


def run(args) -> int:
    from mnist_edge.edge_runtime.app import RunOptions, run_pipeline

    options = RunOptions(
        model=args.model, source=args.source, json=args.json, save=args.save, show=args.show,
        serve=args.serve, loop=args.loop, max_frames=args.max_frames, min_confidence=args.min_confidence,
        roi=args.roi, backend=args.backend, threads=args.threads, batched=not args.per_digit,
        width=args.width, height=args.height, fps=args.fps)
    return run_pipeline(options)
