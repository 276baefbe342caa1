import json

import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def tiny_cnn(mnist, tf, tmp_path_factory):
    """A CNN trained for one short epoch: enough to convert and compare, not to be accurate."""
    from mnist_edge.train.trainer import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny")
    train(TrainConfig(arch="cnn", epochs=1, batch_size=64, seed=0, limit=2000, augment=False), mnist, out,
          verbose=0)
    return out / "cnn.keras"


@pytest.fixture(scope="module")
def converted(tiny_cnn, mnist, tmp_path_factory):
    from mnist_edge.convert.converter import convert_and_verify

    out = tmp_path_factory.mktemp("converted")
    subset = slice(0, 1000)
    reports = convert_and_verify(tiny_cnn, ["float32", "float16", "dynamic", "int8"], out,
                                 mnist.x_train, mnist.y_train, mnist.x_test[subset], mnist.y_test[subset],
                                 calibration_samples=200)
    return out, {r["quant"]: r for r in reports}


@pytest.mark.parametrize("quant,io_dtype", [("float32", "float32"), ("float16", "float32"),
                                            ("dynamic", "float32"), ("int8", "int8")])
def test_each_variant_loads_with_expected_dtypes(converted, quant, io_dtype):
    from mnist_edge.edge_runtime.classifier import Classifier

    out, reports = converted
    report = reports[quant]
    assert "error" not in report, report
    path = out / f"cnn_{quant}.tflite"
    assert path.stat().st_size == report["bytes"]
    assert report["input"]["dtype"] == io_dtype and report["output"]["dtype"] == io_dtype
    assert report["input"]["shape_signature"] == [-1, 28, 28]
    classifier = Classifier(path)
    assert classifier.input_dtype == np.dtype(io_dtype)
    saved = json.loads((out / f"cnn_{quant}.json").read_text())
    for key in ("bytes", "test_accuracy", "agreement_with_keras", "max_abs_logit_diff", "input", "output",
                "ops", "converter", "versions", "metadata"):
        assert key in saved, key
    assert saved["metadata"]["normalization"]["scale"] == pytest.approx(1 / 255)


def test_float_variants_match_keras(converted):
    _, reports = converted
    assert reports["float32"]["agreement_with_keras"] >= 0.999
    assert reports["float32"]["max_abs_logit_diff"] < 1e-3
    assert reports["float16"]["agreement_with_keras"] >= 0.99


def test_int8_is_full_integer(converted):
    _, reports = converted
    report = reports["int8"]
    assert report["input"]["quantization"]["scale"] > 0 and report["output"]["quantization"]["scale"] > 0
    assert not {"QUANTIZE", "DEQUANTIZE"} & set(report["ops"]), report["ops"]
    # One XNNPACK partition: no dynamic-shape ops around the reshapes (see train.models.StaticReshape).
    assert set(report["ops"]) == {"CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED"}, report["ops"]
    assert report["converter"]["calibration"] == {"samples": 200, "split": "train", "balanced": True, "seed": 0}
    assert report["agreement_with_keras"] >= 0.97
    assert report["bytes"] < 0.4 * reports["float32"]["bytes"]


@pytest.mark.parametrize("quant", ["float32", "int8"])
def test_batched_equals_per_image(converted, mnist, quant):
    from mnist_edge.edge_runtime.classifier import Classifier
    from mnist_edge.train.mnist import normalize

    out, _ = converted
    classifier = Classifier(out / f"cnn_{quant}.tflite")
    images = normalize(mnist.x_test[:75])  # 64 + a padded 11
    batched = classifier.predict_raw(images)
    single = np.concatenate([classifier.predict_raw(image[None]) for image in images])
    assert np.allclose(batched, single, atol=1e-5), np.abs(batched - single).max()
    assert np.array_equal(batched.argmax(1), single.argmax(1))


def test_cli_convert_prints_table(tiny_cnn, mnist_path, tmp_path):
    result = run_cli("convert", str(tiny_cnn), "--quant", "float32", "int8", "--calibration-samples", "100",
                     "--data-dir", str(mnist_path), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["variant", "size", "accuracy", "agreement"]
    assert [line.split()[0] for line in lines[1:]] == ["cnn_float32", "cnn_int8"]
    assert (tmp_path / "cnn_int8.tflite").is_file() and (tmp_path / "cnn_int8.json").is_file()


def test_cli_convert_missing_model(tmp_path, tf):
    assert_one_line_error(run_cli("convert", str(tmp_path / "nope.keras")), "Keras model not found")


def test_cli_convert_not_a_keras_model(tmp_path, tf):
    bogus = tmp_path / "bogus.keras"
    bogus.write_text("hello")
    assert_one_line_error(run_cli("convert", str(bogus)), "not a Keras model")


def test_cli_convert_wrong_input_shape(tmp_path, tf):
    import keras

    model = keras.Sequential([keras.Input(shape=(32, 32)), keras.layers.Flatten(), keras.layers.Dense(10)])
    path = tmp_path / "wide.keras"
    model.save(path)
    assert_one_line_error(run_cli("convert", str(path)), "is not a 28x28 digit")
