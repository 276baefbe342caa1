"""`mnist-edge bench`: one real --quick run on tiny models (plus a corrupt one), checked for completeness.

No speed is asserted: only that every figure was measured (positive, finite, in range) and reported.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from mnist_edge.benchmarks.machine import SIMD_FLAGS
from conftest import assert_one_line_error, run_cli

VARIANTS = ("mlp_int8", "mlp_float32")
LATENCY_FIELDS = ("mean", "std", "min", "p50", "p90", "p99", "max")


@pytest.fixture(scope="module")
def tiny_models(mnist, tf, tmp_path_factory) -> Path:
    """An MLP trained for one short epoch, converted to float32 and int8, and a corrupt .tflite."""
    from mnist_edge.convert.converter import convert_and_verify
    from mnist_edge.train.trainer import TrainConfig, train

    out = tmp_path_factory.mktemp("bench_models")
    train(TrainConfig(arch="mlp", epochs=1, batch_size=64, seed=0, limit=2000, augment=False), mnist, out,
          verbose=0)
    convert_and_verify(out / "mlp.keras", ["float32", "int8"], out, mnist.x_train, mnist.y_train,
                       mnist.x_test[:500], mnist.y_test[:500], calibration_samples=100)
    (out / "corrupt.tflite").write_bytes(b"this is not a flatbuffer" * 40)
    return out


@pytest.fixture(scope="module")
def bench_run(tiny_models, mnist_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_out")
    models = [str(tiny_models / f"{v}.tflite") for v in VARIANTS] + [str(tiny_models / "corrupt.tflite")]
    result = run_cli("bench", "--quick", "--models", *models, "--out", str(out), "--data-dir", str(mnist_path),
                     "--pipeline-frames", "4", timeout=300)
    assert (out / "results.json").is_file(), result.stdout + result.stderr
    return result, out, json.loads((out / "results.json").read_text())


def positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def test_failing_variant_is_a_row_and_the_exit_code_says_so(bench_run):
    result, out, results = bench_run
    assert result.returncode == 3, result.stderr  # documented: report written, a variant failed
    assert "Traceback" not in result.stderr, result.stderr
    assert "corrupt" in result.stderr.splitlines()[-1]
    row = next(r for r in results["models"] if r["variant"] == "corrupt")
    assert row["status"] == "error" and row["error"]
    report = (out / "report.md").read_text()
    assert any(line.startswith("| corrupt |") and "failed" in line for line in report.splitlines())


def test_stdout_has_the_table_and_stderr_the_progress(bench_run):
    result, _, _ = bench_run
    assert result.stdout.startswith("| variant | size KB | accuracy |"), result.stdout
    for variant in VARIANTS:
        assert f"| {variant} |" in result.stdout
    assert "bench: mlp_int8: done" in result.stderr


def test_report_has_every_table_and_a_row_per_variant(bench_run):
    _, out, _ = bench_run
    report = (out / "report.md").read_text()
    assert ("| variant | size KB | accuracy | Δ vs float | agree w/ float | p50 µs | p99 µs | img/s @batch | RSS MB"
            in report)
    for section in ("## Targets", "## Variants", "## Quantized vs float32 twin", "## XNNPACK delegate",
                    "## Batch size × threads", "## Start-up and memory", "## LiteRT vs Keras", "## Pipeline",
                    "## Reader speed: DigitReader vs the classical baseline", "DigitReader / baseline:"):
        assert section in report, section
    assert "Quick mode" in report
    lines = report.splitlines()
    for variant in VARIANTS:
        # variants, batch × threads (2 thread counts), start-up, Keras
        assert sum(line.startswith(f"| {variant} |") for line in lines) >= 5, variant
    assert any(line.startswith("| batched |") for line in lines)
    assert any(line.startswith("| per digit |") for line in lines)


def test_every_model_figure_is_a_real_measurement(bench_run):
    _, _, results = bench_run
    config = results["config"]
    rows = {r["variant"]: r for r in results["models"]}
    for variant in VARIANTS:
        row = rows[variant]
        assert row["status"] == "ok", row
        assert positive(row["size_bytes"]) and positive(row["size_kb"])
        assert 0 < row["accuracy"] <= 1 and row["test_images"] == 1000
        assert 0 < row["agreement_with_float"] <= 1 and math.isfinite(row["accuracy_delta_vs_float"])
        assert row["float_twin"].endswith("mlp_float32.tflite")
        assert positive(row["init_ms"]) and positive(row["first_inference_ms"])
        lat = row["latency_us"]
        assert all(positive(lat[k]) for k in LATENCY_FIELDS if k != "std") and lat["std"] >= 0
        assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
        assert lat["runs"] == config["runs"]
        kernels = row["builtin_kernels"]  # LiteRT and tflite-runtime can both switch XNNPACK off
        assert positive(kernels["p50_us"]) and kernels["p99_us"] >= kernels["p50_us"], kernels
        assert kernels["xnnpack_speedup"] == pytest.approx(kernels["p50_us"] / lat["p50"])
        points = {(p["threads"], p["batch"]): p for p in row["throughput"]}
        assert set(points) == {(t, b) for t in config["threads"] for b in config["batch_sizes"]}
        for p in points.values():
            assert positive(p["images_per_s"]) and positive(p["invoke_us_p50"]) and p["invokes"] >= 10, p
        memory = row["memory"]
        for key in ("hwm_mb", "hwm_batched_mb", "baseline_hwm_mb", "cold_init_ms", "cold_first_inference_ms"):
            assert positive(memory[key]), (key, memory)
        keras = row["keras"]
        assert positive(keras["eager_p50_us"]) and positive(keras["speedup_eager_p50"]) and positive(keras["hwm_mb"])
        assert all(positive(p["keras_images_per_s"]) and positive(p["speedup"]) for p in keras["predict"])
    ratio = next(r for r in results["ratios"] if r["variant"] == "mlp_int8")
    assert ratio["float"] == "mlp_float32" and positive(ratio["size_ratio"]) and positive(ratio["p50_speedup"])
    assert results["tensorflow_imported_in_bench_process"] is False


def test_pipeline_figures(bench_run):
    _, _, results = bench_run
    pipeline = results["pipeline"]
    assert pipeline["status"] == "ok", pipeline
    assert pipeline["cv2_threads"] == 1 and pipeline["clip"]["width"] == 640 and pipeline["clip"]["height"] == 480
    truth = pipeline["clip"]["digits_per_frame_truth"]
    assert 1 <= truth["min"] <= truth["max"] <= 6
    for mode in ("batched", "per_digit"):
        m = pipeline["modes"][mode]
        assert positive(m["frames_per_s"]) and m["frames"] >= 4
        assert list(m["stages_ms"]) == ["decode", "detect", "preprocess", "inference", "postprocess", "total"]
        for stage in ("decode", "detect", "preprocess", "total"):
            assert positive(m["stages_ms"][stage]["p50"]) and positive(m["stages_ms"][stage]["p99"]), stage
        for stage in ("inference", "postprocess"):
            assert m["stages_ms"][stage]["p99"] >= m["stages_ms"][stage]["p50"] >= 0
    assert positive(pipeline["cold_start"]["median_s"]) and positive(pipeline["rss_mb"])
    assert pipeline["clip_run"]["frames"] == 4
    assert {t["target"].split(" ")[0] for t in results["targets"]} >= {"pipeline", "cold"}


def test_machine_info_and_no_placeholders(bench_run):
    _, _, results = bench_run
    machine = results["machine"]
    for key in ("cpu_model", "python", "numpy", "opencv", "interpreter_backend", "interpreter_version",
                "tensorflow", "keras"):
        assert isinstance(machine[key], str) and machine[key], key
    assert positive(machine["cores"]) and "bench --quick --models" in machine["command"]
    if Path("/proc/cpuinfo").is_file():  # the CPU's SIMD flags explain int8-vs-float results
        assert machine["cpu"]["simd"] and set(machine["cpu"]["simd"]) <= set(SIMD_FLAGS)
    assert results["quick"] is True and results["config"]["test_images"] == 1000

    def walk(value, where):  # a None/NaN inside a measured section is a placeholder, not a measurement
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")
        else:
            assert value is not None and not (isinstance(value, float) and not math.isfinite(value)), where
    for row in results["models"]:
        if row["status"] == "ok":
            walk({k: row[k] for k in ("latency_us", "builtin_kernels", "throughput", "memory", "keras")},
                 row["variant"])
    walk(results["pipeline"], "pipeline")


def test_plots_are_valid_pngs(bench_run):
    import cv2

    _, out, results = bench_run
    for name in ("accuracy_vs_latency", "latency_vs_batch", "pipeline_stages"):
        path = out / f"{name}.png"
        assert results["plots"][name] == str(path)
        image = cv2.imread(str(path))
        assert image is not None and image.shape[0] > 100 and image.shape[1] > 100, name


def test_json_flag_prints_results_json(tiny_models, mnist_path, tmp_path):
    result = run_cli("bench", "--quick", "--no-keras", "--no-pipeline", "--no-reader-speed", "--models",
                     str(tiny_models / "mlp_int8.tflite"), "--runs", "20", "--threads", "1", "--batch-sizes", "1",
                     "2", "--out", str(tmp_path), "--data-dir", str(mnist_path), "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == json.loads((tmp_path / "results.json").read_text())
    assert printed["pipeline"] is None and printed["keras"] == {} and "keras" not in printed["models"][0]
    assert printed["reader_speed"] is None
    assert "Skipped (--no-pipeline)" in (tmp_path / "report.md").read_text()


def test_missing_mnist_is_one_clear_line(tiny_models, tmp_path):
    result = run_cli("bench", "--quick", "--models", str(tiny_models / "mlp_int8.tflite"), "--out",
                     str(tmp_path), "--data-dir", str(tmp_path / "no-mnist-here"), timeout=60)
    assert_one_line_error(result, "no-mnist-here")


def test_twin_and_keras_lookup(tmp_path):
    from mnist_edge.benchmarks.bench import find_keras_model, float_twin, read_sidecar, variant_names

    def model(name: str, quant: str, keras_model: str, folder: Path = tmp_path, seed: int = 0) -> Path:
        path = folder / f"{name}.tflite"
        path.write_bytes(b"x")
        path.with_suffix(".json").write_text(json.dumps({"quant": quant, "metadata": {"source": {
            "keras_model": keras_model, "training_report": {"seed": seed}}}}))
        return path

    int8 = model("digits_int8", "int8", "digits.keras")
    oddly_named = model("reference", "float32", "digits.keras")
    assert float_twin(int8, read_sidecar(int8)) == oddly_named  # found through the sidecar
    plain = model("plain_int8", "int8", "plain.keras")
    twin = model("plain_float32", "float32", "plain.keras")
    assert float_twin(plain, read_sidecar(plain)) == twin and float_twin(twin, read_sidecar(twin)) == twin
    keras_path, looked = find_keras_model(plain, read_sidecar(plain), cwd=tmp_path)
    assert keras_path is None and str(tmp_path / "plain.keras") in looked
    (tmp_path / "plain.keras").write_bytes(b"k")
    assert find_keras_model(plain, read_sidecar(plain), cwd=tmp_path)[0] == (tmp_path / "plain.keras").resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shipped = model("shipped_int8", "int8", "plain.keras", folder=elsewhere)  # a copy, as in edge_runtime/assets
    assert float_twin(shipped, read_sidecar(shipped)) is None
    assert float_twin(shipped, read_sidecar(shipped), [twin]) == twin  # same source record
    found, _ = find_keras_model(shipped, read_sidecar(shipped), cwd=elsewhere, others=[twin])
    assert found == (tmp_path / "plain.keras").resolve()
    retrained = model("other_int8", "int8", "plain.keras", folder=elsewhere, seed=1)  # same name, other model
    assert float_twin(retrained, read_sidecar(retrained), [twin]) is None
    assert variant_names([Path("a/m.tflite"), Path("b/m.tflite"), Path("a/n.tflite")]) == ["a/m", "b/m", "n"]


def test_tflite_micro_is_one_more_backend_row(bench_run):
    pytest.importorskip("tflite_micro", reason="needs TensorFlow Lite Micro: pip install '.[micro]'")
    _, out, results = bench_run
    rows = {r["variant"]: r for r in results["micro"]}
    assert set(rows) == {"mlp_int8"}  # int8 variants only; the float twin and the corrupt file are not rows
    row = rows["mlp_int8"]
    assert row["status"] == "ok" and row["test_images"] == 200 and row["backend"].startswith("tflite-micro ")
    litert = next(r for r in results["models"] if r["variant"] == "mlp_int8")
    assert 0 < row["accuracy"] <= 1 and row["agreement_with_litert"] == 1.0
    assert positive(row["latency_us"]["p50"]) and positive(row["arena_bytes"])
    assert row["slowdown_vs_litert_p50"] == pytest.approx(row["latency_us"]["p50"] / litert["latency_us"]["p50"])
    report = (out / "report.md").read_text()
    assert "## TFLite Micro (reference kernels on x86, not MCU time)" in report
    assert any(line.startswith("| mlp_int8 | tflite-micro") for line in report.splitlines())
