"""Reader speed: DigitReader against the classical baseline reader, side by side on the same decoded frames.

    python -m mnist_edge.benchmarks.reader_speed --out bench-out/reader_speed [--frames 200] [--seed 12]
        [--rounds 5] [--data-dir MNIST] [--realphotos ../shared/data/realphotos] [--model M.tflite]

Sets: (a) `--frames` camera-like 640×480 frames from benchmarks/camera_synth (MNIST test digits, fixed
seed), scored with reading_eval; (b) the real photos of `--realphotos` when the folder is there, scored by
the folder's own score.py (run on each reader's `mnist-edge run --json`-style output). Every frame is
decoded once by the runtime's file source (decode time reported apart, excluded from both readers), then
both readers read it, alternating which goes first, for `--rounds` passes; OpenCV and the interpreter on
1 thread, the same model for both (the shipped cnn_int8 unless `--model`). Per reader: frames/s,
ms per frame (p50, p99) and per stage, numbers read exactly. Writes OUT/report.md and OUT/reader_speed.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from mnist_edge.benchmarks.previous_reader import BEFORE_REAL_PHOTOS

DIGIT_READER, BASELINE, PREVIOUS = "DigitReader", "baseline", "previous"
STAGES = ("detect", "preprocess", "inference", "postprocess")  # decode is excluded: measured apart


@dataclass(frozen=True)
class ReaderSpeedConfig:
    frames: int = 200          # synthetic frames (each 1-6 digits)
    seed: int = 12             # frame i of the synthetic set depends only on (seed, i)
    rounds: int = 5            # passes over each set; each reader reads every frame once per pass (the
                               # per-frame median of 3 still let load-10 preemption move the ratio 0.51-0.72)
    warmup_frames: int = 5     # untimed reads per reader before the first pass
    backend: str = "auto"
    model: str | None = None   # the same .tflite for both readers; None: the shipped cnn_int8
    previous: str | None = None  # also time the reader of this git revision (its own shipped cnn_int8); None: not


@dataclass(frozen=True)
class DecodedFrame:
    name: str           # file name (what score.py matches on)
    image: np.ndarray   # as the runtime's file source delivers it
    decode_ms: float


def decode_folder(folder: Path, names: Sequence[str] | None = None) -> list[DecodedFrame]:
    """Every image in `folder` (or just `names`), decoded once by the runtime's own file source."""
    from mnist_edge.edge_runtime.sources import IMAGE_SUFFIXES, FileSource

    if names is None:
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    else:
        paths = [folder / name for name in names]
    return [DecodedFrame(f.source, f.image, f.read_ms) for f in FileSource(paths, str(folder)).frames()]


def make_synthetic_set(out_dir: Path, images: np.ndarray, labels: np.ndarray, frames: int, seed: int) -> Path:
    """The camera_synth dataset OUT_DIR (frames as PNG, as reading_eval scores them, and truth.json)."""
    from mnist_edge.benchmarks.camera_synth import make_dataset

    make_dataset(out_dir, frames, seed, images, labels)
    return out_dir


