"""End-to-end reading evaluation on a camera_synth dataset: detection, grouping, classification.

    python -m mnist_edge.benchmarks.camera_synth --out /tmp/synth --frames 300 --seed 31337 --mnist-dir DIR
    python -m mnist_edge.benchmarks.reading_eval --data /tmp/synth --model edge_runtime/assets/cnn_int8.tflite [--json]
    python -m mnist_edge.benchmarks.reading_eval --data /tmp/synth            # detection and grouping only

A frame's detection is right when its boxes match the truth one-to-one (IoU > 0.5) and group into
exactly the true numbers; a number is read exactly when, in addition, every digit is classified right.
Latency is wall-clock per frame on one thread (cv2.setNumThreads(1)), the first frame reported apart.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np

from mnist_edge.benchmarks.camera_synth import read_dataset
from mnist_edge.edge_runtime.detect import DetectConfig, find_digits
from mnist_edge.edge_runtime.grouping import group_numbers
from mnist_edge.edge_runtime.stats import latency_stats

Box = Sequence[int]


@dataclass(frozen=True)
class FrameResult:
    boxes_match: bool          # detected boxes ↔ truth digit boxes one-to-one at IoU > threshold
    grouping_right: bool       # … and the detections form exactly the true numbers, digits in order
    numbers_true: int
    numbers_read: int          # true numbers read exactly (right digits, right grouping, right labels)
    extra_numbers: int         # predicted numbers that match no true number
    digits_true: int
    digits_found: int          # true digits matched by a detection
    digits_correct: int        # … and classified right
    false_detections: int      # detections matching no true digit


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match_boxes(pred: Sequence[Box], truth: Sequence[Box], threshold: float = 0.5) -> dict[int, int]:
    """Greedy one-to-one matching by IoU: {pred index: truth index} for pairs above `threshold`."""
    pairs = sorted(((iou(p, t), i, j) for i, p in enumerate(pred) for j, t in enumerate(truth)), reverse=True)
    used_p: set[int] = set()
    used_t: set[int] = set()
    out = {}
    for score, i, j in pairs:
        if score <= threshold:
            break
        if i not in used_p and j not in used_t:
            out[i] = j
            used_p.add(i)
            used_t.add(j)
    return out


def score_frame(truth: dict[str, Any], boxes: Sequence[Box], numbers: Sequence[Sequence[int]],
                labels: Sequence[int] | None, iou_threshold: float = 0.5) -> FrameResult:
    """Compare one frame's detections (boxes, grouping into numbers, optional labels) with its truth."""
    true_boxes, true_labels, true_numbers = [], [], []
    for number in truth["numbers"]:
        ids = []
        for d in number["digits"]:
            ids.append(len(true_boxes))
            true_boxes.append(d["box"])
            true_labels.append(d["label"])
        true_numbers.append(tuple(ids))
    match = match_boxes(boxes, true_boxes, iou_threshold)
    boxes_match = len(match) == len(boxes) == len(true_boxes)
    pred_numbers = [tuple(match.get(i, -1 - i) for i in number) for number in numbers]
    grouping_right = boxes_match and sorted(pred_numbers) == sorted(true_numbers)
    pred_set = set(pred_numbers)
    read = extra = 0
    correct = 0
    if labels is not None:
        correct = sum(1 for i, j in match.items() if labels[i] == true_labels[j])
        for number, pn in zip(numbers, pred_numbers):
            if pn in true_numbers and all(labels[i] == true_labels[j] for i, j in zip(number, pn)):
                read += 1
            else:
                extra += pn not in true_numbers
    else:
        extra = sum(1 for pn in pred_numbers if pn not in true_numbers)
        read = sum(1 for tn in true_numbers if tn in pred_set)  # grouping only
    return FrameResult(boxes_match, grouping_right, len(true_numbers), read, extra, len(true_boxes),
                       len(match), correct, len(boxes) - len(match))


def score_result(truth: dict[str, Any], result, iou_threshold: float = 0.5) -> FrameResult:
    """Score a reader's pipeline.FrameResult (accepted digits, grouped into numbers) against a frame's truth."""
    kept = [d.box for d in result.digits]
    labels = [d.digit for d in result.digits]
    groups, start = [], 0
    for number in result.numbers:  # result.digits is in reading order, number by number
        groups.append(list(range(start, start + len(number.digits))))
        start += len(number.digits)
    return score_frame(truth, kept, groups, labels, iou_threshold)


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    """Seconds → the p50/p90/p99/mean in ms, as reading_eval.json has them."""
    if len(values) == 0:
        return {}
    stats = latency_stats(values, 1e3)
    return {f"{key}_ms": stats[key] for key in ("p50", "p90", "p99", "mean")}


