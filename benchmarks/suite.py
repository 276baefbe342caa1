"""One `mnist-edge bench` run: the test images, then each section in SECTIONS, then the targets.

To add a section (e.g. another reader or another interpreter): write `section(run: Run) -> Any`, add it to
SECTIONS (its value lands in results.json under its name) and a table for it to report.REPORT_SECTIONS.
"""
from __future__ import annotations

import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mnist_edge.benchmarks.bench import (BenchConfig, ModelBench, baseline_rss, keras_comparison, keras_reference,
                                         twin_ratios, variant_names)
from mnist_edge.benchmarks.common import progress
from mnist_edge.benchmarks.machine import machine_info
from mnist_edge.cli import one_line


@dataclass(frozen=True)
class PipelineOptions:
    enabled: bool = True
    model: Path | None = None   # None: cnn_int8 if benchmarked, else an int8 model
    frames: int = 100           # length of the generated camera-like clip
    seed: int = 0


@dataclass
class Run:
    """What the sections share: the configuration, the test images and the results so far."""
    models: list[Path]
    config: BenchConfig
    out_dir: Path
    pipeline: PipelineOptions
    backend: Any                 # edge_runtime.backend.Backend
    x_test: np.ndarray           # uint8 (N, 28, 28): every test image loaded (the pipeline clip draws from them)
    y_test: np.ndarray
    images: np.ndarray           # the first config.test_images of them as floats in [0, 1]
    labels: np.ndarray
    reader_speed: bool = True    # DigitReader vs the classical baseline reader (benchmarks/reader_speed.py)
    results: dict = field(default_factory=dict)