def _stats(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=np.float64)
    return {"p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "mean": float(a.mean())}


def compare_readers(readers: dict[str, Any], frames: list[DecodedFrame], rounds: int,
                    warmup_frames: int = 5) -> dict[str, dict]:
    """Read every frame with every reader for `rounds` passes, interleaved frame by frame.

    Which reader goes first alternates with the frame and the pass, so neither always finds the frame
    already in cache nor always runs in the other's wake. Returns per reader: wall seconds per read, the
    stage latencies, and the first pass's results (with whether later passes gave the same answers).
    """
    from mnist_edge.benchmarks.common import no_gc

    names = list(readers)
    for reader in readers.values():
        for frame in frames[:warmup_frames]:
            reader.process(frame.image)
    record = {name: {"walls": [], "latencies": [], "results": [], "same_every_round": True} for name in names}
    for round_ in range(rounds):
        with no_gc():
            for i, frame in enumerate(frames):
                order = names if (i + round_) % 2 == 0 else names[::-1]
                for name in order:
                    start = time.perf_counter()
                    result = readers[name].process(frame.image, i, frame.name, frame.decode_ms)
                    wall = time.perf_counter() - start
                    rec = record[name]
                    rec["walls"].append(wall)
                    rec["latencies"].append(result.latency_ms)
                    if round_ == 0:
                        rec["results"].append(result)
                    elif result.numbers != rec["results"][i].numbers:
                        rec["same_every_round"] = False
    return record


def _timing(rec: dict, rounds: int) -> dict:
    walls_ms = np.asarray(rec["walls"]) * 1e3
    # frames/s from each frame's median over the rounds: on a shared machine a read that was preempted
    # (p99 37 ms against a p50 of 1.7 ms under load 8.6) would otherwise decide the mean; the plain mean
    # over all reads is kept beside it.
    per_frame = np.median(walls_ms.reshape(rounds, -1), axis=0)
    return {"frames_per_s": len(per_frame) / (per_frame.sum() / 1e3),
            "frames_per_s_all_reads": len(walls_ms) / (walls_ms.sum() / 1e3), "ms_per_frame": _stats(walls_ms),
            "stages_ms": {stage: _stats([lat[stage] for lat in rec["latencies"]]) for stage in STAGES},
            "reads": len(walls_ms), "same_answers_every_round": rec["same_every_round"]}


def score_synthetic(dataset: Path, results: list) -> dict:
    """Numbers read exactly (and more) for one reader's FrameResults on a camera_synth dataset."""
    from mnist_edge.benchmarks.reading_eval import score_result

    truth = json.loads((dataset / "truth.json").read_text())["frames"]
    scores = [score_result(t, r) for t, r in zip(truth, results)]
    numbers = sum(s.numbers_true for s in scores)
    digits = sum(s.digits_true for s in scores)
    return {"numbers": numbers, "numbers_exact": sum(s.numbers_read for s in scores) / max(1, numbers),
            "frames_all_read": float(np.mean([s.numbers_read == s.numbers_true and s.extra_numbers == 0
                                              for s in scores])),
            "digit_accuracy": sum(s.digits_correct for s in scores) / max(1, digits),
            "false_detections": sum(s.false_detections for s in scores)}


def score_realphotos(folder: Path, results: list, jsonl: Path) -> dict:
    """Write one reader's results as `mnist-edge run --json` lines and score them with the folder's score.py."""
    with open(jsonl, "w") as out:
        for result in results:
            out.write(json.dumps(result.to_json()) + "\n")
    command = [sys.executable, str(folder / "score.py"), str(jsonl), "--truth", str(folder / "truth.json"), "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"score.py failed (exit {done.returncode}): {done.stderr.strip()[-300:]}")
    summary = json.loads(lines[-1])
    main = summary["main"]
    return {"numbers": main["numbers"], "numbers_exact": main["strict"], "numbers_exact_lenient": main["lenient"],
            "digits_found": main["found"], "digit_precision": main["precision"],
            "negatives_false_digits": summary["negatives"]["false_digits"], "score_py": summary}


def run_set(name: str, frames: list[DecodedFrame], readers: dict[str, Any], config: ReaderSpeedConfig,
            score) -> dict:
    """One set: decode stats, both readers timed side by side, each scored by `score(results)`."""
    from mnist_edge.benchmarks.common import progress

    progress(f"reader speed: {name}: {len(frames)} frames × {config.rounds} rounds, {' vs '.join(readers)}")
    record = compare_readers(readers, frames, config.rounds, config.warmup_frames)
    out: dict[str, Any] = {"frames": len(frames), "rounds": config.rounds,
                           "sizes": sorted({f"{f.image.shape[1]}x{f.image.shape[0]}" for f in frames}),
                           "decode_ms": _stats([f.decode_ms for f in frames]), "readers": {}}
    for reader_name, rec in record.items():
        out["readers"][reader_name] = {**_timing(rec, config.rounds), **score(reader_name, rec["results"])}
    ours, base = out["readers"][DIGIT_READER], out["readers"][BASELINE]
    if PREVIOUS in out["readers"]:
        out["fps_ratio_to_previous"] = ours["frames_per_s"] / out["readers"][PREVIOUS]["frames_per_s"]
    out["fps_ratio"] = ours["frames_per_s"] / base["frames_per_s"]
    out["fps_ratio_all_reads"] = ours["frames_per_s_all_reads"] / base["frames_per_s_all_reads"]
    out["p50_ratio"] = base["ms_per_frame"]["p50"] / ours["ms_per_frame"]["p50"]
    progress(f"reader speed: {name}: DigitReader {ours['frames_per_s']:.0f} frames/s, baseline "
             f"{base['frames_per_s']:.0f} frames/s: {out['fps_ratio']:.2f}x; numbers exact "
             f"{ours['numbers_exact']:.1%} vs {base['numbers_exact']:.1%}")
    return out


def measure_reader_speed(out_dir: Path, images: np.ndarray, labels: np.ndarray, config: ReaderSpeedConfig,
                         realphotos: Path | None, command: Sequence[str]) -> dict:
    """Both sets side by side; returns everything as one JSON-able dict (also OUT/reader_speed.json)."""
    import cv2

    from mnist_edge.benchmarks.baseline_reader import BaselineReader
    from mnist_edge.benchmarks.machine import machine_info
    from mnist_edge.benchmarks.previous_reader import previous_reader
    from mnist_edge.edge_runtime.backend import load_backend
    from mnist_edge.edge_runtime.pipeline import DigitReader, shipped_model

    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    backend = load_backend(config.backend)
    model = Path(config.model) if config.model else shipped_model("cnn_int8")
    previous_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        readers = {DIGIT_READER: DigitReader(model, config.backend, threads=1),
                   BASELINE: BaselineReader(model, config.backend, threads=1)}
        report: dict[str, Any] = {"schema": 1, "config": asdict(config), "model": str(model),
                                  "machine": machine_info(backend.name, backend.version, list(command)),
                                  "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "sets": {}, "skipped": {}}
        if config.previous:
            try:
                readers[PREVIOUS] = previous_reader(config.previous, threads=1, backend=config.backend)
                report["previous_revision"] = readers[PREVIOUS].revision
            except RuntimeError as exc:
                report["skipped"]["previous"] = str(exc)
        # The frames (58 MB of PNG for 200) go to a temporary folder, not beside the committed results.
        with tempfile.TemporaryDirectory(prefix="mnist-edge-reader-speed-") as tmp:
            synthetic = make_synthetic_set(Path(tmp), images, labels, config.frames, config.seed)
            names = [f["file"] for f in json.loads((synthetic / "truth.json").read_text())["frames"]]
            report["sets"]["synthetic"] = run_set(
                f"synthetic (camera_synth seed {config.seed})", decode_folder(synthetic, names), readers, config,
                lambda reader, results: score_synthetic(synthetic, results))
        if realphotos is not None and (realphotos / "truth.json").is_file() and (realphotos / "score.py").is_file():
            report["sets"]["realphotos"] = run_set(
                f"real photos ({realphotos})", decode_folder(realphotos), readers, config,
                lambda reader, results: score_realphotos(realphotos, results, out_dir / f"realphotos_{reader}.jsonl"))
            report["sets"]["realphotos"]["folder"] = str(realphotos)
        else:
            report["skipped"]["realphotos"] = (f"no {realphotos}/truth.json and score.py" if realphotos
                                               else "no --realphotos folder given")
    finally:
        cv2.setNumThreads(previous_threads)
    report["machine"]["load_average_end"] = list(os.getloadavg())
    report["duration_s"] = time.perf_counter() - started
    (out_dir / "reader_speed.json").write_text(json.dumps(report, indent=1, default=str))
    (out_dir / "report.md").write_text("\n".join(markdown(report)) + "\n")
    return report


SET_TITLES = {"synthetic": "Synthetic camera-like frames", "realphotos": "Real photos",
              "previous": "The reader of an earlier revision"}


def markdown(report: dict) -> list[str]:
    """The report as Markdown lines (also the section `mnist-edge bench` puts in its report.md)."""
    m = report["machine"]
    simd = " ".join((m.get("cpu") or {}).get("simd", [])) or "no listed SIMD flags"
    load = m.get("load_average_start") or [float("nan")]
    end = m.get("load_average_end") or [float("nan")]
    lines = ["## Reader speed: DigitReader vs the classical baseline", "",
             f"`{m['command']}` — {report['started']}, {report['duration_s']:.1f} s. {m['cpu_model']} ({simd}), "
             f"{m['cores']} cores, OpenCV {m['opencv']}, {m['interpreter_backend']} {m['interpreter_version']}; "
             f"load average {load[0]:.2f} at start, {end[0]:.2f} at end (a shared machine: the ratios, measured "
             "side by side, are what count).", "",
             f"Both readers: `{Path(report['model']).name}`, 1 interpreter thread, cv2.setNumThreads(1), the same "
             "frames decoded once (decode excluded), read alternately, "
             f"{report['config']['rounds']} rounds; frames/s from each frame's median time over the rounds. "
             "Baseline: Otsu on the gray frame (inverted), 3×3 close, external contours, size filter, pad to square, "
             "28×28, one invoke per digit (benchmarks/baseline_reader.py).", ""]
    for key, s in report["sets"].items():
        decode = s["decode_ms"]
        lines += [f"### {SET_TITLES.get(key, key)}: {s['frames']} frames ({', '.join(s['sizes'][:4])}"
                  f"{', …' if len(s['sizes']) > 4 else ''}); decode p50 {decode['p50']:.2f} ms (excluded)", "",
                  "| reader | frames/s | ms/frame p50 | p99 | detect p50 | preprocess p50 | inference p50 | "
                  "postprocess p50 | numbers exact |", "|---|---|---|---|---|---|---|---|---|"]
        for name, r in s["readers"].items():
            stages = " | ".join(f"{r['stages_ms'][stage]['p50']:.2f}" for stage in STAGES)
            exact = f"{r['numbers_exact']:.1%}" + (f" ({r['numbers_exact_lenient']:.1%} lenient)"
                                                    if "numbers_exact_lenient" in r else "")
            lines.append(f"| {name} | {r['frames_per_s']:,.0f} | {r['ms_per_frame']['p50']:.2f} | "
                         f"{r['ms_per_frame']['p99']:.2f} | {stages} | {exact} of {r['numbers']} |")
        lines += ["", f"**DigitReader / baseline: {s['fps_ratio']:.2f}× the frames per second** "
                  f"({s['p50_ratio']:.2f}× by p50 ms per frame; {s['fps_ratio_all_reads']:.2f}× by the mean of all "
                  "reads, preempted ones included).", ""]
        if "fps_ratio_to_previous" in s:
            lines += [f"DigitReader / the reader of {report['previous_revision']} (its own shipped model): "
                      f"**{s['fps_ratio_to_previous']:.2f}× the frames per second**.", ""]
    for key, why in report.get("skipped", {}).items():
        lines += [f"{SET_TITLES.get(key, key)}: skipped ({why}).", ""]
    return lines


def bench_section(out_dir: Path, images: np.ndarray, labels: np.ndarray, quick: bool, backend: str,
                  command: Sequence[str], realphotos: Path | None = None) -> dict:
    """The reader-speed section of `mnist-edge bench` on its test digits (uint8 28×28): the report dict,
    or {"error": ...} when it failed."""
    from mnist_edge.benchmarks.common import progress
    from mnist_edge.cli import one_line

    try:
        config = ReaderSpeedConfig(frames=30 if quick else 200, rounds=3 if quick else 5, backend=backend,
                                   previous=BEFORE_REAL_PHOTOS)
        return measure_reader_speed(out_dir, images, labels, config, realphotos or default_realphotos(), command)
    except Exception as exc:  # noqa: BLE001 - a failed section is a line in the report, not a crash
        progress(f"reader speed: FAILED: {one_line(exc)}")
        return {"error": one_line(exc)}


def default_realphotos() -> Path | None:
    """../shared/data/realphotos beside the current directory's repository, when it is there."""
    path = Path.cwd().parent / "shared" / "data" / "realphotos"
    return path if path.is_dir() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="DigitReader vs the classical baseline reader, side by side.")
    parser.add_argument("--out", default="bench-out/reader_speed", help="folder for report.md and reader_speed.json")
    parser.add_argument("--frames", type=int, default=ReaderSpeedConfig.frames, help="synthetic frames")
    parser.add_argument("--seed", type=int, default=ReaderSpeedConfig.seed, help="seed of the synthetic frames")
    parser.add_argument("--rounds", type=int, default=ReaderSpeedConfig.rounds, help="passes over each set")
    parser.add_argument("--data-dir", default=None, help="MNIST folder (default: $MNIST_DIR)")
    parser.add_argument("--realphotos", default=None,
                        help="folder with real photos, truth.json and score.py (default: ../shared/data/realphotos)")
    parser.add_argument("--model", default=None, help="the .tflite both readers use (default: the shipped cnn_int8)")
    parser.add_argument("--backend", default="auto", help="TFLite interpreter (default: auto)")
    parser.add_argument("--previous", default=BEFORE_REAL_PHOTOS, metavar="REV",
                        help="also time the reader of this git revision, side by side (default: "
                             f"{BEFORE_REAL_PHOTOS}, the reader before the real-photo work; 'none': not)")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    from mnist_edge.cli import one_line
    from mnist_edge.train.mnist import load_test_split, resolve_data_dir

    try:
        if args.frames <= 0 or args.rounds <= 0:
            raise ValueError("--frames and --rounds must be > 0")
        resolved = resolve_data_dir(args.data_dir)
        if resolved is None:
            raise FileNotFoundError("no MNIST test set: pass --data-dir DIR or set MNIST_DIR")
        x_test, y_test = load_test_split(resolved)
        config = ReaderSpeedConfig(frames=args.frames, seed=args.seed, rounds=args.rounds, backend=args.backend,
                                   model=args.model, previous=None if args.previous == "none" else args.previous)
        realphotos = Path(args.realphotos) if args.realphotos else default_realphotos()
        report = measure_reader_speed(Path(args.out), x_test, y_test, config, realphotos,
                                      ["python", "-m", "mnist_edge.benchmarks.reader_speed", *argv])
    except (ValueError, OSError, ImportError, RuntimeError) as exc:
        print(f"reader_speed: error: {one_line(exc)}", file=sys.stderr)
        return 1
    print("\n".join(markdown(report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
