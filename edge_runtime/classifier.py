"""Batched digit classification with a TFLite model; the one place that knows about quantization."""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mnist_edge.edge_runtime.backend import load_backend
from mnist_edge.edge_runtime.native_log import quiet_native_stderr
from mnist_edge.edge_runtime.tflite_check import check_tflite

# A frame's digits run in one invoke at their exact count (one interpreter allocated per count
# seen, reused after): padding 5 digits to a bucket of 8 would add 60 % work to a compute-bound
# CNN. Larger batches are split into chunks of MAX_BATCH; the README's model section has the
# measurements (per-image throughput flat to ~64, falling at batch 256+ as the arena leaves cache).
MAX_BATCH = 64
# The label of the eleventh class of models trained with "not a digit" (train/negatives.py): what a
# candidate that is a letter, a piece of a digit, two digits run together or a ruling is classified as.
NOT_A_DIGIT = "not a digit"


@dataclass(frozen=True)
class ModelMetadata:
    """What the runtime needs to feed a model correctly; read from the model's sidecar JSON."""
    labels: tuple[str, ...] = tuple(str(d) for d in range(10))
    input_scale: float = 1.0 / 255.0  # float input = pixel * input_scale + input_offset
    input_offset: float = 0.0
    output: str = "logits"            # "logits" (softmax applied here) or "probabilities"
    polarity: str = "white_on_black"  # MNIST: bright digit on a black background
    source: dict = field(default_factory=dict)  # the model the file was converted from, for reports


def assets_dir() -> Path:
    """The folder of the models and sample clip shipped inside the package (edge_runtime/assets)."""
    from importlib import resources

    return Path(str(resources.files("mnist_edge.edge_runtime") / "assets"))


def resolve_model(model_path: str | Path) -> Path:
    """`model_path` if it is a file; else a bare name of a shipped model (`cnn_int8.tflite` or `cnn_int8`)
    is that model in the package; else FileNotFoundError naming the shipped ones."""
    path = Path(model_path)
    if path.is_file():
        return path
    if path.parent == Path("."):
        shipped = assets_dir() / (path.name if path.suffix == ".tflite" else f"{path.name}.tflite")
        if shipped.is_file():
            return shipped
    names = ", ".join(p.stem for p in sorted(assets_dir().glob("*.tflite")))
    raise FileNotFoundError(f"model not found: {model_path} (not a file, nor a shipped model: {names})")


def metadata_path(model_path: str | Path) -> Path:
    return Path(model_path).with_suffix(".json")


def read_metadata(model_path: str | Path) -> tuple[ModelMetadata, bool]:
    """The model's metadata from `<stem>.json` beside it; MNIST defaults (and False) when absent."""
    path = metadata_path(model_path)
    if not path.is_file():
        return ModelMetadata(), False
    try:
        meta = json.loads(path.read_text())["metadata"]
        norm = meta.get("normalization", {})
        return ModelMetadata(
            labels=tuple(meta.get("labels", ModelMetadata.labels)),
            input_scale=float(norm.get("scale", 1.0 / 255.0)),
            input_offset=float(norm.get("offset", 0.0)),
            output=meta.get("output", "logits"),
            polarity=meta.get("layout", {}).get("polarity", "white_on_black"),
            source=meta.get("source", {}),
        ), True
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: unreadable model metadata ({exc}); fix or delete it") from None


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class _Quantizer:
    """Maps float tensors to a tensor's storage type and back, from the tensor's own quantization."""

    def __init__(self, detail: dict):
        self.dtype = np.dtype(detail["dtype"])
        scale, zero_point = detail["quantization"]
        self.quantized = self.dtype.kind in "iu" and scale != 0.0
        self.scale, self.zero_point = float(scale), int(zero_point)
        if self.quantized:
            info = np.iinfo(self.dtype)
            self.low, self.high = info.min, info.max

    def quantize(self, x: np.ndarray) -> np.ndarray:
        if not self.quantized:
            return x.astype(self.dtype, copy=False)
        q = np.round(x / self.scale) + self.zero_point
        return np.minimum(np.maximum(q, self.low), self.high).astype(self.dtype)

    def dequantize(self, q: np.ndarray) -> np.ndarray:
        if not self.quantized:
            return q.astype(np.float32, copy=False)
        return (q.astype(np.float32) - self.zero_point) * self.scale


