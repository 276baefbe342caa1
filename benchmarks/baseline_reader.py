"""The classical live-MNIST reader, written plainly: the baseline every reader speed claim is a ratio to.

What most webcam-MNIST projects do: Otsu on the gray frame (inverted: dark ink on light paper), a
morphological close, external contours, a size filter, each box padded to a square, resized to 28×28,
and one `invoke` per digit. Classification goes through the project's `Classifier` (it owns
quantization) and the digits are grouped with the project's own grouping, so that it is scored exactly
like `DigitReader` and returns the same `FrameResult`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mnist_edge.edge_runtime.classifier import Classifier
from mnist_edge.edge_runtime.pipeline import Digit, FrameResult, group_digits, shipped_model, stage_times


@dataclass(frozen=True)
class BaselineConfig:
    close_kernel: int = 3           # px, square structuring element of the closing (joins broken strokes)
    min_height: float = 0.04        # box height / frame height: the smallest digit (DigitReader's limit too)
    max_height: float = 0.9         # … and the largest
    max_aspect: float = 1.5         # box width / height above this is not one digit (a line, a page edge)
    digit_fraction: float = 20 / 28  # MNIST: the digit's square fills 20 of 28 pixels
    min_confidence: float = 0.5     # as DigitReader: candidates the model is less sure of are dropped


def _gray(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    if frame.ndim == 3:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    return frame


def _square_28(binary: np.ndarray, x: int, y: int, w: int, h: int, fraction: float) -> np.ndarray:
    """The box's pixels of the binary image, centred in a black square with a margin, resized to 28×28."""
    side = int(round(max(w, h) / fraction))
    square = np.zeros((side, side), np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    square[top:top + h, left:left + w] = binary[y:y + h, x:x + w]
    return cv2.resize(square, (28, 28), interpolation=cv2.INTER_AREA)


class BaselineReader:
    """The classical pipeline: `process(frame)` → FrameResult, stages timed like DigitReader's."""

    def __init__(self, model_path: str | Path | None = None, backend: str = "auto", threads: int = 1,
                 config: BaselineConfig = BaselineConfig()):
        self.config = config
        self.classifier = Classifier(model_path or shipped_model("cnn_int8"), backend, threads)
        self._kernel = np.ones((config.close_kernel, config.close_kernel), np.uint8)

    def process(self, frame: np.ndarray, index: int = 0, source: str = "", decode_ms: float = 0.0) -> FrameResult:
        cfg = self.config
        t0 = time.perf_counter()
        gray = _gray(frame)
        _, binary = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
        binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, self._kernel)
        contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        height = gray.shape[0]
        boxes = []
        for contour in contours:
            x, y, w, h = cv2.boundingRect(contour)
            if cfg.min_height * height <= h <= cfg.max_height * height and w <= cfg.max_aspect * h:
                boxes.append((x, y, w, h))
        t1 = time.perf_counter()
        images = [_square_28(binary, *box, cfg.digit_fraction).astype(np.float32) / 255.0 for box in boxes]
        t2 = time.perf_counter()
        probabilities = [self.classifier.predict(image[None])[0] for image in images]
        t3 = time.perf_counter()
        digits = []
        for box, p in zip(boxes, probabilities):
            if p.max() >= cfg.min_confidence:
                digits.append(Digit(int(p.argmax()), float(p.max()), box))
        numbers, ordered = group_digits(digits)
        t4 = time.perf_counter()
        return FrameResult(index, source, tuple(numbers), tuple(ordered),
                           stage_times(decode_ms, t0, t1, t2, t3, t4), rejected=len(boxes) - len(digits))
