"""Reading evaluation, synthetic and real side by side, through the runtime's own DigitReader (defaults).

    python -m mnist_edge.benchmarks.reading_eval --out bench-out/reading_eval          # 300 frames, every class
    python -m mnist_edge.benchmarks.reading_eval --frames 60 --classes large,faint --no-real
    python -m mnist_edge.benchmarks.reading_eval --data DIR     # a dataset written by benchmarks.camera_synth
    python -m mnist_edge.benchmarks.reading_eval --data DIR --classes legacy --detection   # the pre-issue-11 run

Synthetic frames (benchmarks/camera_synth, one scene class per frame, generated in memory unless --data):
a number is read exactly when its digits match the truth boxes (IoU > 0.5) one-to-one, with the right
labels and grouping; a digit is found when a digit read on its box has the right label; precision is the
share of digits read that are such a found digit. Reported in total and per scene class.

Real photos (../shared/data/realphotos, never copied into the project; skipped with a reason when absent):
each image is read as `mnist-edge run` reads it (open_source + DigitReader), the answers are written as
JSON lines and scored by the set's own score.py. The main totals leave out the images tagged rotated90,
as score.py does. Latency is wall-clock per frame on one thread (cv2.setNumThreads(1)).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

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


@dataclass(frozen=True)
class ReadScore:
    """One synthetic frame as the DigitReader read it."""
    scene: str             # the frame's scene class (camera_synth.SCENES)
    frame: FrameResult     # boxes, grouping and labels against the truth
    digits_output: int     # digits the reader put out (each either found or false)


def _read_totals(rows: Sequence[ReadScore]) -> dict[str, Any]:
    """Rates over frames read: numbers exact, digits found (right digit on its box), precision, negatives."""
    numbers = sum(r.frame.numbers_true for r in rows)
    digits = sum(r.frame.digits_true for r in rows)
    correct = sum(r.frame.digits_correct for r in rows)
    output = sum(r.digits_output for r in rows)
    negatives = [r for r in rows if r.frame.digits_true == 0]
    return {
        "frames": len(rows), "numbers": numbers, "digits": digits, "digits_output": output,
        "numbers_exact": sum(r.frame.numbers_read for r in rows) / numbers if numbers else None,
        "frames_all_read": float(np.mean([r.frame.numbers_read == r.frame.numbers_true and not r.frame.extra_numbers
                                          and r.digits_output == r.frame.digits_correct for r in rows])) if rows else None,
        "digits_found": correct / digits if digits else None,
        "precision": correct / output if output else None,
        "negative_frames": len(negatives),
        "false_digits_per_negative": (sum(r.digits_output for r in negatives) / len(negatives)) if negatives else None,
    }


def evaluate_frames(frames: Iterable[tuple[np.ndarray, dict[str, Any]]], model_path: str | os.PathLike | None = None,
                    *, reading: bool = True, detection: bool = False, detect_config: DetectConfig | None = None,
                    iou_threshold: float = 0.5, min_confidence: float = 0.5, threads: int = 1) -> dict[str, Any]:
    """Score (frame, truth) pairs: read by a DigitReader (`model_path`, default the shipped model) and, with
    `detection`, also the detector's raw candidates and their grouping; totals and a table per scene class."""
    cv2.setNumThreads(threads)
    reader = None
    if reading:
        from mnist_edge.edge_runtime.pipeline import DigitReader  # noqa: PLC0415 - loads the TFLite runtime

        # Reading goes through the runtime's own pipeline, so this measures what `mnist-edge run` does.
        options = {} if detect_config is None else {"detect_config": detect_config}
        reader = DigitReader(model_path, threads=threads, min_confidence=min_confidence, **options)
    config = detect_config or DetectConfig()
    detected: list[FrameResult] = []
    read: list[ReadScore] = []
    t_detect, t_classify, t_read, failures = [], [], [], []
    for frame, truth in frames:
        name = truth.get("file", f"frame {len(read) + len(detected)}")
        if detection:
            t0 = time.perf_counter()
            boxes = [c.box for c in find_digits(frame, config)]
            numbers = group_numbers(boxes)
            t_detect.append(time.perf_counter() - t0)
            detected.append(score_frame(truth, boxes, numbers, None, iou_threshold))
            if reader is None and not detected[-1].grouping_right:
                failures.append(name)
        if reader is None:
            continue
        t0 = time.perf_counter()
        result = reader.process(frame)
        t_read.append(time.perf_counter() - t0)
        t_classify.append((result.latency_ms["inference"] + result.latency_ms["postprocess"]) / 1000.0)
        r = score_result(truth, result, iou_threshold)
        read.append(ReadScore(truth.get("class", "classic"), r, len(result.digits)))
        if r.numbers_read < r.numbers_true or r.extra_numbers or len(result.digits) > r.digits_correct:
            failures.append(name)
    report: dict[str, Any] = {
        "model": str(model_path) if model_path else "shipped cnn_int8" if reading else None,
        "min_confidence": min_confidence, "threads": threads, "opencv": cv2.__version__, "numpy": np.__version__,
        "cpu": platform.processor() or platform.machine(), "failures": failures,
    }
    if detection:
        n_numbers = sum(r.numbers_true for r in detected)
        n_digits = sum(r.digits_true for r in detected)
        report.update({
            "frames": len(detected), "numbers": n_numbers, "digits": n_digits,
            "detection_match_rate": float(np.mean([r.boxes_match for r in detected])) if detected else 0.0,
            "detection_grouping_rate": float(np.mean([r.grouping_right for r in detected])) if detected else 0.0,
            "numbers_grouped_rate": sum(r.numbers_read for r in detected) / max(1, n_numbers),
            "digit_recall": sum(r.digits_found for r in detected) / max(1, n_digits),
            "false_detections": sum(r.false_detections for r in detected),
            # The first frame pays one-off costs (OpenCV's lazy initialisation): reported on its own.
            "first_frame_ms": 1000.0 * t_detect[0] if t_detect else None,
            "detect_preprocess_group": _percentiles(t_detect[1:]),
        })
    if reader is not None:
        frames_read = [r.frame for r in read]
        n_numbers = sum(r.numbers_true for r in frames_read)
        n_digits = sum(r.digits_true for r in frames_read)
        from mnist_edge.benchmarks.camera_synth import SCENES  # noqa: PLC0415

        order = list(SCENES)
        scenes = sorted({r.scene for r in read}, key=lambda s: (order.index(s) if s in order else len(order), s))
        report.update({
            "frames": len(read), "numbers": n_numbers, "digits": n_digits,
            "total": _read_totals(read),
            "classes": {s: _read_totals([r for r in read if r.scene == s]) for s in scenes},
            # The measures of the reading before issue 11, kept so that old runs compare.
            "numbers_exact_rate": sum(r.numbers_read for r in frames_read) / max(1, n_numbers),
            "frames_all_read": float(np.mean([r.numbers_read == r.numbers_true and r.extra_numbers == 0
                                              for r in frames_read])) if read else 0.0,
            "digit_accuracy": sum(r.digits_correct for r in frames_read) / max(1, n_digits),
            "digit_accuracy_of_detected": sum(r.digits_correct for r in frames_read)
            / max(1, sum(r.digits_found for r in frames_read)),
            "extra_numbers": sum(r.extra_numbers for r in frames_read),
            "first_read_ms": 1000.0 * t_read[0] if t_read else None,
            "read": _percentiles(t_read[1:]),
            "classify": _percentiles(t_classify[1:]),
        })
        if detection:
            report["end_to_end"] = _percentiles([a + b for a, b in zip(t_detect[1:], t_classify[1:])])
    return report


