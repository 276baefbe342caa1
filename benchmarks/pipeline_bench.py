"""Pipeline benchmark: the edge runtime (DigitReader) over a camera-like clip, single thread.

The clip is 640×480 Motion-JPEG with 1-6 handwritten MNIST test digits per frame (benchmarks/camera_synth,
fixed seed), decoded once by the runtime's own video source, straight to gray as `mnist-edge run` does
when it draws nothing (timed: the decode stage; the colour decode is timed for reference), then read by
DigitReader batched (one inference per frame) and per digit, in alternating passes so that both see the
same machine load.
Cold start is timed from process launch of `mnist-edge run --source CLIP --max-frames 1 --json` to its
first JSON line; RSS is the child's own peak (VmHWM), for that run and for a run over the whole clip.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mnist_edge.benchmarks.common import no_gc, progress
from mnist_edge.cli import one_line
from mnist_edge.edge_runtime.pipeline import STAGES
from mnist_edge.edge_runtime.stats import latency_stats


@dataclass(frozen=True)
class PipelineConfig:
    frames: int = 100          # clip length; each frame has 1-6 digits
    seed: int = 0              # frame i depends only on (seed, i)
    backend: str = "auto"
    cold_runs: int = 3         # cold starts to time (the median is reported)
    min_seconds: float = 3.0   # each mode reads the clip over and over for at least this long
    warmup_frames: int = 5
    cv2_threads: int = 1       # cv2.setNumThreads: single-thread numbers
    quick: bool = False


def pick_pipeline_model(paths: list[Path]) -> Path | None:
    """The shipped default (cnn_int8) if benchmarked, else another int8 CNN, else any int8, else the first."""
    for test in (lambda p: p.stem == "cnn_int8", lambda p: "cnn" in p.stem and p.stem.endswith("_int8"),
                 lambda p: p.stem.endswith("_int8"), lambda p: True):
        for path in paths:
            if test(path):
                return path
    return None


def _synth_fingerprint(frames: int, seed: int) -> dict:
    import mnist_edge.benchmarks.camera_synth as synth

    source = Path(synth.__file__).read_bytes()
    fingerprint = {"frames": frames, "seed": seed, "camera_synth_sha256": hashlib.sha256(source).hexdigest(),
                   "config": asdict(synth.SynthConfig())}
    return json.loads(json.dumps(fingerprint))  # as it reads back from the file (tuples become lists)


def make_clip(out_dir: Path, frames: int, seed: int, x_test: np.ndarray, y_test: np.ndarray) -> tuple[Path, dict]:
    """DIR/pipeline_clip.avi and its truth; reused when the same generator, seed and length made it."""
    from mnist_edge.benchmarks.camera_synth import SynthConfig, make_frame, write_clip

    clip, meta_path = out_dir / "pipeline_clip.avi", out_dir / "pipeline_clip.json"
    fingerprint = _synth_fingerprint(frames, seed)
    if clip.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("fingerprint") == fingerprint:
                progress(f"pipeline: reusing {clip} (same generator, seed and length)")
                return clip, meta
        except ValueError:
            pass
    progress(f"pipeline: generating a {frames}-frame camera-like clip (seed {seed})")
    config = SynthConfig()
    images, digits = [], []
    for i in range(frames):
        frame, truth = make_frame(x_test, y_test, np.random.default_rng([seed, i]), config)
        images.append(frame)
        digits.append(sum(len(number["digits"]) for number in truth["numbers"]))
    write_clip(clip, images)
    meta = {"fingerprint": fingerprint, "width": config.width, "height": config.height,
            "digits_per_frame": digits}
    meta_path.write_text(json.dumps(meta))
    return clip, meta


def decode_clip(clip: Path, gray: bool, passes: int = 3) -> tuple[list[np.ndarray], list[float], bool]:
    """Every frame as the runtime's video source delivers it, the milliseconds each read took (median
    of `passes` reads of the clip), and whether the frames are gray (what `mnist-edge run` asks for
    when it draws nothing)."""
    from mnist_edge.edge_runtime.sources import VideoFileSource

    source = VideoFileSource(str(clip), gray=gray)
    times: list[list[float]] = []
    for _ in range(passes):
        frames = []
        times.append([])
        for frame in source.frames():
            frames.append(frame.image)
            times[-1].append(frame.read_ms)
    if not frames:
        raise OSError(f"{clip}: no frame could be decoded")
    return frames, np.median(np.asarray(times), axis=0).tolist(), source.gray


def _mode_summary(latencies: list[dict], walls: list[float], decode_ms: list[float], digits: list[int]) -> dict:
    per_stage = {}
    for stage in STAGES:
        stats = latency_stats([lat[stage] for lat in latencies])
        per_stage[stage] = {"p50": stats["p50"], "p99": stats["p99"], "mean": stats["mean"]}
    seconds = float(np.sum(walls)) + float(np.sum(decode_ms)) / 1e3
    frames = len(latencies)
    return {"frames_per_s": frames / seconds, "frames_per_s_without_decode": frames / float(np.sum(walls)),
            "frames": frames, "seconds": seconds, "stages_ms": per_stage,
            "digits_per_frame": float(np.mean(digits)),
            "inference_us_per_digit": (per_stage["inference"]["mean"] * 1e3 / max(float(np.mean(digits)), 1e-9))}


def measure_modes(model: Path, frames: list[np.ndarray], decode_ms: list[float], config: PipelineConfig) -> dict:
    """DigitReader batched and per digit over the same frames, in alternating passes of the whole clip."""
    from mnist_edge.edge_runtime.pipeline import DigitReader

    readers = {"batched": DigitReader(model, config.backend, threads=1, batched=True),
               "per_digit": DigitReader(model, config.backend, threads=1, batched=False)}
    for reader in readers.values():
        for frame in frames[: config.warmup_frames]:
            reader.process(frame)
    record = {mode: {"latencies": [], "walls": [], "decode": [], "digits": []} for mode in readers}
    agree = True
    passes = 0
    while passes < 1 or min(sum(r["walls"]) for r in record.values()) < config.min_seconds:
        passes += 1
        answers = {}
        for mode, reader in readers.items():
            rec = record[mode]
            texts = []
            with no_gc():
                for i, frame in enumerate(frames):
                    start = time.perf_counter()
                    result = reader.process(frame, i, "clip", decode_ms[i])
                    rec["walls"].append(time.perf_counter() - start)
                    rec["latencies"].append(result.latency_ms)
                    rec["decode"].append(decode_ms[i])
                    rec["digits"].append(len(result.digits) + result.rejected)
                    texts.append([d.digit for d in result.digits])
            answers[mode] = texts
        agree = agree and answers["batched"] == answers["per_digit"]
    modes = {mode: _mode_summary(rec["latencies"], rec["walls"], rec["decode"], rec["digits"])
             for mode, rec in record.items()}
    modes["batched"]["passes"] = modes["per_digit"]["passes"] = passes
    modes["batched_same_digits_as_per_digit"] = agree
    modes["batched_speedup_fps"] = modes["batched"]["frames_per_s"] / modes["per_digit"]["frames_per_s"]
    modes["batched_speedup_inference"] = (modes["per_digit"]["stages_ms"]["inference"]["mean"]
                                          / modes["batched"]["stages_ms"]["inference"]["mean"])
    return modes


def _spawn(args: list[str], timeout: float = 300.0) -> dict:
    """Launch `mnist-edge ARGS`; seconds to its first stdout line, wall time, lines and peak RSS (MB)."""
    with tempfile.TemporaryDirectory(prefix="mnist-edge-bench-") as tmp:
        peak_path, err_path = Path(tmp) / "vmhwm", Path(tmp) / "stderr"
        with open(err_path, "w") as stderr:
            start = time.perf_counter()
            process = subprocess.Popen([sys.executable, "-m", "mnist_edge.benchmarks.peak_rss_run", str(peak_path),
                                        *args],
                                       stdout=subprocess.PIPE, stderr=stderr, text=True)
            watchdog = threading.Timer(timeout, process.kill)  # a hung run must not hang the benchmark
            watchdog.start()
            try:
                first = process.stdout.readline()
                first_s = time.perf_counter() - start
                rest = process.stdout.read()
                process.wait()
            finally:
                watchdog.cancel()
                if process.poll() is None:
                    process.kill()
                    process.wait()
                process.stdout.close()
            wall = time.perf_counter() - start
        err = err_path.read_text()
        peak_kb = peak_path.read_text().strip() if peak_path.is_file() else ""
    if process.returncode != 0 or not first.strip():
        lines = [line for line in err.splitlines() if line.strip()]
        raise RuntimeError(f"mnist-edge run exited {process.returncode}: {lines[-1] if lines else 'no output'}")
    json.loads(first)  # the first result really is a JSON line
    if not peak_kb:
        raise RuntimeError("mnist-edge run did not report its peak RSS")
    lines = 1 + sum(1 for line in rest.splitlines() if line.strip())
    return {"first_result_s": first_s, "wall_s": wall, "lines": lines, "rss_mb": int(peak_kb) / 1024.0}


def cold_start(model: Path, clip: Path, runs: int) -> dict:
    """Process launch → first JSON result of `mnist-edge run --max-frames 1`, `runs` times."""
    samples = [_spawn(["run", "--source", str(clip), "--model", str(model), "--max-frames", "1", "--json"])
               for _ in range(runs)]
    firsts = [s["first_result_s"] for s in samples]
    return {"median_s": float(np.median(firsts)), "min_s": float(min(firsts)),
            "runs_s": [round(f, 4) for f in firsts], "rss_mb": float(max(s["rss_mb"] for s in samples)),
            "command": " ".join(["mnist-edge", "run", "--source", "CLIP", "--model", str(model),
                                 "--max-frames", "1", "--json"]),
            "note": "launched as python -m mnist_edge.benchmarks.peak_rss_run (the console script's main + a "
                    "VmHWM hook at exit)"}


def whole_clip_run(model: Path, clip: Path) -> dict:
    """`mnist-edge run --source CLIP --json` over the whole clip: wall time, results and peak RSS."""
    sample = _spawn(["run", "--source", str(clip), "--model", str(model), "--json"])
    return {"wall_s": sample["wall_s"], "frames": sample["lines"], "rss_mb": sample["rss_mb"]}


def bench_pipeline(model: Path, config: PipelineConfig, out_dir: Path, x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """The pipeline section of results.json; a failure becomes {"status": "error", "error": ...}."""
    import cv2

    result: dict = {"status": "ok", "model": str(model), "config": asdict(config)}
    previous_threads = cv2.getNumThreads()
    try:
        clip, meta = make_clip(out_dir, config.frames, config.seed, x_test, y_test)
        result["clip"] = {"path": str(clip), "frames": config.frames, "seed": config.seed,
                          "width": meta["width"], "height": meta["height"],
                          "digits_per_frame_truth": {"min": min(meta["digits_per_frame"]),
                                                     "max": max(meta["digits_per_frame"]),
                                                     "mean": float(np.mean(meta["digits_per_frame"]))}}
        cv2.setNumThreads(config.cv2_threads)
        result["cv2_threads"] = cv2.getNumThreads()
        result["interpreter_threads"] = 1
        # As `mnist-edge run --json` reads it: Motion-JPEG straight to gray. In colour (what --save and
        # --serve need) for reference.
        frames, decode_ms, result["decode_gray"] = decode_clip(clip, gray=True)
        result["decode_ms"] = latency_stats(decode_ms)
        result["decode_colour_ms"] = latency_stats(decode_clip(clip, gray=False)[1])
        progress(f"pipeline: {model.name} on {len(frames)} frames, batched vs per digit "
                 f"(≥ {config.min_seconds:g} s each)")
        result["modes"] = measure_modes(model, frames, decode_ms, config)
    except Exception as exc:  # noqa: BLE001 - report it, carry on with the rest
        result.update(status="error", error=one_line(exc))
        progress(f"pipeline: FAILED: {result['error']}")
        return result
    finally:
        cv2.setNumThreads(previous_threads)
    try:
        progress(f"pipeline: cold start × {config.cold_runs} and a whole-clip run")
        result["cold_start"] = cold_start(model, clip, config.cold_runs)
        result["clip_run"] = whole_clip_run(model, clip)
        result["rss_mb"] = max(result["cold_start"]["rss_mb"], result["clip_run"]["rss_mb"])
    except (RuntimeError, OSError, ValueError) as exc:
        result["cold_start_error"] = one_line(exc)
        progress(f"pipeline: cold start FAILED: {result['cold_start_error']}")
    batched = result["modes"]["batched"]
    progress(f"pipeline: {batched['frames_per_s']:.0f} frames/s batched, detect p50 "
             f"{batched['stages_ms']['detect']['p50']:.2f} ms")
    return result
