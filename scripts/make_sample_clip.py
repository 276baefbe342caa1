"""Regenerate edge_runtime/assets/sample.avi, the clip `mnist-edge run` reads by default.

Eight camera-like scenes of handwritten numbers (MNIST *test* digits, both polarities), each held
for one second as a camera would see it: fresh sensor noise and a pixel of hand shake per frame.

    python scripts/make_sample_clip.py --mnist-dir ../shared/data/mnist
"""
import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mnist_edge.benchmarks.camera_synth import SynthConfig, make_frame, write_clip  # noqa: E402
from mnist_edge.train.mnist import load_test_split, resolve_data_dir  # noqa: E402


def held_scene(frame: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    h, w = frame.shape[:2]
    frames = []
    for _ in range(count):
        dx, dy = rng.uniform(-1.0, 1.0, size=2)
        moved = cv2.warpAffine(frame, np.float32([[1, 0, dx], [0, 1, dy]]), (w, h), borderMode=cv2.BORDER_REFLECT)
        noisy = moved.astype(np.float32) + rng.normal(0.0, 2.0, moved.shape)
        frames.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return frames


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-dir", default=None, help="MNIST folder (default: $MNIST_DIR)")
    parser.add_argument("--out", default=str(ROOT / "edge_runtime" / "assets" / "sample.avi"))
    parser.add_argument("--scenes", type=int, default=8)
    parser.add_argument("--fps", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data_dir = resolve_data_dir(args.mnist_dir)
    if data_dir is None:
        parser.error("no MNIST folder: pass --mnist-dir or set MNIST_DIR")
    images, labels = load_test_split(data_dir)
    frames = []
    for scene in range(args.scenes):
        rng = np.random.default_rng([args.seed, scene])
        frame, truth = make_frame(images, labels, rng, SynthConfig())
        print(f"scene {scene}: {' '.join(n['text'] for n in truth['numbers'])}", file=sys.stderr)
        frames += held_scene(frame, round(args.fps), rng)
    write_clip(args.out, frames, args.fps, quality=80)  # the scenes went through JPEG once already
    print(f"wrote {len(frames)} frames to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
