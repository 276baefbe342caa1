"""Keras → TFLite conversion (float32, float16, dynamic-range, full int8), verified on the MNIST test set."""
from __future__ import annotations

import contextlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnist_edge.train.mnist import balanced_subset, normalize

from mnist_edge.convert import QUANT_MODES
from mnist_edge.edge_runtime.native_log import quiet_native_stderr
FLOAT_MODES = ("float32", "float16")  # outputs comparable to Keras' logits to within rounding

# What every model of this project expects; the runtime reads it from the sidecar JSON.
MNIST_LAYOUT = {
    "height": 28, "width": 28, "channels": 1,
    "polarity": "white_on_black",
    "digit_box": 20,       # the digit is scaled to fit 20x20, aspect kept (LeCun et al. 1998)
    "centering": "center_of_mass",  # then placed in 28x28 with its centre of mass at the centre
}


@dataclass(frozen=True)
class ConvertConfig:
    quant: str                      # one of QUANT_MODES
    calibration_samples: int = 1000  # int8 only: representative MNIST *training* images, balanced
    seed: int = 0                   # picks the calibration images


def load_keras_model(path: str | Path):
    """Load a .keras model and check that it takes one 28x28 image and returns 10 values."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Keras model not found: {path}")
    import keras

    from mnist_edge.train.models import register_custom_layers

    register_custom_layers()
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - Keras raises many types for a file that is not a model
        reason = str(exc).split(". ")[0].splitlines()[0][:160]
        raise ValueError(f"{path}: not a Keras model (.keras or .h5 from mnist-edge train): {reason}") from None
    inputs = model.inputs
    if len(inputs) != 1 or tuple(inputs[0].shape[1:]) not in ((28, 28), (28, 28, 1)):
        shapes = [tuple(i.shape) for i in inputs]
        raise ValueError(f"{path}: input shape {shapes} is not a 28x28 digit (expected (None, 28, 28))")
    if tuple(model.outputs[0].shape[1:]) not in ((10,), (11,)):
        raise ValueError(f"{path}: output shape {tuple(model.outputs[0].shape)} is not 10 digit classes "
                         "(or 11 with 'not a digit')")
    return model


def labels_of(model) -> list[str]:
    """"0".."9", and NOT_A_DIGIT for the eleventh output of a model trained with --not-a-digit."""
    from mnist_edge.edge_runtime.classifier import NOT_A_DIGIT

    return [str(d) for d in range(10)] + ([NOT_A_DIGIT] if model.outputs[0].shape[-1] == 11 else [])


def representative_images(x_train: np.ndarray, y_train: np.ndarray, samples: int, seed: int) -> np.ndarray:
    """`samples` real training images, the same number of each digit, normalized as in training."""
    if samples < 10:
        raise ValueError(f"--calibration-samples must be at least 10, got {samples}")
    return normalize(x_train[balanced_subset(y_train, samples // 10, seed)])


def convert(model, config: ConvertConfig, calibration: np.ndarray | None = None) -> bytes:
    """Convert a Keras model to a TFLite flatbuffer with a dynamic batch dimension."""
    import tensorflow as tf

    if config.quant not in QUANT_MODES:
        raise ValueError(f"unknown --quant {config.quant!r}; choose from {', '.join(QUANT_MODES)}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if config.quant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif config.quant == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif config.quant == "int8":
        if calibration is None:
            raise ValueError("int8 conversion needs calibration images")
        input_shape = (1, *model.inputs[0].shape[1:])

        def representative_dataset():
            for image in calibration:
                yield [image.reshape(input_shape)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def _tensor_report(detail: dict) -> dict:
    scale, zero_point = detail["quantization"]
    return {"name": detail["name"], "dtype": np.dtype(detail["dtype"]).name,
            "shape": [int(d) for d in detail["shape"]],
            "shape_signature": [int(d) for d in detail.get("shape_signature", detail["shape"])],
            "quantization": {"scale": float(scale), "zero_point": int(zero_point)}}


def tflite_ops(model_content: bytes) -> list[str]:
    """The distinct builtin ops of a TFLite model, as the interpreter lists them."""
    from mnist_edge.edge_runtime.backend import load_backend

    interpreter = load_backend().interpreter_cls(model_content=model_content)
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})


def versions() -> dict[str, str]:
    from mnist_edge.edge_runtime.backend import load_backend
    from mnist_edge.train.trainer import versions as training_versions

    backend = load_backend()
    return {**training_versions(), f"interpreter_{backend.name}": backend.version}


def verify(tflite_path: Path, keras_logits: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
           float_model: bool) -> dict:
    """Accuracy and agreement with Keras on the test set, through the runtime's own Classifier."""
    from mnist_edge.edge_runtime.classifier import Classifier

    classifier = Classifier(tflite_path)
    logits = classifier.predict_raw(x_test)
    predictions = logits.argmax(axis=1)
    details = classifier.interpreter_for(1)
    report = {
        "test_images": int(len(x_test)),
        "test_accuracy": round(float((predictions == y_test).mean()), 6),
        "keras_test_accuracy": round(float((keras_logits.argmax(axis=1) == y_test).mean()), 6),
        "agreement_with_keras": round(float((predictions == keras_logits.argmax(axis=1)).mean()), 6),
        "max_abs_logit_diff": round(float(np.abs(logits - keras_logits).max()), 6),
        "input": _tensor_report(details.get_input_details()[0]),
        "output": _tensor_report(details.get_output_details()[0]),
    }
    if not float_model:
        # Quantized logits differ by design; the figure is kept, the check is for float variants.
        report["max_abs_logit_diff_note"] = "quantized model: differences include quantization error"
    return report