def evaluate_reading(dataset_dir: str | os.PathLike, model_path: str | os.PathLike | None = None,
                     config: DetectConfig = DetectConfig(), iou_threshold: float = 0.5,
                     min_confidence: float = 0.5, threads: int = 1) -> dict[str, Any]:
    """Read every frame of a camera_synth dataset; rates, counts and per-frame latency (single thread).

    Detection is scored on all candidates; reading (with a model) on those the classifier accepts
    with at least `min_confidence`, regrouped, as edge_runtime.pipeline does.
    """
    cv2.setNumThreads(threads)
    reader = None
    if model_path:
        from mnist_edge.edge_runtime.pipeline import DigitReader  # noqa: PLC0415 - loads the TFLite runtime

        # Reading goes through the runtime's own pipeline, so this measures what `mnist-edge run` does.
        reader = DigitReader(model_path, threads=threads, min_confidence=min_confidence, detect_config=config)
    detected: list[FrameResult] = []
    read: list[FrameResult] = []
    t_detect, t_classify, failures = [], [], []
    for frame, truth in read_dataset(dataset_dir):
        t0 = time.perf_counter()
        cands = find_digits(frame, config)
        boxes = [c.box for c in cands]
        numbers = group_numbers(boxes)
        t_detect.append(time.perf_counter() - t0)
        detected.append(score_frame(truth, boxes, numbers, None, iou_threshold))
        if reader is None:
            if not detected[-1].grouping_right:
                failures.append(truth["file"])
            continue
        result = reader.process(frame)
        t_classify.append((result.latency_ms["inference"] + result.latency_ms["postprocess"]) / 1000.0)
        r = score_result(truth, result, iou_threshold)
        read.append(r)
        if r.numbers_read < r.numbers_true or r.extra_numbers:
            failures.append(truth["file"])
    n_numbers = sum(r.numbers_true for r in detected)
    n_digits = sum(r.digits_true for r in detected)
    report: dict[str, Any] = {
        "frames": len(detected),
        "numbers": n_numbers,
        "digits": n_digits,
        "detection_match_rate": float(np.mean([r.boxes_match for r in detected])) if detected else 0.0,
        "detection_grouping_rate": float(np.mean([r.grouping_right for r in detected])) if detected else 0.0,
        "numbers_grouped_rate": sum(r.numbers_read for r in detected) / max(1, n_numbers),
        "digit_recall": sum(r.digits_found for r in detected) / max(1, n_digits),
        "false_detections": sum(r.false_detections for r in detected),
        # The first frame pays one-off costs (OpenCV's lazy initialisation): reported on its own.
        "first_frame_ms": 1000.0 * t_detect[0] if t_detect else None,
        "detect_preprocess_group": _percentiles(t_detect[1:]),
        "model": str(model_path) if model_path else None,
        "min_confidence": min_confidence,
        "threads": threads,
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "cpu": platform.processor() or platform.machine(),
        "failures": failures,
    }
    if reader is not None:
        report.update({
            "numbers_exact_rate": sum(r.numbers_read for r in read) / max(1, n_numbers),
            "frames_all_read": float(np.mean([r.numbers_read == r.numbers_true and r.extra_numbers == 0
                                              for r in read])),
            "digit_accuracy": sum(r.digits_correct for r in read) / max(1, n_digits),
            "digit_accuracy_of_detected": sum(r.digits_correct for r in read)
            / max(1, sum(r.digits_found for r in read)),
            "extra_numbers": sum(r.extra_numbers for r in read),
            "classify": _percentiles(t_classify[1:]),
            "end_to_end": _percentiles([a + b for a, b in zip(t_detect[1:], t_classify[1:])]),
        })
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate detection + reading on a camera_synth dataset.")
    parser.add_argument("--data", required=True, help="dataset folder written by benchmarks.camera_synth")
    parser.add_argument("--model", default=None, help="TFLite classifier; omit to evaluate detection only")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU above which a detection matches a digit")
    parser.add_argument("--min-confidence", type=float, default=0.5,
                        help="reject candidates the classifier is less sure of (default: 0.5, as mnist-edge run)")
    parser.add_argument("--threads", type=int, default=1, help="OpenCV threads (1 = the Pi-like measurement)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    args = parser.parse_args(argv)
    try:
        report = evaluate_reading(args.data, args.model, iou_threshold=args.iou,
                                  min_confidence=args.min_confidence, threads=args.threads)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"frames {report['frames']}  numbers {report['numbers']}  digits {report['digits']}")
    print(f"detection: boxes one-to-one {report['detection_match_rate']:.1%}  + grouping "
          f"{report['detection_grouping_rate']:.1%}  digit recall {report['digit_recall']:.1%}  "
          f"false detections {report['false_detections']}")
    timing = report["detect_preprocess_group"]
    if timing:
        print(f"detect+preprocess+group: p50 {timing['p50_ms']:.2f} ms  p90 {timing['p90_ms']:.2f} ms  "
              f"p99 {timing['p99_ms']:.2f} ms  ({1000 / timing['mean_ms']:.0f} frames/s, {report['threads']} "
              f"thread; first frame {report['first_frame_ms']:.1f} ms)")
    if "numbers_exact_rate" in report:
        print(f"reading ({report['model']}, min confidence {report['min_confidence']}): numbers exact "
              f"{report['numbers_exact_rate']:.1%}  frames all read {report['frames_all_read']:.1%}  digit accuracy "
              f"{report['digit_accuracy']:.1%} (of detected {report['digit_accuracy_of_detected']:.1%})  "
              f"extra numbers {report['extra_numbers']}")
        e2e = report["end_to_end"]
        if e2e:
            print(f"end to end: p50 {e2e['p50_ms']:.2f} ms  p99 {e2e['p99_ms']:.2f} ms")
    if report["failures"]:
        print(f"{len(report['failures'])} frames with errors, e.g. {', '.join(report['failures'][:8])}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
