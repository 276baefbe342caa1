"""The benchmark report: DIR/results.json (every figure), DIR/report.md (tables) and PNG plots."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from mnist_edge.benchmarks.micro_bench import micro_summary, micro_table

DASH = "—"
PLOTS = {"accuracy_vs_latency": "accuracy_vs_latency.png", "latency_vs_batch": "latency_vs_batch.png",
         "pipeline_stages": "pipeline_stages.png"}


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, non-finite floats to None (so they show up, not crash)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def results_json(results: dict) -> str:
    return json.dumps(_clean(results), indent=2, ensure_ascii=False)


def _num(value: float | None, digits: int = 1, thousands: bool = True) -> str:
    if value is None:
        return DASH
    return f"{value:,.{digits}f}" if thousands else f"{value:.{digits}f}"


def _pct(value: float | None, digits: int = 2) -> str:
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def _pp(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:+.2f} pp"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _error_row(row: dict, width: int) -> list[str]:
    size = _num(row.get("size_kb")) if row.get("size_kb") is not None else DASH
    return [row["variant"], size, f"**failed:** {row.get('error', 'unknown error')}"] + [DASH] * (width - 3)


# ------------------------------------------------------------------------------------------ tables

VARIANT_HEADER = ["variant", "size KB", "accuracy", "Δ vs float", "agree w/ float", "p50 µs", "p99 µs",
                  "img/s @batch", "RSS MB (model)"]


def variant_rows(results: dict) -> list[list[str]]:
    rows = []
    for row in results["models"]:
        if row.get("status") != "ok":
            rows.append(_error_row(row, len(VARIANT_HEADER)))
            continue
        best = row.get("best_images_per_s")
        memory = row.get("memory", {})
        rss = DASH
        if "hwm_mb" in memory:
            rss = f"{memory['hwm_mb']:.1f}" + (f" (+{memory['model_mb']:.1f})" if "model_mb" in memory else "")
        rows.append([
            row["variant"], _num(row["size_kb"]), _pct(row["accuracy"]),
            ("(float)" if row.get("float_twin") == row["path"] else _pp(row.get("accuracy_delta_vs_float")))
            if row.get("float_twin") else "no twin",
            _pct(row.get("agreement_with_float")) if row.get("float_twin") else DASH,
            _num(row["latency_us"]["p50"]), _num(row["latency_us"]["p99"]),
            f"{best['images_per_s']:,.0f} @{best['batch']}" if best else DASH, rss])
    return rows


def _throughput_section(results: dict) -> list[str]:
    config = results["config"]
    batches = list(config["batch_sizes"])
    header = ["variant", "threads"] + [f"img/s @{b}" for b in batches] + [f"@{batches[-1]} vs @{batches[0]}"]
    rows = []
    for row in results["models"]:
        if row.get("status") != "ok":
            continue
        for threads in config["threads"]:
            points = {p["batch"]: p for p in row["throughput"] if p["threads"] == threads}
            cells = []
            for b in batches:
                p = points.get(b, {})
                cells.append(f"{p['images_per_s']:,.0f}" if "images_per_s" in p else p.get("error", DASH))
            first, last = points.get(batches[0], {}), points.get(batches[-1], {})
            ratio = (f"{last['images_per_s'] / first['images_per_s']:.2f}×"
                     if "images_per_s" in first and "images_per_s" in last else DASH)
            rows.append([row["variant"], str(threads)] + cells + [ratio])
    cores = results["machine"].get("usable_cores")
    note = (f"Images per second of set_tensor+invoke+get_tensor at each batch size (one resized interpreter per "
            f"batch size), {config['min_seconds']:g} s or more per point, in {config['throughput_rounds']} rounds "
            "in which the batch sizes take turns; each figure is the median round. This machine has "
            f"{cores} usable cores; thread counts above that share them.")
    return ["## Batch size × threads", "", note, ""] + _table(header, rows)


def _startup_section(results: dict) -> list[str]:
    header = ["variant", "init ms", "first inference ms", "cold init ms", "cold first inference ms",
              "RSS MB batch 1", f"RSS MB batch {max(results['config']['batch_sizes'])}", "model's own MB"]
    rows = []
    for row in results["models"]:
        if row.get("status") != "ok":
            continue
        m = row.get("memory", {})
        rows.append([row["variant"], _num(row["init_ms"], 3), _num(row["first_inference_ms"], 3),
                     _num(m.get("cold_init_ms"), 3), _num(m.get("cold_first_inference_ms"), 3),
                     _num(m.get("hwm_mb")), _num(m.get("hwm_batched_mb")), _num(m.get("model_mb"))])
    baseline = results.get("baseline_rss", {})
    base = (f"{baseline['hwm_mb']:.1f} MB" if "hwm_mb" in baseline else f"not measured ({baseline.get('error')})")
    return ["## Start-up and memory", "",
            "init = interpreter construction + allocate_tensors; first inference = the first invoke after it "
            f"(medians of {results['config']['init_repeats']} fresh interpreters in this process). *Cold* = the same "
            "in a fresh process that imports only numpy and the interpreter, whose peak RSS (VmHWM) is the RSS "
            f"column; baseline (python + numpy + interpreter import, no model): {base}.", ""] + _table(header, rows)


def _keras_section(results: dict) -> list[str]:
    lines = ["## LiteRT vs Keras (same model, same machine)", ""]
    if not results["config"].get("keras"):
        return lines + ["Keras reference skipped (--no-keras)."]
    batches = list(results["config"]["batch_sizes"])
    big = batches[-1]
    header = ["variant", "Keras model(x) p50 µs", "LiteRT p50 µs", "speedup", f"Keras predict img/s @{big}",
              f"LiteRT img/s @{big}", "ratio", "Keras RSS MB", "LiteRT RSS MB"]
    rows = []
    for row in results["models"]:
        if row.get("status") != "ok":
            continue
        keras = row.get("keras")
        if keras is None:
            rows.append([row["variant"], row.get("keras_note", "no Keras reference")] + [DASH] * 7)
            continue
        if "error" in keras:
            rows.append([row["variant"], f"**failed:** {keras['error']}"] + [DASH] * 7)
            continue
        at_big = next((p for p in keras["predict"] if p["batch"] == big), {})
        rows.append([row["variant"], _num(keras["eager_p50_us"]), _num(keras["litert_p50_us"]),
                     f"{keras['speedup_eager_p50']:,.0f}×", _num(at_big.get("keras_images_per_s"), 0),
                     _num(at_big.get("litert_images_per_s"), 0),
                     f"{at_big['speedup']:,.1f}×" if "speedup" in at_big else DASH,
                     _num(keras["hwm_mb"]), _num(row["memory"]["hwm_mb"])])
    versions = next((r["versions"] for r in results["keras"].values() if "versions" in r), None)
    lines += [("Keras runs in its own process" + (f" (TensorFlow {versions['tensorflow']}, Keras {versions['keras']},"
                                                  " default threading: all cores)" if versions else "")
               + ": eager `model(x)` on one image per call, and `model.predict(batch)`. LiteRT: 1 thread."), ""]
    lines += _table(header, rows)
    predict_rows = []
    for path, ref in results["keras"].items():
        if "predict" in ref:
            predict_rows.append([Path(path).name, _num(ref["first_call_ms"], 1)]
                                + [f"{p['images_per_s']:,.0f}" for p in ref["predict"]])
    if predict_rows:
        lines += ["", "Keras alone:", ""]
        lines += _table(["keras model", "first call ms"] + [f"predict img/s @{b}" for b in batches], predict_rows)
    return lines


def _ratio_section(results: dict) -> list[str]:
    rows = [[r["variant"], r["float"], f"{r['size_ratio']:.2f}×", f"{r['p50_speedup']:.2f}×",
             f"{r['throughput_ratio']:.2f}×" if "throughput_ratio" in r else DASH,
             f"{r['rss_ratio']:.2f}×" if "rss_ratio" in r else DASH, _pp(r["accuracy_delta"]), _pct(r["agreement"])]
            for r in results.get("ratios", [])]
    if not rows:
        return []
    return ["## Quantized vs float32 twin", "",
            "Ratios > 1 favour the quantized variant. Size and accuracy carry across machines; speed does not: "
            "whether int8 beats float32 depends on the CPU's int8 instructions and on whether XNNPACK takes the "
            "int8 graph (next section).", ""] + _table(
        ["variant", "float twin", "smaller", "p50 faster", "best img/s", "RSS smaller", "Δ accuracy", "agreement"],
        rows)


def _kernel_section(results: dict) -> list[str]:
    rows = []
    for r in results["models"]:
        k = r.get("builtin_kernels")
        if r.get("status") != "ok" or not k:
            continue
        if "error" in k:
            rows.append([r["variant"], _num(r["latency_us"]["p50"], 1), k["error"], DASH])
        else:
            rows.append([r["variant"], _num(r["latency_us"]["p50"], 1), _num(k["p50_us"], 1),
                         f"{k['xnnpack_speedup']:.2f}×"])
    if not rows:
        return []
    return ["## XNNPACK delegate", "",
            "Per-image p50 with the interpreter's default XNNPACK delegate and with TFLite's built-in kernels only "
            "(`experimental_op_resolver_type=BUILTIN_WITHOUT_DEFAULT_DELEGATES`). A speed-up near 1× means XNNPACK "
            "does not run that model's ops on this CPU.", ""] + _table(
        ["variant", "p50 µs (default)", "p50 µs (built-in kernels)", "XNNPACK speed-up"], rows)


def _decode_note(p: dict) -> str:
    colour = p.get("decode_colour_ms")
    if not p.get("decode_gray"):
        return "Decode: OpenCV's BGR frames."
    return ("Decode: Motion-JPEG straight to gray, as `mnist-edge run` reads video when it draws nothing"
            + (f" (in colour, as --save/--serve need: p50 {colour['p50']:.3f} ms)." if colour else "."))


def _pipeline_section(results: dict) -> list[str]:
    p = results.get("pipeline")
    lines = ["## Pipeline (camera frame → numbers)", ""]
    if p is None:
        return lines + ["Skipped (--no-pipeline)."]
    if p.get("status") != "ok":
        return lines + [f"**Failed:** {p.get('error')} (model {p.get('model')})"]
    clip, modes = p["clip"], p["modes"]
    lines.append(f"DigitReader with `{Path(p['model']).name}` on a {clip['width']}×{clip['height']} Motion-JPEG clip "
                 f"of {clip['frames']} frames ({clip['digits_per_frame_truth']['min']}-"
                 f"{clip['digits_per_frame_truth']['max']} digits, mean {clip['digits_per_frame_truth']['mean']:.1f}; "
                 f"camera_synth seed {clip['seed']}), cv2.setNumThreads({p['cv2_threads']}), interpreter threads "
                 f"{p['interpreter_threads']}, {modes['batched']['passes']} passes per mode, alternating. "
                 "frames/s = frames / (decode + process time); without decode: what a camera that delivers raw frames "
                 "would allow. " + _decode_note(p))
    lines.append("")
    stage_names = list(modes["batched"]["stages_ms"])  # in pipeline order, "total" last
    header = ["inference", "frames/s", "frames/s without decode", "candidates/frame"] + [
        f"{s} p50/p99 ms" for s in stage_names]
    rows = []
    for mode in ("batched", "per_digit"):
        m = modes[mode]
        stages = [f"{m['stages_ms'][s]['p50']:.3f} / {m['stages_ms'][s]['p99']:.3f}" for s in stage_names]
        rows.append([mode.replace("_", " "), _num(m["frames_per_s"]), _num(m["frames_per_s_without_decode"]),
                     f"{m['digits_per_frame']:.2f}"] + stages)
    lines += _table(header, rows)
    lines += ["", f"Batched inference is {modes['batched_speedup_inference']:.2f}× faster per frame than one "
              f"inference per digit ({modes['batched_speedup_fps']:.2f}× in frames/s); same digits: "
              f"{'yes' if modes['batched_same_digits_as_per_digit'] else 'NO'}."]
    if "cold_start" in p:
        cold, run = p["cold_start"], p["clip_run"]
        lines += ["", f"Cold start (`{cold['command']}`, launch → first JSON line): median {cold['median_s']:.3f} s, "
                  f"min {cold['min_s']:.3f} s over {len(cold['runs_s'])} runs; peak RSS {cold['rss_mb']:.1f} MB. "
                  f"A whole-clip run ({run['frames']} frames): {run['wall_s']:.2f} s wall incl. start-up, "
                  f"peak RSS {run['rss_mb']:.1f} MB."]
    else:
        lines += ["", f"Cold start **failed:** {p.get('cold_start_error')}"]
    return lines


def _targets_section(results: dict) -> list[str]:
    targets = results.get("targets", [])
    rows = [[t["target"], t.get("what", DASH), f"{t['value']:,.2f} {t['unit']}", "yes" if t["met"] else "**NO**"]
            for t in targets]
    if not rows:
        return []
    reference = targets[0].get("reference", "the committed run's machine")
    return ["## Targets", "",
            f"References for {reference}: a slower CPU (a Raspberry Pi, an older laptop) may miss them without "
            "anything being wrong; compare the ratios below instead.", ""] + _table(
        ["target", "what it measures", "measured", "met"], rows)


def _quick_banner(results: dict) -> list[str]:
    if not results.get("quick"):
        return []
    c = results["config"]
    p = (results.get("pipeline") or {}).get("config", {})
    return [f"> **Quick mode (`--quick`): every figure below is a real measurement, but from less work** — accuracy "
            f"and agreement on the first {c['test_images']} test images; {c['runs']} timed single-image runs; "
            f"threads {c['threads']} × batches {c['batch_sizes']} at ≥ {c['min_seconds']:g} s each; "
            f"{c['keras_runs']} Keras calls; pipeline {p.get('frames', DASH)} frames for "
            f"≥ {p.get('min_seconds', DASH)} s, "
            f"{p.get('cold_runs', DASH)} cold starts. Run without `--quick` for reference numbers.", ""]


def _reader_speed_section(results: dict) -> list[str]:
    rs = results.get("reader_speed")
    if not rs:  # --no-reader-speed
        return []
    if "error" in rs:
        return ["## Reader speed: DigitReader vs the classical baseline", "", f"Failed: {rs['error']}"]
    from mnist_edge.benchmarks.reader_speed import markdown as reader_speed_markdown

    return reader_speed_markdown(rs)


# The report's tables after the variants, in order; a new benchmark section adds its table here.
REPORT_SECTIONS = (_ratio_section, _kernel_section, _throughput_section, _startup_section, _keras_section,
                   micro_table, _pipeline_section, _reader_speed_section)


def markdown(results: dict, plots: dict[str, str] | None = None) -> str:
    m = results["machine"]
    lines = ["# mnist-edge benchmark" + (" (quick mode)" if results.get("quick") else ""), ""]
    lines += _quick_banner(results)
    load = m.get("load_average_start")
    cpu = m.get("cpu") or {}
    ident = ", ".join(f"{k} {v}" for k, v in cpu.get("id", {}).items())
    simd = " ".join(cpu.get("simd", []))
    cpu_text = m["cpu_model"] + (f" ({ident}; {simd or 'no listed SIMD flags'})" if cpu else "")
    lines += [f"`{m['command']}` — {results['started']}, {results['duration_s']:.1f} s", "",
              f"{cpu_text}, {m['cores']} cores ({m['machine']}), Python {m['python']}, numpy {m['numpy']}, "
              f"OpenCV {m['opencv']}, {m['interpreter_backend']} {m['interpreter_version']}"
              + (f", TensorFlow {m['tensorflow']} / Keras {m['keras']} (reference only)" if m.get("tensorflow") else "")
              + (f". Load average at start {load[0]:.2f}" if load else "") + ".", ""]
    lines += _targets_section(results) + [""]
    c = results["config"]
    lines += ["## Variants", "",
              f"Accuracy on {next((r['test_images'] for r in results['models'] if 'test_images' in r), DASH)} MNIST "
              f"test images; Δ and agreement against the float32 twin (same Keras model). Latency: one image, "
              f"1 thread, {c['warmup']} warm-up + {c['runs']} timed set_tensor+invoke+get_tensor. img/s: the best "
              "batch size at 1 thread. RSS: peak of a fresh process running only that model (in brackets: above "
              "the no-model baseline).", ""]
    lines += _table(VARIANT_HEADER, variant_rows(results)) + [""]
    for section in REPORT_SECTIONS:
        table = section(results)
        if table:  # a section that did not run (e.g. TFLite Micro without the micro extra) has no table
            lines += table + [""]
    if plots:
        lines += ["## Plots", ""]
        for name, path in plots.items():
            lines += [f"![{name}]({Path(path).name})" if not path.startswith("error") else f"{name}: {path}", ""]
    return "\n".join(lines).rstrip() + "\n"


def summary_text(results: dict) -> str:
    """The human table for stdout: variants, then targets and the pipeline in one line each."""
    lines = _table(VARIANT_HEADER, variant_rows(results))
    lines += micro_summary(results)
    p = results.get("pipeline")
    if p and p.get("status") == "ok":
        b = p["modes"]["batched"]
        cold = p.get("cold_start", {})
        lines.append(f"pipeline: {b['frames_per_s']:,.0f} frames/s batched "
                     f"({p['modes']['per_digit']['frames_per_s']:,.0f} per digit)"
                     + (f", cold start {cold['median_s']:.2f} s, RSS {p['rss_mb']:.0f} MB" if cold else ""))
    elif p:
        lines.append(f"pipeline: failed: {p.get('error')}")
    for t in results.get("targets", []):
        lines.append(f"target {'met' if t['met'] else 'NOT met'}: {t['target']}: {t['value']:,.2f} {t['unit']} — "
                     f"{t.get('what', '')}; a reference for {t.get('reference', 'the committed run')}, "
                     "not a pass/fail elsewhere")
    if results.get("quick"):
        lines.append("(quick mode: fewer runs and test images; see report.md)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- plots

QUANT_MARKERS = {"float32": "o", "float16": "s", "dynamic": "^", "int8": "D"}


def _plot_accuracy_vs_latency(results: dict, path: Path, plt) -> None:
    fig, ax = plt.subplots(figsize=(8.5, 4.8))
    families: dict[str, str] = {}
    palette = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for row in results["models"]:
        if row.get("status") != "ok":
            continue
        family = row["variant"].rsplit("/", 1)[-1].rsplit("_", 1)[0]
        color = families.setdefault(family, palette[len(families) % len(palette)])
        lat = row["latency_us"]
        ax.errorbar([lat["p50"]], [row["accuracy"] * 100], xerr=[[0], [lat["p99"] - lat["p50"]]],
                    fmt=QUANT_MARKERS.get(row["quant"], "x"), color=color, markersize=8, capsize=3,
                    elinewidth=0.8, alpha=0.9, label=f"{row['variant']}")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.margins(x=0.1, y=0.15)
    ax.set_xlabel("per-image latency p50, µs (bar to p99), 1 thread, log scale")
    ax.set_ylabel("MNIST test accuracy, %")
    ax.set_title("Accuracy vs latency (colour: model, marker: quantization)"
                 + (" (quick mode)" if results.get("quick") else ""))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_latency_vs_batch(results: dict, path: Path, plt) -> None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for row in results["models"]:
        if row.get("status") != "ok":
            continue
        points = sorted((p["batch"], p["image_us"], p["invoke_us_p50"]) for p in row["throughput"]
                        if p["threads"] == 1 and "image_us" in p)
        if not points:
            continue
        batches, per_image, per_invoke = zip(*points)
        left.plot(batches, per_image, marker="o", label=row["variant"])
        right.plot(batches, per_invoke, marker="o", label=row["variant"])
    batches = sorted({p["batch"] for row in results["models"] for p in row.get("throughput", [])})
    for ax, label in ((left, "µs per image (1e6 / img/s)"), (right, "µs per invoke (p50)")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.minorticks_off()
        ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("batch size")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    left.set_title("Per-image cost vs batch size (1 thread)")
    right.set_title("Latency of one batch (1 thread)")
    left.legend(fontsize=8)
    if results.get("quick"):
        fig.suptitle("quick mode")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_pipeline(results: dict, path: Path, plt) -> None:
    p = results["pipeline"]
    modes = [m for m in ("batched", "per_digit") if m in p["modes"]]
    stages = [s for s in p["modes"][modes[0]]["stages_ms"] if s != "total"]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    colors = ("#8da0cb", "#fc8d62", "#ffd92f", "#66c2a5", "#e78ac3", "#a6d854")
    for y, mode in enumerate(modes):
        left = 0.0
        for stage, color in zip(stages, colors):
            width = p["modes"][mode]["stages_ms"][stage]["mean"]
            ax.barh(y, width, left=left, color=color, label=stage if y == 0 else None)
            left += width
        ax.text(left, y, f"  {p['modes'][mode]['frames_per_s']:,.0f} frames/s", va="center", fontsize=9)
    ax.set_yticks(range(len(modes)), [m.replace("_", " ") for m in modes])
    ax.set_xlabel("mean ms per frame")
    ax.set_xlim(0, ax.get_xlim()[1] * 1.3)
    ax.set_ylim(-0.6, len(modes) - 0.4)
    ax.set_title("Pipeline stages per frame, 1 thread" + (" (quick mode)" if results.get("quick") else ""))
    ax.legend(ncol=len(stages), fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_plots(results: dict, out_dir: Path) -> dict[str, str]:
    """PNG plots in out_dir; name → path, or name → "error: ..." for a plot that could not be drawn."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return {name: "error: matplotlib is not installed (pip install 'mnist-edge[bench]')" for name in PLOTS}
    plots: dict[str, str] = {}
    makers = {"accuracy_vs_latency": _plot_accuracy_vs_latency, "latency_vs_batch": _plot_latency_vs_batch}
    if (results.get("pipeline") or {}).get("status") == "ok":
        makers["pipeline_stages"] = _plot_pipeline
    for name, maker in makers.items():
        path = out_dir / PLOTS[name]
        try:
            maker(results, path, plt)
            plots[name] = str(path)
        except Exception as exc:  # noqa: BLE001 - a plot is not worth losing the report
            plt.close("all")
            plots[name] = f"error: {type(exc).__name__}: {exc}"
    return plots


def write_report(results: dict, out_dir: Path) -> dict[str, Path]:
    """Write plots, results.json and report.md to out_dir; their paths by name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    results["plots"] = write_plots(results, out_dir)
    json_path, md_path = out_dir / "results.json", out_dir / "report.md"
    json_path.write_text(results_json(results) + "\n")
    md_path.write_text(markdown(results, results["plots"]))
    return {"results": json_path, "report": md_path}