def convert_and_verify(keras_path: str | Path, quants: list[str], out_dir: str | Path,
                       x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                       calibration_samples: int = 1000, seed: int = 0, data_source: str = "",
                       progress=lambda message: None) -> list[dict]:
    """Convert one Keras model to each quantization, write `<stem>_<quant>.tflite` + `.json`; return reports.

    A variant that fails to convert becomes a report with an "error" field; the others go on.
    """
    keras_path = Path(keras_path)
    out_dir = Path(out_dir)
    model = load_keras_model(keras_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    x_test_f = normalize(x_test)
    keras_logits = model.predict(x_test_f.reshape(len(x_test_f), *model.inputs[0].shape[1:]),
                                 batch_size=1000, verbose=0)
    training_report_path = keras_path.with_suffix(".json")
    training_report = json.loads(training_report_path.read_text()) if training_report_path.is_file() else None
    calibration = None
    reports = []
    for quant in quants:
        config = ConvertConfig(quant=quant, calibration_samples=calibration_samples, seed=seed)
        stem = f"{keras_path.stem}_{quant}"
        progress(f"converting {keras_path.name} → {stem}.tflite")
        if quant == "int8" and calibration is None:
            calibration = representative_images(x_train, y_train, calibration_samples, seed)
        start = time.perf_counter()
        try:
            # The converter prints its SavedModel signature with print(), absl lines and "fully_quantize: …"
            # from C++, and a UserWarning for int8: none of it is for the user (`-v` shows it); a failure
            # is reported from its exception.
            with quiet_native_stderr(keep=lambda line: False), contextlib.redirect_stdout(sys.stderr):
                content = convert(model, config, calibration)
        except Exception as exc:  # noqa: BLE001 - one failed variant must not stop the others
            reports.append({"variant": stem, "quant": quant, "error": f"{type(exc).__name__}: {exc}"})
            continue
        convert_seconds = time.perf_counter() - start
        tflite_path = out_dir / f"{stem}.tflite"
        tflite_path.write_bytes(content)
        progress(f"verifying {stem} on {len(x_test)} test images")
        report = {
            "variant": stem,
            "quant": quant,
            "file": tflite_path.name,
            "bytes": len(content),
            **verify(tflite_path, keras_logits, x_test_f, y_test, quant in FLOAT_MODES),
            "ops": tflite_ops(content),
            "converter": {
                "optimizations": [] if quant == "float32" else ["DEFAULT"],
                "supported_types": ["float16"] if quant == "float16" else [],
                "supported_ops": ["TFLITE_BUILTINS_INT8"] if quant == "int8" else ["TFLITE_BUILTINS"],
                "inference_input_type": "int8" if quant == "int8" else "float32",
                "inference_output_type": "int8" if quant == "int8" else "float32",
                "calibration": ({"samples": int(len(calibration)), "split": "train", "balanced": True,
                                 "seed": seed} if quant == "int8" else None),
                "convert_seconds": round(convert_seconds, 2),
            },
            "data_source": data_source,
            "versions": versions(),
            "metadata": {
                "labels": labels_of(model),
                "normalization": {"scale": 1.0 / 255.0, "offset": 0.0, "formula": "x / 255"},
                "layout": MNIST_LAYOUT,
                "output": "logits",
                "source": {"keras_model": keras_path.name, "training_report": training_report},
            },
        }
        (out_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
        reports.append(report)
    return reports
