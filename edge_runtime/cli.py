"""`mnist-edge run`: read numbers from a camera, video, image or folder; thin CLI over the pipeline."""
from __future__ import annotations

import argparse

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


def _positive(kind):
    def parse(text: str):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value
    return parse


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="read handwritten numbers from a camera, video, image or folder",
        description="Find the digits in each frame, classify them in one batched TFLite inference, and "
        "group them into numbers. With no arguments: the faster shipped CNN (int8 or float32, --model auto) on "
        "the shipped sample clip.")
    p.add_argument("--model", default="auto",
                   help="a .tflite model, or auto: the faster of the shipped cnn_int8 and cnn_float32 on this "
                   "CPU, measured once (~0.5 s) and cached in ~/.cache/mnist-edge (default: auto)")
    p.add_argument("--source", default=None,
                   help="camera index (0), /dev/videoN, picamera, a video or image file, a folder of "
                   "images, a glob, or a stream URL (default: the shipped sample clip)")
    p.add_argument("--json", action="store_true", help="print one JSON object per frame on stdout")
    p.add_argument("--save", metavar="OUT", default=None, help="write the annotated video (.mp4 or .avi)")
    p.add_argument("--show", action="store_true", help="show the annotated video in a window (needs a GUI)")
    p.add_argument("--serve", metavar="[HOST:]PORT", type=_address, default=None,
                   help="serve a live web view (default host 127.0.0.1; 0.0.0.0 to share on the network)")
    p.add_argument("--loop", action="store_true", help="replay a finite source (video, folder) forever")
    p.add_argument("--max-frames", type=_positive(int), default=None, help="stop after N frames")
    p.add_argument("--min-confidence", type=float, default=0.5,
                   help="reject candidates whose top probability is below P (default: 0.5)")
    p.add_argument("--roi", type=_roi, default=None, help="only look inside x,y,w,h (pixels)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="TFLite interpreter (default: ai-edge-litert, then tflite-runtime, then tensorflow)")
    p.add_argument("--threads", type=_positive(int), default=1, help="interpreter threads (default: 1)")
    p.add_argument("--per-digit", action="store_true",
                   help="one inference per digit instead of one batched inference per frame")
    p.add_argument("--width", type=_positive(int), default=None, help="camera width to request")
    p.add_argument("--height", type=_positive(int), default=None, help="camera height to request")
    p.add_argument("--fps", type=_positive(float), default=None, help="camera frame rate to request")
    p.set_defaults(run=run)


def run(args) -> int:
    import sys

    from mnist_edge.edge_runtime.app import RunOptions, run_pipeline
    from mnist_edge.edge_runtime.model_choice import choose_model

    model = args.model
    if model == "auto":
        choice = choose_model(args.backend, args.threads)
        print(f"mnist-edge run: {choice.describe()}", file=sys.stderr)
        model = str(choice.path)
    options = RunOptions(
        model=model, source=args.source, json=args.json, save=args.save, show=args.show,
        serve=args.serve, loop=args.loop, max_frames=args.max_frames, min_confidence=args.min_confidence,
        roi=args.roi, backend=args.backend, threads=args.threads, batched=not args.per_digit,
        width=args.width, height=args.height, fps=args.fps)
    return run_pipeline(options)