def load_test_images(data_dir: str | None, quick: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """The MNIST test split from --data-dir, $MNIST_DIR or Keras' cache; for --quick without any of
    those, the 300 test digits shipped in the package. (x, y, where they came from)."""
    from mnist_edge.train.mnist import load_test_split, resolve_data_dir

    resolved = resolve_data_dir(data_dir)
    if resolved is not None:
        x, y = load_test_split(resolved)
        return x, y, str(resolved)
    if quick:
        from mnist_edge.benchmarks.subset import load_subset, subset_path

        x, y, _ = load_subset()
        progress(f"no local MNIST (--data-dir, $MNIST_DIR, ~/.keras/datasets): using the {len(x)} test "
                 "digits shipped with mnist-edge")
        return x, y, f"{subset_path()} ({len(x)} MNIST test digits shipped with mnist-edge)"
    raise FileNotFoundError("no MNIST test set for a full run: pass --data-dir DIR or set MNIST_DIR to a folder "
                            "with t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (or run "
                            "`mnist-edge bench --quick`, which uses 300 test digits shipped with mnist-edge)")


# ---------------------------------------------------------------------------------------- sections

def models_section(run: Run) -> list[dict]:
    """Every TFLite variant: accuracy, twin agreement, size, latency, throughput, memory."""
    try:
        baseline = baseline_rss(run.backend.name)
    except RuntimeError as exc:
        baseline = {"error": one_line(exc)}
    run.results["baseline_rss"] = baseline
    bench = ModelBench(run.config, run.images, run.labels, run.backend.name, run.backend.interpreter_cls,
                       baseline.get("hwm_mb"), paths=list(run.models))
    return [bench.run(path, name) for path, name in zip(run.models, variant_names(run.models))]


def keras_section(run: Run) -> dict:
    """The .keras models the variants came from, in a TensorFlow subprocess; ratios go into each row."""
    references: dict[str, dict] = {}
    if not run.config.keras:
        return references
    rows = run.results["models"]
    for keras_path in sorted({row["keras_model"] for row in rows if row.get("keras_model")}):
        progress(f"Keras reference {keras_path} (TensorFlow subprocess)")
        started = time.perf_counter()
        try:
            references[keras_path] = keras_reference(Path(keras_path), run.images, run.config)
        except Exception as exc:  # noqa: BLE001 - a failed reference is a row with its error
            references[keras_path] = {"model": keras_path, "error": one_line(exc)}
            progress(f"Keras {keras_path}: FAILED: {one_line(exc)}")
        references[keras_path]["bench_s"] = time.perf_counter() - started
    for row in rows:
        ref = references.get(row.get("keras_model") or "")
        if ref and "eager_latency_us" in ref and "latency_us" in row:
            row["keras"] = keras_comparison(row, ref)
        elif ref:
            row["keras"] = {"error": ref.get("error", "no measurement")}
    versions = [r["versions"] for r in references.values() if "versions" in r]
    if versions:
        run.results["machine"]["tensorflow"] = versions[0]["tensorflow"]
        run.results["machine"]["keras"] = versions[0]["keras"]
    return references


def micro_section(run: Run) -> list[dict]:
    """Each int8 variant through TensorFlow Lite Micro (reference kernels; a skipped row without the micro extra)."""
    from mnist_edge.benchmarks.micro_bench import MICRO_IMAGES, micro_rows

    return micro_rows(run.results["models"], run.images, run.labels, 200 if run.config.quick else MICRO_IMAGES)


def ratios_section(run: Run) -> list[dict]:
    """Each quantized variant against its float32 twin."""
    return twin_ratios(run.results["models"])


def pipeline_section(run: Run) -> dict | None:
    """The camera pipeline (DigitReader) on a generated 640×480 clip."""
    from mnist_edge.benchmarks.pipeline_bench import PipelineConfig, bench_pipeline, pick_pipeline_model

    options = run.pipeline
    if not options.enabled:
        return None
    rows = run.results["models"]
    model = options.model or pick_pipeline_model([Path(r["path"]) for r in rows if r["status"] == "ok"])
    if model is None:
        return {"status": "error", "error": "no working model to run the pipeline with"}
    config = PipelineConfig(frames=options.frames, seed=options.seed, backend=run.config.backend,
                            quick=run.config.quick, cold_runs=2 if run.config.quick else 3,
                            min_seconds=0.5 if run.config.quick else 3.0)
    started = time.perf_counter()
    result = bench_pipeline(Path(model), config, run.out_dir, run.x_test, run.y_test)
    result["bench_s"] = time.perf_counter() - started
    return result


def reader_speed_section(run: Run) -> dict | None:
    """DigitReader vs the classical baseline reader on the same decoded frames (benchmarks/reader_speed.py)."""
    from mnist_edge.benchmarks.reader_speed import bench_section

    if not run.reader_speed:
        return None
    return bench_section(run.out_dir / "reader_speed", run.x_test, run.y_test, run.config.quick, run.config.backend,
                         shlex.split(run.results["machine"]["command"]))


# name in results.json → the function that measures it; run in this order.
SECTIONS: tuple[tuple[str, Callable[[Run], Any]], ...] = (
    ("models", models_section),
    ("micro", micro_section),
    ("keras", keras_section),
    ("ratios", ratios_section),
    ("pipeline", pipeline_section),
    ("reader_speed", reader_speed_section),
)


# ----------------------------------------------------------------------------------------- targets

# The targets were set on the committed run's machine: a 2-core x86-64 VM (AMD EPYC Zen 4, AVX-512 VNNI).
# They are references for that class of machine; on a Pi or an older CPU "not met" means "slower than
# that class", which the ratios and the float32/int8 rows explain.
REFERENCE_MACHINE = "a 2-core x86-64 server CPU like the committed run's"


def evaluate_targets(models: list[dict], pipeline: dict | None) -> list[dict]:
    """The product's targets, each with what it means, the measured value and whether it is met."""
    targets = []
    for row in models:
        if row.get("status") != "ok":
            continue
        keras = row.get("keras")
        if keras and "speedup_eager_p50" in keras:
            targets.append({"target": f"{row['variant']}: LiteRT per-image ≥ 100× faster than Keras model(x)",
                            "what": "one image through LiteRT vs the same model called in Keras (p50 ratio)",
                            "value": keras["speedup_eager_p50"], "unit": "×", "met": keras["speedup_eager_p50"] >= 100})
        one = {p["batch"]: p["images_per_s"] for p in row.get("throughput", [])
               if p["threads"] == 1 and "images_per_s" in p}
        if 1 in one and len(one) > 1:
            worst = min((v / one[1], b) for b, v in one.items() if b > 1)
            targets.append({"target": f"{row['variant']}: batched img/s ≥ batch-1 img/s (threads 1, every batch)",
                            "what": "the worst batch size's per-image throughput over batch 1's",
                            "value": worst[0], "unit": f"× (worst: batch {worst[1]})", "met": worst[0] >= 1.0})
    if pipeline and pipeline.get("status") == "ok":
        batched = pipeline["modes"].get("batched", {})
        if "frames_per_s" in batched:
            targets.append({"target": "pipeline ≥ 300 frames/s (640×480, 1-6 digits, 1 thread)",
                            "what": "frames read end to end by one core; a camera gives 30",
                            "value": batched["frames_per_s"], "unit": "frames/s",
                            "met": batched["frames_per_s"] >= 300})
        cold = pipeline.get("cold_start", {})
        if "median_s" in cold:
            targets.append({"target": "cold start ≤ 1.5 s (launch → first JSON result)",
                            "what": "`mnist-edge run` from process launch to its first result",
                            "value": cold["median_s"], "unit": "s", "met": cold["median_s"] <= 1.5})
        rss = pipeline.get("rss_mb")
        if rss is not None:
            targets.append({"target": "pipeline RSS ≤ 150 MB", "what": "peak memory of `mnist-edge run`",
                            "value": rss, "unit": "MB", "met": rss <= 150})
    for target in targets:
        target["reference"] = REFERENCE_MACHINE
    return targets


# ------------------------------------------------------------------------------------------- a run

def run_benchmarks(models: list[Path], config: BenchConfig, out_dir: Path, data_dir: str | None,
                   command: list[str], pipeline: PipelineOptions = PipelineOptions(),
                   reader_speed: bool = True) -> dict:
    """Benchmark every model, Keras and the pipeline; return everything as one JSON-able dict."""
    from mnist_edge.edge_runtime.backend import load_backend
    from mnist_edge.train.mnist import normalize

    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    backend = load_backend(config.backend)
    x_test, y_test, source = load_test_images(data_dir, config.quick)
    n = len(x_test) if config.test_images is None else min(config.test_images, len(x_test))
    run = Run(list(models), config, out_dir, pipeline, backend, x_test, y_test,
              normalize(x_test[:n]), y_test[:n].astype(np.int64), reader_speed)
    run.results.update({
        "schema": 1, "quick": config.quick, "config": asdict(config), "mnist": source,
        "machine": machine_info(backend.name, backend.version, command),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    })
    progress(f"{len(models)} model(s), {n} test images, backend {backend.name} {backend.version}"
             + (" (quick mode)" if config.quick else ""))
    for name, section in SECTIONS:
        run.results[name] = section(run)
    results = run.results
    results["targets"] = evaluate_targets(results["models"], results["pipeline"])
    results["tensorflow_imported_in_bench_process"] = "tensorflow" in sys.modules
    results["machine"]["load_average_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    results["duration_s"] = time.perf_counter() - started
    return results
