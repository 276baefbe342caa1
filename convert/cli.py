"""`mnist-edge convert`: thin CLI over convert.converter."""
from __future__ import annotations

import sys


def add_parser(subparsers) -> None:
    from mnist_edge.cli import at_least
    from mnist_edge.convert import QUANT_MODES

    p = subparsers.add_parser("convert", help="convert a .keras model to TFLite (float32/float16/dynamic/int8)",
                              description="Convert a Keras model to TFLite variants, verify each on the "
                              "MNIST test set, and write DIR/<stem>_<quant>.tflite + .json.")
    p.add_argument("model", help="the .keras model (from mnist-edge train)")
    p.add_argument("--quant", nargs="+", choices=QUANT_MODES, default=list(QUANT_MODES),
                   help="variants to write (default: all)")
    p.add_argument("--out", default="models", help="output folder (default: models)")
    p.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNIST_DIR, Keras' cache)")
    p.add_argument("--calibration-samples", type=at_least(10), default=1000,
                   help="int8: balanced MNIST training images for calibration (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="picks the calibration images (default: 0)")
    p.add_argument("--json", action="store_true", help="print the reports as JSON lines instead of a table")
    p.set_defaults(run=run)


def run(args) -> int:
    import json

    from mnist_edge.edge_runtime.native_log import quiet_native_stderr

    with quiet_native_stderr():  # TensorFlow's start-up lines (oneDNN, CUDA probing) are not for the user
        import tensorflow  # noqa: F401 - and without the train extra, fail here with the pip command
    from mnist_edge.convert.converter import convert_and_verify, load_keras_model
    from mnist_edge.train.mnist import load_mnist

    load_keras_model(args.model)  # fail on a bad model before the data is read
    data = load_mnist(args.data_dir)
    reports = convert_and_verify(
        args.model, args.quant, args.out, data.x_train, data.y_train, data.x_test, data.y_test,
        calibration_samples=args.calibration_samples, seed=args.seed, data_source=data.source,
        progress=lambda message: print(message, file=sys.stderr))
    if args.json:
        for report in reports:
            print(json.dumps(report))
    else:
        print(f"{'variant':<22} {'size':>9} {'accuracy':>9} {'agreement':>10}")
        for r in reports:
            if "error" in r:
                print(f"{r['variant']:<22} failed: {r['error']}")
            else:
                print(f"{r['variant']:<22} {r['bytes'] / 1024:>7.1f}KB {r['test_accuracy'] * 100:>8.2f}% "
                      f"{r['agreement_with_keras'] * 100:>9.2f}%")
    return 1 if any("error" in r for r in reports) else 0
