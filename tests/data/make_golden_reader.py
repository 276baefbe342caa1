"""Regenerate golden_reader.json: what DigitReader reads in a fixed set of frames (boxes, digits, numbers).

    .venv/bin/python tests/data/make_golden_reader.py

Run it only when the reader is *meant* to read differently (a new detector, a new shipped model), and
say why in the commit; a faster reader must leave the file as it is (tests/test_golden_reader.py).
The frames come from benchmarks/camera_synth with the MNIST subset shipped in the package
(mnist_edge.benchmarks.subset), frame i from the seed (SEED, i), so nothing outside the repository is
needed: FRAMES classic frames, then one frame of each scene class in SCENES (issue 11's real-photo cases;
not the font classes, which need Pillow and the fonts of train/fonts). The model is the shipped cnn_int8, named explicitly (not `auto`, which may pick the float32 twin
on another CPU).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

FRAMES = 24
SEED = 1212
# Scene classes of issue 11 beyond the classic frames, two frames each (the reader's colour, polarity,
# faint-ink, merging and cutting paths; "sizes" adds a 320x240 to 2000x1500 frame).
SCENES = ("large", "faint", "grid", "touching", "colour", "close_lines", "slanted", "sizes") * 2
GOLDEN = Path(__file__).with_name("golden_reader.json")


def golden_frames() -> list[np.ndarray]:
    """The FRAMES classic and len(SCENES) scene-class camera-like BGR frames, rebuilt deterministically
    from the shipped MNIST subset."""
    from mnist_edge.benchmarks.camera_synth import make_frame, make_scene_frame
    from mnist_edge.benchmarks.subset import load_subset

    images, labels, _ = load_subset()
    frames = [make_frame(images, labels, np.random.default_rng([SEED, i]))[0] for i in range(FRAMES)]
    frames += [make_scene_frame(scene, images, labels, np.random.default_rng([SEED, FRAMES + k]))[0]
               for k, scene in enumerate(SCENES)]
    return frames


def frame_digest(frame: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(frame).tobytes()).hexdigest()[:16]


def read_frames(frames: list[np.ndarray]) -> list[dict]:
    """What the current DigitReader (shipped cnn_int8, 1 thread) reads in each frame, as plain JSON."""
    from mnist_edge.edge_runtime.pipeline import DigitReader, shipped_model

    reader = DigitReader(shipped_model("cnn_int8"), threads=1)
    out = []
    for frame in frames:
        result = reader.process(frame)
        out.append({
            "numbers": [{"text": n.text, "box": list(n.box)} for n in result.numbers],
            "digits": [{"digit": d.digit, "box": list(d.box), "confidence": round(d.confidence, 3)}
                       for d in result.digits],
            "rejected": result.rejected,
        })
    return out


def main() -> int:
    import cv2

    from mnist_edge.edge_runtime.backend import load_backend

    frames = golden_frames()
    backend = load_backend()
    golden = {
        "about": "DigitReader's reading of camera_synth frames; regenerate: python tests/data/make_golden_reader.py",
        "seed": SEED, "frames": FRAMES, "scenes": list(SCENES), "model": "cnn_int8",
        "made_with": {"opencv": cv2.__version__, "numpy": np.__version__,
                      "interpreter": f"{backend.name} {backend.version}"},
        "frame_sha256": [frame_digest(f) for f in frames],
        "results": read_frames(frames),
    }
    GOLDEN.write_text(json.dumps(golden, indent=1) + "\n")
    digits = sum(len(r["digits"]) for r in golden["results"])
    print(f"wrote {GOLDEN.name}: {len(frames)} frames, {digits} digits")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
