"""`mnist-edge export-micro`: thin CLI over convert.micro."""
from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    from mnist_edge.convert.micro import BOARD_KEYS

    p = subparsers.add_parser(
        "export-micro", help="export an int8 .tflite for microcontrollers (TensorFlow Lite Micro)",
        description="Check that an int8 .tflite runs under TensorFlow Lite Micro, write DIR/model_data.h and "
        "model_data.cc (16-byte-aligned C array, kTensorArenaSize, an op resolver with exactly the model's "
        "ops), sample_input.h (one test digit) and micro_report.json: the arena measured in TFLM's "
        "interpreter, parity with LiteRT on real MNIST digits, and which boards it fits. "
        "Needs the micro extra: pip install '.[micro]'.")
    p.add_argument("model", help="the int8 .tflite (from mnist-edge convert --quant int8)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--board", nargs="+", choices=BOARD_KEYS, default=list(BOARD_KEYS), metavar="NAME",
                   help=f"boards for the fit table: {', '.join(BOARD_KEYS)} (default: all)")
    p.add_argument("--images", default=None, metavar="NPZ",
                   help="digits for the parity check: .npz with uint8 'images' (N, 28, 28) and 'labels' "
                   "(default: the 300 MNIST test digits shipped with mnist-edge)")
    p.add_argument("--source-ext", choices=("cc", "cpp"), default="cc",
                   help="extension of the model source (default: cc; Arduino sketch folders compile .cpp)")
    p.add_argument("--json", action="store_true", help="print micro_report.json instead of the summary")
    p.set_defaults(run=run)


def run(args) -> int:
    import json

    from mnist_edge.convert.micro import FIT_ASSUMPTIONS, export_micro, load_tflm

    load_tflm()  # the missing extra is one line, before any work
    report = export_micro(args.model, args.out, tuple(args.board), args.images, args.source_ext,
                          progress=lambda message: print(message, file=sys.stderr))
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        arena, parity = report["arena"], report["parity"]
        print(f"model       {report['model']}: {report['flash_bytes']:,} bytes of flash, ops {', '.join(report['ops'])}")
        print(f"arena       {arena['minimum_bytes']:,} bytes measured (smallest that runs; 10 % less: "
              f"{'fails' if arena['minus_10pct_error'] else 'RUNS'}) → kTensorArenaSize {arena['tensor_arena_size']:,}")
        print(f"parity      {parity['top1_identical']}/{parity['images']} identical top-1 with {parity['litert_backend']} "
              f"built-in kernels, max |diff| {parity['max_abs_diff_lsb']} LSB; with XNNPACK (as the runtime runs it) "
              f"{parity['top1_identical_xnnpack']}/{parity['images']}, max |diff| {parity['max_abs_diff_lsb_xnnpack']} LSB")
        print(f"accuracy    TFLM {parity['tflm_accuracy']:.2%}, LiteRT {parity['litert_accuracy']:.2%} "
              f"on {parity['images']} digits ({parity['source']})")
        print(f"{'board':<34} {'flash':>8} {'RAM':>8} {'flash %':>8} {'arena %':>8}  fits")
        for row in report["boards"]:
            print(f"{row['name']:<34} {row['flash_bytes'] // 1024:>6}KB {row['ram_bytes'] // 1024:>6}KB "
                  f"{row['flash_used_pct']:>7}% {row['arena_ram_pct']:>7}%  {'yes' if row['fits'] else 'NO'}")
        for line in FIT_ASSUMPTIONS:
            print(f"  assumes: {line}")
        print(f"wrote       {', '.join(report['files'])} → {args.out}")
    if not report["parity"]["ok"]:
        print("mnist-edge export-micro: error: TFLite Micro and LiteRT disagree (see parity in micro_report.json)",
              file=sys.stderr)
        return 1
    return 0
