"""Frame → digits → numbers: detection, MNIST-style preprocessing and one batched inference per frame."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
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
    rejected: int = 0             # candidates below --min-confidence or classified "not a digit"

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


ROTATIONS = {0: None, 90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def rotate_frame(frame: np.ndarray, degrees: int) -> np.ndarray:
    """The frame turned clockwise by 0, 90, 180 or 270 degrees (a camera mounted sideways or upside down)."""
    if degrees not in ROTATIONS:
        raise ValueError(f"rotation must be one of 0, 90, 180, 270 degrees, not {degrees}")
    code = ROTATIONS[degrees]
    return frame if code is None else cv2.rotate(frame, code)


def sample_clip() -> Path:
    """The short sample clip shipped with the package (the default --source)."""
    return assets_dir() / "sample.avi"


def stage_times(decode_ms: float, *stamps: float) -> dict[str, float]:
    """STAGES in ms from decode_ms and the perf_counter() stamps between detect, preprocess, inference and
    postprocess (five stamps: the start and the end of each), plus their total."""
    latency = {"decode": decode_ms}
    for stage, start, end in zip(STAGES[1:5], stamps[:-1], stamps[1:]):
        latency[stage] = (end - start) * 1e3
    latency["total"] = sum(latency.values())
    return latency


def group_digits(digits: list[Digit]) -> tuple[list[Number], list[Digit]]:
    """Accepted digits → (numbers in reading order, the digits in that order)."""
    numbers, ordered = [], []
    boxes = [d.box for d in digits]
    for group in group_numbers(boxes):
        members = tuple(digits[i] for i in group)
        ordered.extend(members)
        numbers.append(Number("".join(str(d.digit) for d in members), union_box(boxes, group), members))
    return numbers, ordered


def _neighbourhoods(boxes) -> np.ndarray:
    """(n, n) bool: box j is near box i, i.e. centres within 2.5 heights (the next two digits of a number or
    letters of a word) and a height between half and twice box i's."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    heights = boxes[:, 3]
    distance = np.hypot(centres[:, None, 0] - centres[None, :, 0], centres[:, None, 1] - centres[None, :, 1])
    return ((distance <= 2.5 * np.maximum(heights[:, None], heights[None, :]))
            & (heights[None, :] >= 0.5 * heights[:, None]) & (heights[None, :] <= 2.0 * heights[:, None]))


def _outside_text(boxes: list, accepted: list[int], not_digit: np.ndarray) -> list[int]:
    """The accepted candidates that are not letters of a word: in handwriting, an l, an O or an S is a
    confident 1, 0 or 5 on its own, but the rest of its word is "not a digit". A digit is dropped when
    at least a third of its neighbourhood (centres within 2.5 heights: the next two letters of a word
    or digits of a number; similar sizes) is "not a digit": a lone digit stays, and so does a number of
    three or more digits beside one smudge."""
    if not accepted or not not_digit.any():
        return accepted
    near = _neighbourhoods(boxes)
    is_digit = np.zeros(len(boxes), bool)
    is_digit[accepted] = True
    keep = []
    for i in accepted:
        if 2 * np.count_nonzero(near[i] & not_digit) < np.count_nonzero(near[i] & is_digit):
            keep.append(i)
    return keep