def evaluate_reading(dataset_dir: str | os.PathLike, model_path: str | os.PathLike | None = None,
                     config: DetectConfig = DetectConfig(), iou_threshold: float = 0.5,
                     min_confidence: float = 0.5, threads: int = 1) -> dict[str, Any]:
    """A camera_synth dataset folder: detection (all candidates) and, with `model_path`, reading.

    Detection is scored on all candidates; reading on those the classifier accepts with at least
    `min_confidence`, regrouped, as edge_runtime.pipeline does.
    """
    return evaluate_frames(read_dataset(dataset_dir), model_path, reading=model_path is not None, detection=True,
                           detect_config=config, iou_threshold=iou_threshold, min_confidence=min_confidence,
                           threads=threads)


def default_realphotos_dir() -> Path:
    """../shared/data/realphotos beside the repository (the set is read there, never copied in)."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data" / "realphotos"


def evaluate_real_photos(photos_dir: str | os.PathLike, out_dir: str | os.PathLike,
                         model_path: str | os.PathLike | None = None, min_confidence: float = 0.5,
                         threads: int = 1) -> dict[str, Any]:
    """Read every image of the real-photo set as `mnist-edge run --json` does and score it with its score.py.

    Returns {"skipped": reason} when the set (its truth.json and score.py) is absent. Writes the JSON
    lines (`realphotos_read.jsonl`) and score.py's full output (`realphotos_score.txt`) to `out_dir`.
    """
    root = Path(photos_dir)
    for needed in ("truth.json", "score.py"):
        if not (root / needed).is_file():
            return {"skipped": f"{root / needed} not found: the real-photo set of issue 11 is read from "
                               "../shared/data/realphotos (never copied into the project); pass --real DIR"}
    from mnist_edge.edge_runtime.pipeline import DigitReader  # noqa: PLC0415
    from mnist_edge.edge_runtime.sources import open_source  # noqa: PLC0415

    cv2.setNumThreads(threads)
    truth = json.loads((root / "truth.json").read_text())
    reader = DigitReader(model_path, threads=threads, min_confidence=min_confidence)
    lines, times, unreadable = [], [], []
    for entry in truth:
        path = root / entry["file"]
        try:
            source = open_source(str(path))
        except OSError as exc:
            print(f"warning: skipping {path.name}: {exc}", file=sys.stderr)
            unreadable.append(path.name)
            continue
        try:
            for frame in source.frames():
                t0 = time.perf_counter()
                result = reader.process(frame.image, frame.index, path.name, frame.read_ms)
                times.append(time.perf_counter() - t0)
                lines.append(json.dumps(result.to_json()))
        finally:
            source.close()
        if getattr(source, "skipped", 0):
            unreadable.append(path.name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "realphotos_read.jsonl"
    jsonl.write_text("".join(line + "\n" for line in lines))
    # score.py is the set's own scorer (standard library only): its measures are the measures.
    proc = subprocess.run([sys.executable, str(root / "score.py"), str(jsonl)], capture_output=True, text=True,
                          timeout=300)
    (out / "realphotos_score.txt").write_text(proc.stdout + proc.stderr)
    last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not last.startswith("{"):
        raise RuntimeError(f"{root / 'score.py'} failed (exit {proc.returncode}): "
                           f"{(proc.stderr.strip().splitlines() or ['no output'])[-1]}")
    summary = json.loads(last)
    negatives = summary["negatives"]
    return {
        "dir": str(root), "images": len(truth), "read": len(lines), "unreadable": unreadable,
        "main": summary["main"], "clear": summary["clear"], "all": summary["all"],
        "negatives": {**negatives, "false_digits_per_photo":
                      negatives["false_digits"] / negatives["images"] if negatives["images"] else None},
        "read_latency": _percentiles(times), "jsonl": str(jsonl), "score_output": str(out / "realphotos_score.txt"),
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def markdown_report(report: dict[str, Any]) -> str:
    """The side-by-side table, the per-class table and the timings, as markdown."""
    synth, real = report.get("synthetic"), report.get("real")
    lines = [f"# Reading evaluation ({report['model']}, min confidence {report['min_confidence']}, "
             f"{report['threads']} thread)", "", "```", f"$ {report['command']}", "```", ""]
    head = ["measure"]
    if synth:
        total = synth["total"]
        head.append(f"synthetic ({total['frames']} frames: {total['numbers']} numbers, {total['digits']} digits, "
                    f"{total['negative_frames']} without digits)")
    real_ok = real and "main" in real
    if real_ok:
        m = real["main"]
        head.append(f"real photos ({m['images']} not rotated90, {real['negatives']['images']} without digits)")
    rows = [
        ("numbers read exactly", synth and _pct(synth["total"]["numbers_exact"]),
         real_ok and f"{_pct(real['main']['strict'])} (lenient groupings {_pct(real['main']['lenient'])})"),
        ("numbers read exactly, images with clear grouping", synth and _pct(synth["total"]["numbers_exact"]),
         real_ok and _pct(real["clear"]["strict"])),
        ("digits found", synth and _pct(synth["total"]["digits_found"]), real_ok and _pct(real["main"]["found"])),
        ("digit-string accuracy (1 − edits / truth digits)", synth and "—",
         real_ok and _pct(real["main"]["string_acc"])),
        ("precision (digits output that are right)", synth and _pct(synth["total"]["precision"]),
         real_ok and _pct(real["main"]["precision"])),
        ("false digits per image without digits", synth and _num(synth["total"]["false_digits_per_negative"]),
         real_ok and _num(real["negatives"]["false_digits_per_photo"])),
    ]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s_val, r_val in rows:
        cells = [name] + ([s_val] if synth else []) + ([r_val] if real_ok else [])
        lines.append("| " + " | ".join(cells) + " |")
    if real and not real_ok:
        lines += ["", f"Real photos: skipped — {real.get('skipped') or real.get('error')}"]
    if synth:
        lines += ["", "Synthetic, per scene class (benchmarks/camera_synth.SCENES):", "",
                  "| class | frames | numbers | digits | numbers exact | digits found | precision | "
                  "false digits / frame without digits |", "|---|---|---|---|---|---|---|---|"]
        for scene, t in synth["classes"].items():
            lines.append(f"| {scene} | {t['frames']} | {t['numbers']} | {t['digits']} | {_pct(t['numbers_exact'])} | "
                         f"{_pct(t['digits_found'])} | {_pct(t['precision'])} | {_num(t['false_digits_per_negative'])} |")
        timing = synth.get("read") or {}
        if timing:
            lines += ["", f"Synthetic read time per frame (DigitReader.process, first frame apart): p50 "
                          f"{timing['p50_ms']:.2f} ms, p90 {timing['p90_ms']:.2f} ms, p99 {timing['p99_ms']:.2f} ms."]
        if synth.get("detection_match_rate") is not None:
            lines += ["", f"Detection, all candidates: boxes one-to-one {_pct(synth['detection_match_rate'])}, "
                          f"with grouping {_pct(synth['detection_grouping_rate'])}, digit recall "
                          f"{_pct(synth['digit_recall'])}, false detections {synth['false_detections']}."]
    if real_ok and real["read_latency"]:
        t = real["read_latency"]
        lines += ["", f"Real photos ({real['read']} images, 0.1-12 MP): read time per image p50 {t['p50_ms']:.1f} ms, "
                      f"p90 {t['p90_ms']:.1f} ms. Per image: {real['score_output']}."]
    lines += ["", f"OpenCV {report['opencv']}, NumPy {report['numpy']}, CPU {report['cpu']}."]
    return "\n".join(lines) + "\n"


def _synthetic_frames(args: argparse.Namespace) -> Iterable[tuple[np.ndarray, dict[str, Any]]]:
    from mnist_edge.benchmarks.camera_synth import iter_frames, parse_classes  # noqa: PLC0415
    from mnist_edge.train.mnist import load_test_split, resolve_data_dir  # noqa: PLC0415 - numpy only

    classes = parse_classes(args.classes)
    data_dir = resolve_data_dir(args.mnist_dir)
    if data_dir is None:
        raise FileNotFoundError("no MNIST folder for the synthetic frames: pass --mnist-dir or set MNIST_DIR "
                                "(or --data DIR with a camera_synth dataset, or --no-synthetic)")
    images, labels = load_test_split(data_dir)
    for i, frame, truth in iter_frames(args.frames, args.seed, images, labels, classes, fonts_dir=args.fonts_dir):
        if (i + 1) % 50 == 0:
            print(f"synthetic: {i + 1}/{args.frames} frames", file=sys.stderr)
        yield frame, {"file": f"frame_{i:05d}", **truth}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Reading evaluation through the runtime's DigitReader: synthetic frames per scene class and "
        "the real-photo set (scored by its own score.py), side by side. Writes OUT/report.md and OUT/report.json.")
    parser.add_argument("--data", default=None, help="a camera_synth dataset folder (default: generate in memory)")
    parser.add_argument("--frames", type=int, default=300, help="synthetic frames to generate (default: 300)")
    parser.add_argument("--seed", type=int, default=31337, help="seed of the generated frames (default: 31337)")
    parser.add_argument("--classes", default="all",
                        help="scene classes to generate, comma-separated, or 'all' (default) or 'legacy'")
    parser.add_argument("--mnist-dir", default=None, help="MNIST folder (default: $MNIST_DIR)")
    parser.add_argument("--fonts-dir", default=None, help="handwriting fonts (default: train/fonts)")
    parser.add_argument("--no-synthetic", dest="synthetic", action="store_false", help="real photos only")
    parser.add_argument("--real", default=None,
                        help="the real-photo set (default: ../shared/data/realphotos beside the repository)")
    parser.add_argument("--no-real", dest="real_photos", action="store_false", help="synthetic frames only")
    parser.add_argument("--model", default=None, help="TFLite classifier (default: the shipped cnn_int8)")
    parser.add_argument("--detection", action="store_true",
                        help="also score the detector's raw candidates and their grouping (the pre-issue-11 report)")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU above which a detection matches a digit")
    parser.add_argument("--min-confidence", type=float, default=0.5,
                        help="reject candidates the classifier is less sure of (default: 0.5, as mnist-edge run)")
    parser.add_argument("--threads", type=int, default=1, help="OpenCV and interpreter threads (1 = Pi-like)")
    parser.add_argument("--out", default="bench-out/reading_eval",
                        help="folder for report.md, report.json and the real photos' JSONL and score output")
    parser.add_argument("--json", action="store_true", help="print report.json instead of the markdown")
    args = parser.parse_args(argv)
    if args.frames <= 0:
        parser.error(f"--frames must be > 0, got {args.frames}")
    command = "python -m mnist_edge.benchmarks.reading_eval " + " ".join(argv if argv is not None else sys.argv[1:])
    report: dict[str, Any] = {"command": command.strip(), "model": args.model or "shipped cnn_int8",
                              "min_confidence": args.min_confidence, "threads": args.threads}
    try:
        if args.synthetic:
            frames = read_dataset(args.data) if args.data else _synthetic_frames(args)
            report["synthetic"] = evaluate_frames(frames, args.model, detection=args.detection,
                                                  iou_threshold=args.iou, min_confidence=args.min_confidence,
                                                  threads=args.threads)
        if args.real_photos:
            real = Path(args.real) if args.real else default_realphotos_dir()
            report["real"] = evaluate_real_photos(real, args.out, args.model, args.min_confidence, args.threads)
            if "skipped" in report["real"]:
                print(f"real photos skipped: {report['real']['skipped']}", file=sys.stderr)
    except (ValueError, OSError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    base = report.get("synthetic") or {}
    report.update({k: base.get(k, v) for k, v in (("opencv", cv2.__version__), ("numpy", np.__version__),
                                                     ("cpu", platform.processor() or platform.machine()))})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    markdown = markdown_report(report)
    (out / "report.md").write_text(markdown)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1) if args.json else markdown)
    failures = (report.get("synthetic") or {}).get("failures") or []
    if failures:
        print(f"{len(failures)} synthetic frames with errors, e.g. {', '.join(failures[:8])}", file=sys.stderr)
    print(f"reading_eval: wrote {out / 'report.md'} and {out / 'report.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
