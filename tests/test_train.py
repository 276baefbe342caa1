import json
import math

import numpy as np
import pytest

from conftest import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def keras(tf):
    import keras

    return keras


def test_mlp_is_the_notebook_model(keras):
    from mnist_edge.train.models import build_model

    model = build_model("mlp")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Flatten", "Dense", "Dropout", "Dense"]
    assert model.layers[1].units == 128 and model.layers[1].activation.__name__ == "relu"
    assert model.layers[2].rate == 0.2
    assert model.layers[3].units == 10 and model.layers[3].activation.__name__ == "linear"  # logits
    assert model.count_params() == 101_770


def test_cnn_is_small_and_int8_friendly(keras):
    from mnist_edge.train.models import build_model

    model = build_model("cnn")
    assert model.count_params() <= 100_000
    allowed = {"InputLayer", "StaticReshape", "Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D", "Dropout", "Dense"}
    assert {type(layer).__name__ for layer in model.layers} <= allowed
    assert model.output_shape == (None, 10)


def test_cnn_micro_fits_a_microcontroller_budget(keras):
    from mnist_edge.train.models import build_model

    model = build_model("cnn-micro")
    assert model.count_params() <= 20_000  # the budget; 18,098 with BatchNorm's statistics
    allowed = {"InputLayer", "StaticReshape", "Conv2D", "BatchNormalization", "ReLU", "MaxPooling2D",
               "AveragePooling2D", "Dense"}
    assert {type(layer).__name__ for layer in model.layers} <= allowed
    # The arena's peak is two live int8 activations: the widest map is 28x28x8 (6,272 bytes).
    widest = max(math.prod(layer.output.shape[1:]) for layer in model.layers if layer.name != "image")
    assert widest == 28 * 28 * 8 and model.output_shape == (None, 10)


def test_unknown_arch():
    from mnist_edge.train.models import build_model

    with pytest.raises(ValueError, match="unknown architecture 'resnet'"):
        build_model("resnet")


def test_augmentation_is_deterministic_and_plausible(tf):
    from mnist_edge.train.augment import augment_batch

    rng = np.random.default_rng(0)
    images = np.zeros((16, 28, 28), np.float32)
    images[:, 6:22, 12:16] = 1.0  # a vertical bar: "1"
    images += rng.random(images.shape, dtype=np.float32) * 0.01
    a = augment_batch(tf.constant(images), tf.constant([1, 2])).numpy()
    b = augment_batch(tf.constant(images), tf.constant([1, 2])).numpy()
    c = augment_batch(tf.constant(images), tf.constant([3, 4])).numpy()
    assert a.shape == images.shape and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.min() >= 0.0 and a.max() <= 1.0
    # The digit moves a little but stays in the frame, mostly in the middle.
    ink = a.sum(axis=(0, 1))
    assert ink[10:18].sum() > 0.8 * ink.sum()


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_train_a_step_writes_model_and_report(arch, mnist, tmp_path, keras):
    from mnist_edge.train.trainer import ARCH_DEFAULTS, TrainConfig, train

    config = TrainConfig(arch=arch, epochs=1, batch_size=64, seed=1, limit=512,
                         augment=ARCH_DEFAULTS[arch]["augment"])
    report = train(config, mnist, tmp_path, verbose=0)
    saved = json.loads((tmp_path / f"{arch}.json").read_text())
    assert saved == report
    for key in ("arch", "test_accuracy", "params", "epochs", "train_seconds", "seed", "versions"):
        assert key in saved
    assert saved["arch"] == arch and saved["epochs"] == 1 and saved["seed"] == 1
    assert saved["train_images"] == 512 and saved["test_images"] == 10000
    assert set(saved["versions"]) >= {"python", "tensorflow", "keras", "numpy"}
    assert 0.2 < saved["test_accuracy"] <= 1.0  # far above chance after one step on 512 images
    model = keras.saving.load_model(tmp_path / f"{arch}.keras")
    assert model.count_params() == saved["params"]


def test_training_is_deterministic(mnist, tmp_path, keras):
    from mnist_edge.train.trainer import TrainConfig, train

    config = TrainConfig(arch="mlp", epochs=1, batch_size=32, seed=7, limit=300)
    first = train(config, mnist, tmp_path / "a", verbose=0)
    second = train(config, mnist, tmp_path / "b", verbose=0)
    assert first["test_accuracy"] == second["test_accuracy"]
    assert first["history"] == second["history"]


def test_cli_train_end_to_end(mnist_path, tmp_path, tf):
    result = run_cli("train", "--arch", "mlp", "--epochs", "1", "--limit", "600", "--quiet",
                     "--data-dir", str(mnist_path), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "mlp: test accuracy" in result.stdout
    assert (tmp_path / "mlp.keras").is_file() and (tmp_path / "mlp.json").is_file()


def test_cli_train_missing_data_dir(tmp_path, tf):  # (without TensorFlow, train says so first)
    result = run_cli("train", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path))
    assert_one_line_error(result, "MNIST folder not found")


def test_cli_train_corrupt_data(tmp_path, tf):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 20)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x03")
    result = run_cli("train", "--data-dir", str(tmp_path), "--out", str(tmp_path / "out"))
    assert_one_line_error(result, "train-images-idx3-ubyte: wrong magic number")


def test_cli_train_offline_without_data_is_one_line(tmp_path, tf):
    # No local copy anywhere, and Keras' download fails fast through a proxy nobody listens on.
    env = {"HOME": str(tmp_path), "MNIST_DIR": "", "KERAS_HOME": str(tmp_path / "keras"),
           "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}
    result = run_cli("train", "--epochs", "1", "--out", str(tmp_path / "out"), env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr  # one line, no URL before it
    assert "no local MNIST copy" in result.stderr and "set MNIST_DIR" in result.stderr