@dataclass
class DigitReader:
    """Read the numbers in camera frames: `DigitReader().read(frame)` → list of Number.

    `batched=False` runs one inference per digit instead of one per frame (same answers; slower).
    `rotate` turns each frame clockwise first (90: a camera lying on its left side); boxes are then in the
    turned frame's pixels. A model with an eleventh class, "not a digit" (the shipped CNN), rejects the
    candidates it puts there: letters, pieces of digits, rulings, smudges. Detection is coarse to fine
    (detect.locate_digits): a frame whose coarse reading rejects a candidate is read again in detail.
    """
    model_path: str | Path | None = None   # None or "auto": the faster shipped CNN twin here (model_choice)
    backend: str = "auto"
    threads: int = 1
    min_confidence: float = 0.5            # candidates below this are rejected as non-digits
    roi: Box | None = None
    batched: bool = True
    detect_config: DetectConfig = field(default_factory=DetectConfig)
    rotate: int = 0                        # degrees clockwise: 0, 90, 180 or 270

    def __post_init__(self):
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"--min-confidence must be in [0, 1], got {self.min_confidence}")
        if self.rotate not in ROTATIONS:
            raise ValueError(f"--rotate must be one of 0, 90, 180, 270, got {self.rotate}")
        model = self.model_path
        if model is None or str(model) == "auto":
            from mnist_edge.edge_runtime.model_choice import choose_model

            choice = choose_model(self.backend, self.threads)
            log.info("%s", choice.describe())
            model = choice.path
        self.classifier = Classifier(model, self.backend, self.threads)
        # Classes that are digits, by label: "0".."9"; anything else (NOT_A_DIGIT) is a rejection.
        self._digit_of = np.array([int(label) if label.isdigit() else -1 for label in self.classifier.labels])
        if not self.classifier.has_metadata:
            log.warning("%s has no metadata file beside it (%s); assuming MNIST input: 28x28, white on "
                        "black, x/255, logits out", self.classifier.model_path.name,
                        self.classifier.model_path.with_suffix(".json").name)

    def read(self, frame: np.ndarray) -> list[Number]:
        """The numbers in one frame (BGR, BGRA or gray; 8- or 16-bit), in reading order."""
        return list(self.process(frame).numbers)

    def process(self, frame: np.ndarray, index: int = 0, source: str = "", decode_ms: float = 0.0) -> FrameResult:
        t0 = time.perf_counter()
        if self.rotate:
            frame = rotate_frame(frame, self.rotate)
        marks = locate_digits(frame, self.detect_config, self.roi)
        numbers, ordered, rejected, stamps = self._read(marks, [t0, time.perf_counter()])
        latency = stage_times(decode_ms, *stamps)
        if rejected and marks.pooled:
            # The coarse pass left a mark that is no digit, or not surely one: this frame is read by the
            # detailed pass instead (14 of 300 legacy synthetic frames, 63 of 300 scene-class frames, 3 of the
            # 34 real photos; numbers exact 94.5 -> 95.5 % and 74.4 -> 75.5 % on those synthetic sets, the
            # real photos' scores unchanged). Its stages add to the first pass's.
            t_again = time.perf_counter()
            detailed = replace(self.detect_config, pooled_pass=False)
            numbers, ordered, rejected, stamps = self._read(locate_digits(frame, detailed, self.roi),
                                                            [t_again, time.perf_counter()])
            latency = {stage: ms + more for (stage, ms), more in zip(latency.items(),
                                                                       stage_times(0.0, *stamps).values())}
        return FrameResult(index, source, tuple(numbers), tuple(ordered), latency, rejected=rejected)

    def _read(self, marks, stamps: list[float]) -> tuple[list[Number], list[Digit], int, list[float]]:
        """Cut out, classify (one invoke for the frame) and group `marks`: (numbers, digits in reading order,
        rejected candidates, `stamps` + the perf_counter() stamps after each of those three stages)."""
        candidates = marks.prepare()
        stamps.append(time.perf_counter())
        # One invoke for the frame: every candidate, then the parts of those that have alternatives.
        images = [c.image for c in candidates] + [p.image for c in candidates for p in c.parts]
        if images:
            batch = np.stack(images)
            if self.batched:
                probabilities = self.classifier.predict(batch)
            else:
                probabilities = np.concatenate([self.classifier.predict(image[None]) for image in batch])
        else:
            probabilities = np.zeros((0, len(self._digit_of)), np.float32)
        stamps.append(time.perf_counter())
        predictions = self._digit_of[probabilities.argmax(axis=1)]
        confidences = probabilities.max(axis=1)
        readings = self._choose(candidates, predictions, confidences)
        boxes = [box for box, _, _, _ in readings]
        is_digit = [digit >= 0 and confidence >= self.min_confidence for _, digit, confidence, _ in readings]
        not_digit = np.array([digit < 0 for _, digit, _, _ in readings], bool)
        accepted = _outside_text(boxes, [i for i, ok in enumerate(is_digit) if ok], not_digit)
        readings, accepted = self._in_number(readings, accepted, not_digit, probabilities)
        digits = [Digit(int(readings[i][1]), float(readings[i][2]), tuple(int(v) for v in readings[i][0]))
                  for i in accepted]
        numbers, ordered = group_digits(digits)
        stamps.append(time.perf_counter())
        return numbers, ordered, len(readings) - len(accepted), stamps

    def _in_number(self, readings: list[tuple], accepted: list[int], not_digit: np.ndarray,
                   probabilities: np.ndarray) -> tuple[list[tuple], list[int]]:
        """Readings called "not a digit" inside a number are read as their likeliest digit after all: the
        eleventh class also catches ~0.4 % of real digits (an open 4, a 6 cut by a shadow's edge), and
        between digits, with no other non-digit near, a mark of a digit's size is a digit. (Only if that
        digit has some probability, ≥ 0.05; it is reported with that probability as its confidence.)"""
        if not accepted or not not_digit.any():
            return readings, accepted
        near = _neighbourhoods([r[0] for r in readings])
        is_digit = np.zeros(len(readings), bool)
        is_digit[accepted] = True
        digit_columns = np.flatnonzero(self._digit_of >= 0)
        readings, accepted = list(readings), list(accepted)
        for i in np.flatnonzero(not_digit):
            row = probabilities[readings[i][3], digit_columns]
            best = int(np.argmax(row))
            if row[best] < 0.05:
                continue
            if np.count_nonzero(near[i] & is_digit) >= 2 and np.count_nonzero(near[i] & not_digit) == 1:
                readings[i] = (readings[i][0], int(self._digit_of[digit_columns[best]]), float(row[best]),
                               readings[i][3])
                accepted.append(int(i))
        return readings, sorted(accepted)

    def _choose(self, candidates: list, predictions: np.ndarray, confidences: np.ndarray) -> list[tuple]:
        """(box, digit or -1, confidence, row of `predictions`) per reading: a candidate whole, or its parts
        where the parts all read as digits and the whole does not (or less surely than the least sure part)."""
        readings = []
        k = len(candidates)  # the parts' results follow the candidates', in order
        for i, c in enumerate(candidates):
            whole = (c.box, int(predictions[i]), float(confidences[i]), i)
            if not c.parts:
                readings.append(whole)
                continue
            parts = [(p.box, int(predictions[k + j]), float(confidences[k + j]), k + j) for j, p in enumerate(c.parts)]
            k += len(c.parts)
            whole_ok = whole[1] >= 0 and whole[2] >= self.min_confidence
            parts_ok = all(d >= 0 and conf >= self.min_confidence for _, d, conf, _ in parts)
            if parts_ok and (not whole_ok or min(conf for _, _, conf, _ in parts) > whole[2]):
                readings.extend(parts)
            else:
                readings.append(whole)
        return readings
