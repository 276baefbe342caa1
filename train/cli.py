"""`mnist-edge train`: thin CLI over train.trainer."""
from __future__ import annotations

import argparse
import json
import sys

from mnist_edge.cli import positive
from mnist_edge.train.models import ARCHS


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a Keras model on MNIST",
                              description="Train a Keras model on MNIST and write OUT/<arch>.keras "
                              "and OUT/<arch>.json (test accuracy, params, time, versions).")
    p.add_argument("--arch", choices=ARCHS, default="mlp",
                   help="mlp: the notebook's model; cnn: compact int8-friendly CNN; cnn-micro: ~18k-parameter CNN "
                   "for microcontrollers (default: mlp)")
    p.add_argument("--epochs", type=positive(int), default=None, help="epochs (default: mlp 5, cnn 15, cnn-micro 20)")
    p.add_argument("--batch-size", type=positive(int), default=None,
                   help="batch size (default: mlp 32, cnn/cnn-micro 128)")
    p.add_argument("--out", default="models", help="output folder (default: models)")
    p.add_argument("--data-dir", default=None,
                   help="folder with MNIST *-idx?-ubyte[.gz] or mnist.npz (default: $MNIST_DIR, "
                   "then Keras' cache, then Keras' download)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--limit", type=positive(int), default=None, help="train on N images only (fast runs)")
    p.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                   help="camera-robustness augmentation (default: on for the CNNs, off for mlp)")
    p.add_argument("--not-a-digit", action=argparse.BooleanOptionalAction, default=None,
                   help="an eleventh class, 'not a digit', trained on letters, words, pieces of digits and "
                   "rulings so that the reader rejects them (default: on for cnn, off for mlp and cnn-micro)")
    p.add_argument("--learning-rate", type=positive(float), default=None, help="Adam learning rate")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args) -> int:
    from mnist_edge.edge_runtime.native_log import quiet_native_stderr

    with quiet_native_stderr():  # TensorFlow's start-up lines (oneDNN, CUDA probing) are not for the user
        import tensorflow  # noqa: F401 - and without the train extra, fail here with the pip command
    from mnist_edge.train.mnist import load_mnist
    from mnist_edge.train.trainer import ARCH_DEFAULTS, TrainConfig, train

    defaults = ARCH_DEFAULTS[args.arch]
    config = TrainConfig(
        arch=args.arch,
        epochs=args.epochs if args.epochs is not None else defaults["epochs"],
        batch_size=args.batch_size if args.batch_size is not None else defaults["batch_size"],
        seed=args.seed, limit=args.limit,
        augment=args.augment if args.augment is not None else defaults["augment"],
        learning_rate=args.learning_rate if args.learning_rate is not None else defaults["learning_rate"],
        not_a_digit=args.not_a_digit if args.not_a_digit is not None else defaults.get("not_a_digit", False),
    )
    data = load_mnist(args.data_dir)
    report = train(config, data, args.out, verbose=0 if args.quiet else 2)
    print(f"{report['arch']}: test accuracy {report['test_accuracy'] * 100:.2f}% "
          f"({report['params']:,} params, {report['epochs']} epochs, {report['train_seconds']:.0f} s) "
          f"→ {args.out}/{report['model_file']}")
    print(json.dumps({k: report[k] for k in ("arch", "test_accuracy", "params", "epochs", "train_seconds")}),
          file=sys.stderr)
    return 0