class Classifier:
    """A TFLite digit classifier: `predict(images)` takes (N, 28, 28) floats in [0, 1], returns (N, 10) probabilities.

    All N images (up to `max_batch`) run in one `invoke`; a model converted with a fixed batch
    that cannot be resized runs them in chunks of that batch, zero-padded.
    """

    def __init__(self, model_path: str | Path, backend: str = "auto", threads: int = 1,
                 max_batch: int = MAX_BATCH, default_delegate: bool = True):
        self.model_path = resolve_model(model_path)
        # False: TFLite's built-in kernels only, without the default XNNPACK delegate. TFLite Micro's
        # reference kernels match these to 1 LSB; XNNPACK's int8 rounding differs by up to 2 LSB
        # (convert/micro.py's parity check measures both).
        self.default_delegate = default_delegate
        if threads < 1:
            raise ValueError(f"--threads must be at least 1, got {threads}")
        self.backend = load_backend(backend)
        self.threads = threads
        self.metadata, self.has_metadata = read_metadata(self.model_path)
        self._model_bytes = self.model_path.read_bytes()
        try:
            check_tflite(self._model_bytes)  # tflite-runtime segfaults on a truncated file; fail cleanly
        except ValueError as exc:
            raise ValueError(f"{self.model_path}: not a valid TFLite model ({exc})") from None
        self._interpreters: dict[int, object] = {}
        first = self._new_interpreter()
        inp, out = first.get_input_details(), first.get_output_details()
        if len(inp) != 1 or len(out) != 1:
            raise ValueError(f"{self.model_path}: expected 1 input and 1 output, found {len(inp)} and {len(out)}")
        shape = [int(d) for d in inp[0]["shape"]]
        if shape[1:] not in ([28, 28], [28, 28, 1]):
            raise ValueError(f"{self.model_path}: input shape {shape} is not a 28x28 digit "
                             "(expected [N, 28, 28] or [N, 28, 28, 1])")
        classes = int(out[0]["shape"][-1])
        if not self.has_metadata and classes == 11:
            # No sidecar JSON: ten outputs are the digits, eleven the digits and "not a digit".
            self.metadata = replace(self.metadata, labels=(*ModelMetadata.labels, NOT_A_DIGIT))
        if classes != len(self.metadata.labels):
            raise ValueError(f"{self.model_path}: output has {int(out[0]['shape'][-1])} classes, "
                             f"expected {len(self.metadata.labels)}")
        # Every interpreter built from these bytes numbers its tensors alike: look the indices up once,
        # not twice per invoke on the per-frame path.
        self._input_index, self._output_index = inp[0]["index"], out[0]["index"]
        self.input_shape = tuple(shape[1:])
        self.input_quant = _Quantizer(inp[0])
        self.output_quant = _Quantizer(out[0])
        self._interpreters[shape[0]] = first
        self.dynamic_batch = int(inp[0].get("shape_signature", inp[0]["shape"])[0]) == -1
        if not self.dynamic_batch and shape[0] == 1:
            # Converted with a fixed batch of 1: many such graphs still resize; check once.
            try:
                self.interpreter_for(2)
                self.dynamic_batch = True
            except (ValueError, RuntimeError):
                self._interpreters.pop(2, None)
        self.max_batch = max_batch if self.dynamic_batch else shape[0]

    @property
    def labels(self) -> tuple[str, ...]:
        return self.metadata.labels

    @property
    def input_dtype(self) -> np.dtype:
        return self.input_quant.dtype

    def _new_interpreter(self):
        options = {}
        if not self.default_delegate:
            module = importlib.import_module(self.backend.interpreter_cls.__module__)
            if not hasattr(module, "OpResolverType"):
                raise ValueError(f"backend {self.backend.name} cannot turn its default delegate off")
            options["experimental_op_resolver_type"] = module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            with quiet_native_stderr():  # LiteRT's "INFO: Created ... XNNPACK delegate" line
                interpreter = self.backend.interpreter_cls(model_content=self._model_bytes,
                                                           num_threads=self.threads, **options)
                interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ValueError(f"{self.model_path}: not a valid TFLite model ({str(exc).splitlines()[0]})") from None
        return interpreter

    def interpreter_for(self, batch: int):
        """The raw interpreter allocated for `batch` images (created once, then reused): for benchmarks."""
        interpreter = self._interpreters.get(batch)
        if interpreter is None:
            interpreter = self._new_interpreter()
            interpreter.resize_tensor_input(self._input_index, [batch, *self.input_shape], strict=False)
            with quiet_native_stderr():
                interpreter.allocate_tensors()
            self._interpreters[batch] = interpreter
        return interpreter

    def _invoke(self, batch_input: np.ndarray) -> np.ndarray:
        interpreter = self.interpreter_for(len(batch_input))
        interpreter.set_tensor(self._input_index, batch_input)
        interpreter.invoke()
        return interpreter.get_tensor(self._output_index)

    def quantize_images(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) float images in [0, 1] → the model's input tensor values (int8 for an int8 model)."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim == 2:
            images = images[None]
        if images.shape[1:3] != (28, 28):
            raise ValueError(f"expected images of shape (N, 28, 28), got {images.shape}")
        # Our pixel values are x/255 in [0, 1]; a model trained on another scale says so in its metadata.
        x = images * 255.0 * self.metadata.input_scale + self.metadata.input_offset
        return self.input_quant.quantize(x.reshape(len(images), *self.input_shape))

    def run_quantized(self, x: np.ndarray) -> np.ndarray:
        """Raw output tensor values (int8 for an int8 model) for input tensor values from quantize_images."""
        n = len(x)
        if n == 0:
            return np.zeros((0, len(self.labels)), self.output_quant.dtype)
        outputs = []
        step = self.max_batch
        for start in range(0, n, step):
            chunk = x[start:start + step]
            count = len(chunk)
            if not self.dynamic_batch and count < step:
                chunk = np.concatenate([chunk, np.zeros((step - count, *chunk.shape[1:]), chunk.dtype)])
            outputs.append(self._invoke(chunk)[:count])
        return np.concatenate(outputs)

    def predict_raw(self, images: np.ndarray) -> np.ndarray:
        """Dequantized model outputs (logits for our models) for (N, 28, 28) float images in [0, 1]."""
        return self.output_quant.dequantize(self.run_quantized(self.quantize_images(images)))

    def predict(self, images: np.ndarray) -> np.ndarray:
        """(N, 10) float32 probabilities for (N, 28, 28) float images in [0, 1]."""
        raw = self.predict_raw(images)
        return raw if self.metadata.output == "probabilities" else softmax(raw)
