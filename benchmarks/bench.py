"""Model benchmarks: every TFLite variant side by side in one run, with Keras as the reference.

Per variant: accuracy on MNIST test and top-1 agreement with its float32 twin, size, interpreter init and
first inference, per-image latency (TFLite benchmark_model methodology: warm-up, then many timed
set_tensor+invoke+get_tensor runs; mean/std/p50/p90/p99), batched throughput per batch size and thread
count, and peak RSS of a fresh process that only loads and runs that model. Keras runs in its own
subprocess, so TensorFlow is never imported into this process.

Library only; `mnist-edge bench` (benchmarks/cli.py) is the command.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mnist_edge.benchmarks.common import no_gc, progress, run_probe
from mnist_edge.cli import one_line
from mnist_edge.edge_runtime.classifier import assets_dir
from mnist_edge.edge_runtime.stats import latency_stats

QUANTS = ("float32", "float16", "dynamic", "int8")


@dataclass(frozen=True)
class BenchConfig:
    threads: tuple[int, ...] = (1, 2, 4)        # interpreter threads for the throughput table
    batch_sizes: tuple[int, ...] = (1, 8, 32, 64)
    runs: int = 1000              # timed single-image invokes per variant
    warmup: int = 50              # untimed invokes before them
    test_images: int | None = None  # None: the full 10,000 MNIST test images
    min_seconds: float = 0.5      # each throughput point runs at least this long...
    min_invokes: int = 20         # ...and at least this many invokes
    throughput_rounds: int = 5    # batch sizes take turns this many times; each point is its median round
    init_repeats: int = 5         # fresh interpreters for init / first-inference times (median)
    probe_runs: int = 200         # single-image invokes in the RSS probe process
    keras: bool = True            # also time the .keras model in a TensorFlow subprocess
    keras_runs: int = 200         # timed eager model(x) calls
    keras_min_seconds: float = 1.0  # per model.predict batch size
    backend: str = "auto"         # TFLite interpreter: auto, litert, tflite-runtime, tensorflow
    quick: bool = False           # a --quick run: fewer runs and images; say so in the report


QUICK = dict(threads=(1, 2), batch_sizes=(1, 32), runs=200, warmup=20, test_images=1000, min_seconds=0.1,
             min_invokes=10, throughput_rounds=3, init_repeats=3, probe_runs=50, keras_runs=30, keras_min_seconds=0.2)


# --------------------------------------------------------------------------------------------- models

def default_models(cwd: Path | None = None) -> list[Path]:
    """Every shipped model (edge_runtime/assets/*.tflite), then ./models/*.tflite."""
    cwd = Path.cwd() if cwd is None else cwd
    found = sorted(assets_dir().glob("*.tflite")) + sorted((cwd / "models").glob("*.tflite"))
    if not found:
        raise FileNotFoundError(
            f"no models to benchmark: none shipped in {assets_dir()} and none in {cwd / 'models'}; pass "
            "--models FILE.tflite ... (make some with mnist-edge train + mnist-edge convert)")
    return found


def variant_names(paths: list[Path]) -> list[str]:
    """The file stem, or parent/stem where two models share a stem."""
    stems = [p.stem for p in paths]
    return [f"{p.parent.name}/{p.stem}" if stems.count(p.stem) > 1 else p.stem for p in paths]


def read_sidecar(path: Path) -> dict:
    """The converter's report beside the model (`<stem>.json`); {} if absent or unreadable."""
    try:
        report = json.loads(path.with_suffix(".json").read_text())
        return report if isinstance(report, dict) else {}
    except (OSError, ValueError):
        return {}


def _keras_source(sidecar: dict) -> str | None:
    source = (sidecar.get("metadata") or {}).get("source") or {}
    return source.get("keras_model") if isinstance(source, dict) else None


def split_stem(path: Path) -> tuple[str, str | None]:
    """("mlp", "int8") for mlp_int8.tflite; (stem, None) when the name carries no quantization."""
    for quant in QUANTS:
        if path.stem.endswith("_" + quant):
            return path.stem[: -len(quant) - 1], quant
    return path.stem, None


def quant_of(path: Path, sidecar: dict) -> str:
    return sidecar.get("quant") or split_stem(path)[1] or "unknown"


def same_keras_model(path: Path, sidecar: dict, other: Path, other_sidecar: dict) -> bool:
    """Converted from the same .keras file: same keras_model name in one folder, or an identical source
    record (name and training report) in another folder."""
    name = _keras_source(sidecar)
    if not name or name != _keras_source(other_sidecar):
        return False
    if path.parent.resolve() == other.parent.resolve():
        return True
    source = sidecar["metadata"]["source"]
    return "training_report" in source and source == other_sidecar["metadata"]["source"]


def float_twin(path: Path, sidecar: dict, others: list[Path] = ()) -> Path | None:
    """The float32 model converted from the same Keras model: `<stem>_float32.tflite` beside it, else a
    float32 model beside it or benchmarked with it that was converted from the same .keras file."""
    if quant_of(path, sidecar) == "float32":
        return path
    base, _ = split_stem(path)
    candidate = path.with_name(f"{base}_float32.tflite")
    if candidate.is_file():
        return candidate
    for other in [*sorted(path.parent.glob("*.tflite")), *others]:
        other_sidecar = read_sidecar(other)
        if (other.resolve() != path.resolve() and quant_of(other, other_sidecar) == "float32"
                and same_keras_model(path, sidecar, other, other_sidecar)):
            return other
    return None


def find_keras_model(path: Path, sidecar: dict, cwd: Path | None = None,
                     others: list[Path] = ()) -> tuple[Path | None, list[str]]:
    """The .keras model a variant was converted from (sidecar metadata.source.keras_model), looked up
    beside the .tflite, under ./models, then beside other benchmarked variants of the same Keras model;
    also the places looked in, for the report."""
    cwd = Path.cwd() if cwd is None else cwd
    name = _keras_source(sidecar) or f"{split_stem(path)[0]}.keras"
    if Path(name).is_absolute():
        candidates = [Path(name)]
    else:
        candidates = [path.parent / name, cwd / "models" / Path(name).name]
        for other in others:
            if same_keras_model(path, sidecar, other, read_sidecar(other)):
                candidates.append(other.parent / name)
    candidates = list(dict.fromkeys(candidates))
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve(), [str(c) for c in candidates]
    return None, [str(c) for c in candidates]


# ---------------------------------------------------------------------------------- in-process timing

def _io(interpreter) -> tuple[int, int]:
    return interpreter.get_input_details()[0]["index"], interpreter.get_output_details()[0]["index"]


def time_invokes(interpreter, inputs: list[np.ndarray], warmup: int, runs: int) -> np.ndarray:
    """Seconds per set_tensor+invoke+get_tensor, after `warmup` untimed ones; inputs are cycled."""
    inp, out = _io(interpreter)
    for i in range(warmup):
        interpreter.set_tensor(inp, inputs[i % len(inputs)])
        interpreter.invoke()
        interpreter.get_tensor(out)
    times = np.empty(runs)
    clock = time.perf_counter
    with no_gc():
        for i in range(runs):
            x = inputs[i % len(inputs)]
            start = clock()
            interpreter.set_tensor(inp, x)
            interpreter.invoke()
            interpreter.get_tensor(out)
            times[i] = clock() - start
    return times


def time_for(interpreter, inputs: list[np.ndarray], min_seconds: float, min_invokes: int) -> np.ndarray:
    """Like time_invokes, for at least `min_seconds` of timed work and `min_invokes` invokes."""
    probe = time_invokes(interpreter, inputs, warmup=3, runs=5)
    runs = max(min_invokes, int(np.ceil(min_seconds / max(float(np.median(probe)), 1e-7) * 1.1)))
    times = time_invokes(interpreter, inputs, warmup=0, runs=runs)
    while float(times.sum()) < min_seconds:  # a slow stretch of the machine; top up
        times = np.concatenate([times, time_invokes(interpreter, inputs, warmup=0, runs=max(min_invokes, runs // 4))])
    return times


def measure_init(interpreter_cls, path: Path, threads: int, first_input: np.ndarray, repeats: int) -> dict:
    """Interpreter construction + allocate_tensors, and the first invoke after it, on fresh interpreters."""
    init, first = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        interpreter = interpreter_cls(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
        allocated = time.perf_counter()
        inp, out = _io(interpreter)
        interpreter.set_tensor(inp, first_input)
        interpreter.invoke()
        interpreter.get_tensor(out)
        first.append(time.perf_counter() - allocated)
        init.append(allocated - start)
        del interpreter
    return {"init_ms": float(np.median(init)) * 1e3, "first_inference_ms": float(np.median(first)) * 1e3,
            "init_ms_all": [round(t * 1e3, 4) for t in init],
            "first_inference_ms_all": [round(t * 1e3, 4) for t in first], "repeats": repeats}


def builtin_kernel_latency(interpreter_cls, path: Path, singles: list[np.ndarray], cfg, delegated: dict) -> dict:
    """Per-image latency with TFLite's built-in kernels only (the default XNNPACK delegate off).

    Much slower than the default: XNNPACK runs the model's ops. About the same: it does not take them on
    this CPU (e.g. int8 convolutions on some CPUs), which is why int8 can be slower than float32 here.
    """
    resolver = getattr(sys.modules[interpreter_cls.__module__], "OpResolverType", None)
    if resolver is None:
        return {"error": "this interpreter cannot turn its default delegate off"}
    try:
        interpreter = interpreter_cls(model_path=str(path), num_threads=1,
                                      experimental_op_resolver_type=resolver.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interpreter.allocate_tensors()
    except (TypeError, ValueError, RuntimeError) as exc:
        return {"error": f"built-in kernels only: {one_line(exc)}"}
    runs = max(50, cfg.runs // 5)
    stats = latency_stats(time_invokes(interpreter, singles, cfg.warmup, runs), 1e6)
    return {"p50_us": stats["p50"], "p99_us": stats["p99"], "runs": runs,
            "xnnpack_speedup": stats["p50"] / delegated["p50"]}


def quantized_inputs(classifier, images: np.ndarray) -> np.ndarray:
    """Test images as the model's input tensor (shape, dtype, quantization), via the Classifier's rules."""
    meta = classifier.metadata
    x = np.asarray(images, np.float32) * 255.0 * meta.input_scale + meta.input_offset
    return classifier.input_quant.quantize(x.reshape(len(x), *classifier.input_shape))


# -------------------------------------------------------------------------------- subprocess probes

def interpreter_module(backend_name: str) -> str:
    from mnist_edge.edge_runtime.backend import BACKENDS

    return next(module for name, module, _ in BACKENDS if name == backend_name)


def baseline_rss(backend_name: str) -> dict:
    """Peak RSS of python + numpy + the interpreter module, with no model."""
    probe = run_probe("rss_probe", [interpreter_module(backend_name)], timeout=120, what="baseline process")
    return {"hwm_mb": probe["after_import"]["VmHWM"], "import_s": probe["import_s"]}


def model_rss(backend_name: str, path: Path, runs: int, batch: int) -> dict:
    """Peak RSS, init and first inference of a fresh process that loads and runs only this model."""
    probe = run_probe("rss_probe", [interpreter_module(backend_name), str(path), "1", str(runs), str(batch)],
                       timeout=120, what="loading and running it in a fresh process")
    return {"hwm_mb": probe["after_batch1"]["VmHWM"],
            "hwm_batched_mb": probe.get("after_batched", probe["after_batch1"])["VmHWM"],
            "batched_at": probe.get("batch", 1), "import_hwm_mb": probe["after_import"]["VmHWM"],
            "cold_init_ms": probe["init_ms"], "cold_first_inference_ms": probe["first_inference_ms"],
            "runs": runs}


def keras_reference(keras_path: Path, images: np.ndarray, config: BenchConfig) -> dict:
    """Keras model(x) per image and model.predict(batch), in a TensorFlow subprocess."""
    with tempfile.TemporaryDirectory(prefix="mnist-edge-bench-") as tmp:
        images_path = Path(tmp) / "images.npy"
        np.save(images_path, np.asarray(images[: max(64, max(config.batch_sizes))], np.float32))
        spec = {"model": str(keras_path), "images": str(images_path), "runs": config.keras_runs,
                "warmup": max(5, config.keras_runs // 10), "batch_sizes": list(config.batch_sizes),
                "min_seconds": config.keras_min_seconds}
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
        probe = run_probe("keras_probe", [json.dumps(spec)], timeout=600, env=env, what="Keras process")
    predict = []
    for row in probe["predict"]:
        calls = np.asarray(row["calls_s"])
        predict.append({"batch": row["batch"], "images_per_s": row["batch"] * len(calls) / float(calls.sum()),
                        "call_ms_p50": float(np.median(calls)) * 1e3, "calls": int(calls.size)})
    return {"model": str(keras_path), "eager_latency_us": latency_stats(probe["eager_s"], 1e6),
            "first_call_ms": probe["first_call_ms"], "predict": predict, "hwm_mb": probe["hwm_mb"],
            "import_s": probe["import_s"], "load_s": probe["load_s"],
            "versions": {"tensorflow": probe["tensorflow"], "keras": probe["keras"],
                         "keras_backend": probe["keras_backend"]},
            "tf_threads": {"intra_op": probe["tf_intra_op_threads"], "inter_op": probe["tf_inter_op_threads"],
                           "note": "0 = TensorFlow's default (all cores)"}}


def measure_throughput(classifier, inputs: np.ndarray, threads: int, config: BenchConfig) -> list[dict]:
    """Images/s at each batch size for one thread count.

    The batch sizes take turns in `throughput_rounds` rounds, and each point reports the median round:
    a burst of load from another process then spoils one round of one point, not the comparison.
    """
    prepared: dict[int, tuple[Any, list[np.ndarray]]] = {}
    points: dict[int, dict[str, Any]] = {}
    for batch in config.batch_sizes:
        points[batch] = {"threads": threads, "batch": batch}
        try:
            interpreter = classifier.interpreter_for(batch)
        except (ValueError, RuntimeError) as exc:  # a model converted with a fixed batch size
            points[batch]["error"] = one_line(exc)
            continue
        batches = [np.ascontiguousarray(np.resize(inputs[(i * batch) % len(inputs):], (batch, *inputs.shape[1:])))
                   for i in range(4)]
        prepared[batch] = (interpreter, batches)
    rounds = max(1, config.throughput_rounds)
    times: dict[int, list[np.ndarray]] = {batch: [] for batch in prepared}
    for _ in range(rounds):
        for batch, (interpreter, batches) in prepared.items():
            times[batch].append(time_for(interpreter, batches, config.min_seconds / rounds,
                                         max(3, config.min_invokes // rounds)))
    for batch, chunks in times.items():
        rates = [batch * t.size / float(t.sum()) for t in chunks]
        t = np.concatenate(chunks)
        points[batch].update(
            images_per_s=float(np.median(rates)), images_per_s_overall=batch * t.size / float(t.sum()),
            images_per_s_rounds=rates, image_us=1e6 / float(np.median(rates)),
            invoke_us_p50=float(np.median(t)) * 1e6, invoke_us_p99=latency_stats(t, 1e6)["p99"],
            invokes=int(t.size), seconds=float(t.sum()), rounds=rounds)
    return list(points.values())


# ------------------------------------------------------------------------------------ one variant

@dataclass
class ModelBench:
    """Benchmarks the variants of one run, sharing test images and predictions (for twin agreement)."""
    config: BenchConfig
    images: np.ndarray            # (N, 28, 28) float32 in [0, 1]
    labels: np.ndarray
    backend_name: str
    interpreter_cls: Any
    baseline_hwm_mb: float | None
    paths: list[Path] = field(default_factory=list)
    _predictions: dict[Path, np.ndarray] = field(default_factory=dict)

    def predictions(self, path: Path) -> np.ndarray:
        from mnist_edge.edge_runtime.classifier import Classifier

        key = path.resolve()
        if key not in self._predictions:
            self._predictions[key] = Classifier(path, self.config.backend).predict_raw(self.images).argmax(axis=1)
        return self._predictions[key]

    def run(self, path: Path, name: str) -> dict:
        """One variant's row; a failure anywhere becomes `error` (and whatever was measured before it)."""
        sidecar = read_sidecar(path)
        row: dict[str, Any] = {"variant": name, "path": str(path), "status": "ok",
                               "quant": quant_of(path, sidecar)}
        started = time.perf_counter()
        try:
            self._measure(path, sidecar, row)
        except Exception as exc:  # noqa: BLE001 - a failed variant is a row, not a crash
            row["status"] = "error"
            row["error"] = one_line(exc)
            progress(f"{name}: FAILED: {row['error']}")
        row["bench_s"] = time.perf_counter() - started
        return row

    def _measure(self, path: Path, sidecar: dict, row: dict) -> None:
        from mnist_edge.edge_runtime.classifier import Classifier

        cfg, name = self.config, row["variant"]
        if not path.is_file():
            raise FileNotFoundError(f"model not found: {path}")
        row["size_bytes"] = path.stat().st_size
        row["size_kb"] = row["size_bytes"] / 1024.0
        if sidecar:
            row["converter_report"] = {k: sidecar.get(k) for k in
                                       ("test_accuracy", "agreement_with_keras", "test_images", "bytes")}
        # A fresh process loads the model first: if the interpreter crashes on this file, it crashes there.
        progress(f"{name}: peak RSS in a fresh process")
        memory = model_rss(self.backend_name, path, cfg.probe_runs, max(cfg.batch_sizes))
        if self.baseline_hwm_mb is not None:
            memory["baseline_hwm_mb"] = self.baseline_hwm_mb
            memory["model_mb"] = memory["hwm_mb"] - self.baseline_hwm_mb
            memory["model_batched_mb"] = memory["hwm_batched_mb"] - self.baseline_hwm_mb
        row["memory"] = memory

        classifier = Classifier(path, cfg.backend, threads=1)
        row["input_dtype"] = str(classifier.input_dtype)
        row["dynamic_batch"] = classifier.dynamic_batch
        progress(f"{name}: accuracy on {len(self.images)} test images")
        predicted = self.predictions(path)
        row["test_images"] = int(len(self.images))
        row["accuracy"] = float(np.mean(predicted == self.labels))
        twin = float_twin(path, sidecar, self.paths)
        row["float_twin"] = None
        if twin is None:
            row["float_twin_note"] = "no float32 twin found (same stem with _float32, or same keras_model)"
        else:
            try:
                twin_predicted = self.predictions(twin)
                row["float_twin"] = str(twin)
                row["agreement_with_float"] = float(np.mean(predicted == twin_predicted))
                row["accuracy_delta_vs_float"] = row["accuracy"] - float(np.mean(twin_predicted == self.labels))
            except (ValueError, OSError, RuntimeError) as exc:
                row["float_twin_note"] = f"float32 twin {twin} failed: {one_line(exc)}"

        inputs = quantized_inputs(classifier, self.images[:256])
        singles = [np.ascontiguousarray(inputs[i:i + 1]) for i in range(len(inputs))]
        progress(f"{name}: init and first inference")
        row.update(measure_init(self.interpreter_cls, path, 1, singles[0], cfg.init_repeats))
        progress(f"{name}: per-image latency ({cfg.warmup} warm-up + {cfg.runs} timed runs)")
        times = time_invokes(classifier.interpreter_for(1), singles, cfg.warmup, cfg.runs)
        row["latency_us"] = {**latency_stats(times, 1e6), "warmup": cfg.warmup, "threads": 1, "batch": 1}
        row["builtin_kernels"] = builtin_kernel_latency(self.interpreter_cls, path, singles, cfg, row["latency_us"])

        progress(f"{name}: throughput at batch {list(cfg.batch_sizes)} × threads {list(cfg.threads)}")
        row["throughput"] = []
        for threads in cfg.threads:
            tclassifier = classifier if threads == 1 else Classifier(path, cfg.backend, threads=threads)
            row["throughput"] += measure_throughput(tclassifier, inputs, threads, cfg)
        one = [p for p in row["throughput"] if p["threads"] == 1 and "images_per_s" in p]
        if one:
            best = max(one, key=lambda p: p["images_per_s"])
            row["best_images_per_s"] = {"images_per_s": best["images_per_s"], "batch": best["batch"], "threads": 1}
        keras_path, looked = find_keras_model(path, sidecar, others=self.paths)
        row["keras_model"] = str(keras_path) if keras_path else None
        if keras_path is None:
            row["keras_note"] = "no .keras found (looked in " + ", ".join(looked) + ")"
        progress(f"{name}: done: p50 {row['latency_us']['p50']:.1f} µs, accuracy {row['accuracy']:.4f}, "
                 f"RSS {memory['hwm_mb']:.1f} MB")


def keras_comparison(row: dict, ref: dict) -> dict:
    """LiteRT vs Keras for one variant: per-image p50 ratio, and throughput ratio at each batch size."""
    comparison = {"model": ref["model"], "eager_p50_us": ref["eager_latency_us"]["p50"],
                  "eager_p99_us": ref["eager_latency_us"]["p99"], "first_call_ms": ref["first_call_ms"],
                  "hwm_mb": ref["hwm_mb"], "litert_p50_us": row["latency_us"]["p50"],
                  "speedup_eager_p50": ref["eager_latency_us"]["p50"] / row["latency_us"]["p50"], "predict": []}
    litert = {p["batch"]: p["images_per_s"] for p in row.get("throughput", [])
              if p["threads"] == 1 and "images_per_s" in p}
    for p in ref["predict"]:
        entry = {"batch": p["batch"], "keras_images_per_s": p["images_per_s"], "keras_call_ms_p50": p["call_ms_p50"]}
        if p["batch"] in litert:
            entry["litert_images_per_s"] = litert[p["batch"]]
            entry["speedup"] = litert[p["batch"]] / p["images_per_s"]
        comparison["predict"].append(entry)
    if "memory" in row:
        comparison["rss_ratio"] = ref["hwm_mb"] / row["memory"]["hwm_mb"]
    return comparison


def twin_ratios(rows: list[dict]) -> list[dict]:
    """Each quantized variant against its float32 twin: size, latency and throughput ratios."""
    by_path = {str(Path(r["path"]).resolve()): r for r in rows if r.get("status") == "ok"}
    ratios = []
    for row in rows:
        twin = by_path.get(str(Path(row["float_twin"]).resolve())) if row.get("float_twin") else None
        if row.get("status") != "ok" or twin is None or twin is row:
            continue
        entry = {"variant": row["variant"], "float": twin["variant"],
                 "size_ratio": twin["size_bytes"] / row["size_bytes"],
                 "p50_speedup": twin["latency_us"]["p50"] / row["latency_us"]["p50"],
                 "accuracy_delta": row["accuracy_delta_vs_float"], "agreement": row["agreement_with_float"]}
        if "best_images_per_s" in row and "best_images_per_s" in twin:
            entry["throughput_ratio"] = (row["best_images_per_s"]["images_per_s"]
                                         / twin["best_images_per_s"]["images_per_s"])
        if "memory" in row and "memory" in twin:
            entry["rss_ratio"] = twin["memory"]["hwm_mb"] / row["memory"]["hwm_mb"]
        ratios.append(entry)
    return ratios
