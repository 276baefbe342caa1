"""TensorFlow Lite Micro as one more backend in `mnist-edge bench`: accuracy and per-image time.

micro_rows is the "micro" entry of suite.SECTIONS; micro_table its table in report.REPORT_SECTIONS.

The times are TFLM's portable reference kernels on this machine's CPU, one image per invoke as on a
microcontroller. They are not microcontroller times (no CMSIS-NN/ESP-NN kernels, a desktop CPU and
cache); they show what the MCU build computes and how much slower reference kernels are than LiteRT.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

# Reference kernels take ~5 ms per shipped-CNN image here: 1,000 images keep a model under ~10 s.
MICRO_IMAGES = 1000
LABEL = "TFLite Micro reference kernels on this CPU (x86), not MCU time"


def micro_rows(rows: list[dict], images: np.ndarray, labels: np.ndarray, max_images: int = MICRO_IMAGES) -> list[dict]:
    """One TFLM row per int8 variant that benchmarked fine; a variant TFLM cannot run is a row with its error."""
    from mnist_edge.benchmarks.common import progress
    from mnist_edge.cli import one_line
    from mnist_edge.convert.micro import MicroRunner, check_micro_model, load_tflm, measure_arena

    try:
        load_tflm()
    except ImportError as exc:
        return [{"status": "skipped", "error": one_line(exc)}]
    from importlib.metadata import version

    from mnist_edge.edge_runtime.classifier import Classifier
    from mnist_edge.edge_runtime.stats import latency_stats

    n = min(max_images, len(images))
    results = []
    for row in rows:
        if row.get("status") != "ok" or row.get("input_dtype") != "int8":
            continue
        entry = {"variant": row["variant"], "status": "ok", "backend": f"tflite-micro {version('tflite-micro')}",
                 "note": LABEL, "test_images": n}
        try:
            path = Path(row["path"])
            model = path.read_bytes()
            check_micro_model(model, path.name)
            classifier = Classifier(path)
            x = classifier.quantize_images(images[:n])
            arena = measure_arena(model, x[:1])
            runner = MicroRunner(model, arena.tensor_arena_size)
            progress(f"{row['variant']}: TFLite Micro on {n} images (reference kernels)")
            runner.run(x[:5])  # warm-up
            times, outputs = [], []
            for image in x:
                start = time.perf_counter()
                outputs.append(runner.run(image[None])[0])
                times.append(time.perf_counter() - start)
            top = np.stack(outputs).argmax(axis=1)
            entry.update(accuracy=float(np.mean(top == labels[:n])),
                         agreement_with_litert=float(np.mean(top == classifier.run_quantized(x).argmax(axis=1))),
                         latency_us=latency_stats(times, 1e6), arena_bytes=arena.minimum_bytes)
            if "latency_us" in row:
                entry["litert_p50_us"] = row["latency_us"]["p50"]
                entry["slowdown_vs_litert_p50"] = entry["latency_us"]["p50"] / row["latency_us"]["p50"]
        except (ValueError, OSError, RuntimeError) as exc:
            entry.update(status="error", error=one_line(exc))
        results.append(entry)
    return results


def micro_table(results: dict) -> list[str]:
    """The report's TFLite Micro table (report.REPORT_SECTIONS; empty when the bench did not run it)."""
    rows = results.get("micro") or []
    if not rows:
        return []
    lines = ["## TFLite Micro (reference kernels on x86, not MCU time)", "",
             f"Each int8 variant through TensorFlow Lite Micro's interpreter, one image per invoke as on a "
             f"microcontroller, on the first {rows[0].get('test_images', MICRO_IMAGES)} test images. {LABEL}: "
             "optimized MCU kernels (CMSIS-NN, ESP-NN) and MCU clocks give other times; "
             "`mnist-edge export-micro` sizes and verifies a model for a board.", "",
             "| variant | backend | accuracy | top-1 = LiteRT | p50 µs | p99 µs | × LiteRT p50 | arena bytes |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r.get('variant', '—')} | tflite-micro | **{r['status']}:** {r.get('error')} "
                         "| — | — | — | — | — |")
            continue
        lat = r["latency_us"]
        ratio = f"{r['slowdown_vs_litert_p50']:.0f}×" if "slowdown_vs_litert_p50" in r else "—"
        lines.append(f"| {r['variant']} | {r['backend']} | {r['accuracy'] * 100:.2f}% | "
                     f"{r['agreement_with_litert'] * 100:.2f}% | {lat['p50']:,.1f} | {lat['p99']:,.1f} | {ratio} | "
                     f"{r['arena_bytes']:,} |")
    return lines


def micro_summary(results: dict) -> list[str]:
    """One stdout line per TFLM row."""
    out = []
    for r in results.get("micro") or []:
        if r.get("status") == "ok":
            out.append(f"tflite-micro {r['variant']}: {r['accuracy'] * 100:.2f}% on {r['test_images']} images, "
                       f"p50 {r['latency_us']['p50']:,.0f} µs ({LABEL})")
        else:
            out.append(f"tflite-micro {r.get('variant', '')}: {r['status']}: {r.get('error')}")
    return out
