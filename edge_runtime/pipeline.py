"""Frame → digits → numbers: detection, MNIST-style preprocessing and one batched inference per frame."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnist_edge.edge_runtime.classifier import Classifier, assets_dir
from mnist_edge.edge_runtime.detect import DetectConfig, locate_digits
from mnist_edge.edge_runtime.grouping import group_numbers, union_box

log = logging.getLogger("mnist_edge")

Box = tuple[int, int, int, int]  # x, y, w, h in frame pixels
# Per-frame stages, timed in milliseconds: read/decode the frame, find the digit-shaped marks, cut each out
# and make it MNIST-style, classify them (one batched invoke), group digits into numbers.
STAGES = ("decode", "detect", "preprocess", "inference", "postprocess", "total")


@dataclass(frozen=True)
class Digit:
    digit: int          # the predicted class, 0-9
    confidence: float   # its softmax probability
    box: Box


@dataclass(frozen=True)
class Number:
    text: str                   # digits left to right, e.g. "472"
    box: Box                    # union of its digits' boxes
    digits: tuple[Digit, ...]


@dataclass(frozen=True)
class FrameResult:
    frame: int
    source: str
    numbers: tuple[Number, ...]
    digits: tuple[Digit, ...]     # accepted digits, in reading order
    latency_ms: dict[str, float]  # per stage (STAGES)
    rejected: int = 0             # candidates below --min-confidence

    def to_json(self) -> dict:
        return {
            "frame": self.frame,
            "source": self.source,
            "numbers": [{"text": n.text, "box": list(n.box)} for n in self.numbers],
            "digits": [{"digit": d.digit, "confidence": round(d.confidence, 4), "box": list(d.box)}
                       for d in self.digits],
            "latency_ms": {k: round(v, 3) for k, v in self.latency_ms.items()},
        }


def shipped_model(name: str = "cnn_int8") -> Path:
    """Path of a model shipped inside the package (edge_runtime/assets)."""
    path = assets_dir() / f"{name}.tflite"
    if not path.is_file():
        raise FileNotFoundError(f"shipped model {name!r} is missing from {path.parent}; reinstall mnist-edge")
    return path


def sample_clip() -> Path:
    """The short sample clip shipped with the package (the default --source)."""
    return assets_dir() / "sample.avi"


@dataclass
class DigitReader:
    """Read the numbers in camera frames: `DigitReader().read(frame)` → list of Number.

    `batched=False` runs one inference per digit instead of one per frame (same answers; slower).
    """
    model_path: str | Path | None = None   # None or "auto": the faster shipped CNN twin here (model_choice)
    backend: str = "auto"
    threads: int = 1
    min_confidence: float = 0.5            # candidates below this are rejected as non-digits
    roi: Box | None = None
    batched: bool = True
    detect_config: DetectConfig = field(default_factory=DetectConfig)

    def __post_init__(self):
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"--min-confidence must be in [0, 1], got {self.min_confidence}")
        model = self.model_path
        if model is None or str(model) == "auto":
            from mnist_edge.edge_runtime.model_choice import choose_model

            choice = choose_model(self.backend, self.threads)
            log.info("%s", choice.describe())
            model = choice.path
        self.classifier = Classifier(model, self.backend, self.threads)
        if not self.classifier.has_metadata:
            log.warning("%s has no metadata file beside it (%s); assuming MNIST input: 28x28, white on "
                        "black, x/255, logits out", self.classifier.model_path.name,
                        self.classifier.model_path.with_suffix(".json").name)

    def read(self, frame: np.ndarray) -> list[Number]:
        """The numbers in one frame (BGR, BGRA or gray; 8- or 16-bit), in reading order."""
        return list(self.process(frame).numbers)

    def process(self, frame: np.ndarray, index: int = 0, source: str = "", decode_ms: float = 0.0) -> FrameResult:
        t0 = time.perf_counter()
        marks = locate_digits(frame, self.detect_config, self.roi)
        t_detect = time.perf_counter()
        candidates = marks.prepare()
        t1 = time.perf_counter()
        if candidates:
            batch = np.stack([c.image for c in candidates])
            if self.batched:
                probabilities = self.classifier.predict(batch)
            else:
                probabilities = np.concatenate([self.classifier.predict(image[None]) for image in batch])
        else:
            probabilities = np.zeros((0, 10), np.float32)
        t2 = time.perf_counter()
        predictions = probabilities.argmax(axis=1)
        confidences = probabilities.max(axis=1)
        accepted = [i for i in range(len(candidates)) if confidences[i] >= self.min_confidence]
        digits = [Digit(int(predictions[i]), float(confidences[i]), tuple(int(v) for v in candidates[i].box))
                  for i in accepted]
        numbers, ordered = [], []
        boxes = [d.box for d in digits]
        for group in group_numbers(boxes):
            members = tuple(digits[i] for i in group)
            ordered.extend(members)
            numbers.append(Number("".join(str(d.digit) for d in members), union_box(boxes, group), members))
        t3 = time.perf_counter()
        latency = {"decode": decode_ms, "detect": (t_detect - t0) * 1e3, "preprocess": (t1 - t_detect) * 1e3,
                   "inference": (t2 - t1) * 1e3, "postprocess": (t3 - t2) * 1e3}
        latency["total"] = sum(latency.values())
        return FrameResult(index, source, tuple(numbers), tuple(ordered), latency,
                           rejected=len(candidates) - len(accepted))
