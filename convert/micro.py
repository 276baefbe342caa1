"""Export an int8 .tflite for microcontrollers running TensorFlow Lite Micro (TFLM), verified and sized.

The stage after convert: it reads a .tflite file (never Keras) and writes what a firmware build needs:
the model as a 16-byte-aligned C array, an op resolver listing exactly the model's ops, the tensor-arena
size measured in TFLM's own interpreter (the `tflite-micro` wheel, reference kernels), parity with LiteRT
on real MNIST digits, and which boards it fits. Needs the `micro` extra; the edge runtime never does.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

if TYPE_CHECKING:
    import numpy as np

    from mnist_edge.edge_runtime.classifier import Classifier

TFLM_MODULE = "tflite_micro.python.tflite_micro.runtime"
INSTALL_HINT = "pip install '.[micro]'"

# TFLM's builtin ops, each with the MicroMutableOpResolver method that registers it
# (tensorflow/lite/micro/micro_mutable_op_resolver.h of the pinned tflite-micro build; a test checks
# every entry against the installed wheel). A model with any other op cannot run under TFLM.
RESOLVER_METHODS = {
    "ABS": "AddAbs", "ADD": "AddAdd", "ADD_N": "AddAddN", "ARG_MAX": "AddArgMax", "ARG_MIN": "AddArgMin",
    "ASSIGN_VARIABLE": "AddAssignVariable", "AVERAGE_POOL_2D": "AddAveragePool2D",
    "BATCH_MATMUL": "AddBatchMatMul", "BATCH_TO_SPACE_ND": "AddBatchToSpaceNd",
    "BROADCAST_ARGS": "AddBroadcastArgs", "BROADCAST_TO": "AddBroadcastTo", "CALL_ONCE": "AddCallOnce",
    "CAST": "AddCast", "CEIL": "AddCeil", "CONCATENATION": "AddConcatenation", "CONV_2D": "AddConv2D",
    "COS": "AddCos", "CUMSUM": "AddCumSum", "DEPTH_TO_SPACE": "AddDepthToSpace",
    "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "DEQUANTIZE": "AddDequantize", "DIV": "AddDiv",
    "EMBEDDING_LOOKUP": "AddEmbeddingLookup", "ELU": "AddElu", "EQUAL": "AddEqual", "EXP": "AddExp",
    "EXPAND_DIMS": "AddExpandDims", "FILL": "AddFill", "FLOOR": "AddFloor", "FLOOR_DIV": "AddFloorDiv",
    "FLOOR_MOD": "AddFloorMod", "FULLY_CONNECTED": "AddFullyConnected", "GATHER": "AddGather",
    "GATHER_ND": "AddGatherNd", "GREATER": "AddGreater", "GREATER_EQUAL": "AddGreaterEqual",
    "HARD_SWISH": "AddHardSwish", "IF": "AddIf", "L2_NORMALIZATION": "AddL2Normalization",
    "L2_POOL_2D": "AddL2Pool2D", "LEAKY_RELU": "AddLeakyRelu", "LESS": "AddLess", "LESS_EQUAL": "AddLessEqual",
    "LOG": "AddLog", "LOGICAL_AND": "AddLogicalAnd", "LOGICAL_NOT": "AddLogicalNot",
    "LOGICAL_OR": "AddLogicalOr", "LOGISTIC": "AddLogistic", "LOG_SOFTMAX": "AddLogSoftmax",
    "MAXIMUM": "AddMaximum", "MAX_POOL_2D": "AddMaxPool2D", "MIRROR_PAD": "AddMirrorPad", "MEAN": "AddMean",
    "MINIMUM": "AddMinimum", "MUL": "AddMul", "NEG": "AddNeg", "NOT_EQUAL": "AddNotEqual", "PACK": "AddPack",
    "PAD": "AddPad", "PADV2": "AddPadV2", "PRELU": "AddPrelu", "QUANTIZE": "AddQuantize",
    "READ_VARIABLE": "AddReadVariable", "REDUCE_MAX": "AddReduceMax", "REDUCE_MIN": "AddReduceMin",
    "RELU": "AddRelu", "RELU6": "AddRelu6", "RESHAPE": "AddReshape", "RESIZE_BILINEAR": "AddResizeBilinear",
    "RESIZE_NEAREST_NEIGHBOR": "AddResizeNearestNeighbor", "REVERSE_V2": "AddReverseV2", "ROUND": "AddRound",
    "RSQRT": "AddRsqrt", "SELECT_V2": "AddSelectV2", "SHAPE": "AddShape", "SIN": "AddSin", "SLICE": "AddSlice",
    "SOFTMAX": "AddSoftmax", "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd", "SPACE_TO_DEPTH": "AddSpaceToDepth",
    "SPLIT": "AddSplit", "SPLIT_V": "AddSplitV", "SQUEEZE": "AddSqueeze", "SQRT": "AddSqrt",
    "SQUARE": "AddSquare", "SQUARED_DIFFERENCE": "AddSquaredDifference", "STRIDED_SLICE": "AddStridedSlice",
    "SUB": "AddSub", "SUM": "AddSum", "SVDF": "AddSvdf", "TANH": "AddTanh", "TRANSPOSE_CONV": "AddTransposeConv",
    "TRANSPOSE": "AddTranspose", "UNPACK": "AddUnpack",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "AddUnidirectionalSequenceLSTM", "VAR_HANDLE": "AddVarHandle",
    "WHILE": "AddWhile", "ZEROS_LIKE": "AddZerosLike",
}

# The arena is measured on x86-64 with TFLM's reference kernels. On a 32-bit MCU its bookkeeping
# structs are smaller (4-byte pointers), but optimized kernels (CMSIS-NN, ESP-NN) may ask for scratch
# buffers the reference kernels do not (CMSIS-NN's int8 3x3 conv: 2 * 9 * input channels * 2 bytes,
# under 1 KB for our models), and other TFLM versions plan memory differently: hence the margin.
ARENA_MARGIN = 0.25
ARENA_ROUND = 1024  # kTensorArenaSize is rounded up to whole KB
FLOAT_TYPES = ("float32", "float16", "float64")
# Digit the example sketch feeds (its first occurrence in the parity set that TFLM reads right).
SAMPLE_DIGIT = 7


@dataclass(frozen=True)
class Board:
    key: str           # --board NAME
    name: str
    flash_bytes: int   # program memory: the model array is const, so it stays in flash
    ram_bytes: int     # where the tensor arena must live
    note: str


KB, MB = 1024, 1024 * 1024
BOARDS = (
    Board("nano33ble", "Arduino Nano 33 BLE (nRF52840)", 1 * MB, 256 * KB, "1 MB flash / 256 KB SRAM"),
    Board("esp32s3", "ESP32-S3 (N8R8 module)", 8 * MB, 8 * MB,
          "8 MB flash, 8 MB PSRAM typical (arena in PSRAM; 512 KB internal SRAM)"),
    Board("pico", "Raspberry Pi Pico (RP2040)", 2 * MB, 264 * KB, "2 MB flash / 264 KB SRAM"),
    Board("esp32cam", "ESP32-CAM (AI-Thinker)", 4 * MB, 520 * KB,
          "4 MB flash / 520 KB SRAM (its 4 MB PSRAM usually holds camera frames)"),
)
BOARD_KEYS = tuple(b.key for b in BOARDS)
# What the fit table assumes, beyond the measured numbers; printed with it.
FIRMWARE_FLASH_BYTES = 256 * KB  # TFLM interpreter + kernels + board core/radio stack: assumed, not measured
ARENA_RAM_SHARE = 0.5            # the arena may take half the RAM; stack, heap, core and buffers the rest
FIT_ASSUMPTIONS = (
    "flash: model array + an assumed 256 KB for the TFLM interpreter, the kernels and the board's core "
    "(not measured here) must fit in the board's flash",
    "RAM: kTensorArenaSize (measured arena + margin) must fit in half the board's RAM; the other half is "
    "left for the stack, heap, the board core, radio stacks and camera or image buffers",
    "arena measured on x86-64 with TFLM reference kernels; 32-bit MCUs need less for bookkeeping, "
    "optimized kernels (CMSIS-NN, ESP-NN) may need small scratch buffers: covered by the margin",
)


def load_tflm():
    """The TFLM Python runtime module; ImportError with the install line when the extra is missing."""
    import importlib

    try:
        return importlib.import_module(TFLM_MODULE)
    except ImportError:
        raise ImportError(f"TensorFlow Lite Micro is not installed: {INSTALL_HINT}") from None


def op_names() -> dict[int, str]:
    """BuiltinOperator number → name, from the schema the tflite-micro wheel ships."""
    load_tflm()
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


@dataclass(frozen=True)
class MicroCheck:
    ops: tuple[str, ...]          # distinct ops, in order of first use
    resolver_methods: tuple[str, ...]
    input_type: str
    output_type: str


def check_micro_model(data: bytes, name: str = "model") -> MicroCheck:
    """Raise ValueError unless the model is full-integer and every op has a TFLM kernel."""
    from mnist_edge.edge_runtime.tflite_check import BUILTIN_CUSTOM, graph_summary

    try:
        graph = graph_summary(data)
    except ValueError as exc:
        raise ValueError(f"{name}: not a valid TFLite model ({exc})") from None
    names = op_names()
    ops: list[str] = []
    for index, op in enumerate(graph.operators):
        label = (f"CUSTOM op {op.custom_code!r}" if op.builtin_code == BUILTIN_CUSTOM
                 else names.get(op.builtin_code, f"builtin op #{op.builtin_code}"))
        if label not in RESOLVER_METHODS:
            raise ValueError(f"{name}: TensorFlow Lite Micro has no kernel for {label} (operator {index} of "
                             f"{len(graph.operators)}); rebuild the model without it")
        if label not in ops:
            ops.append(label)
    types = graph.tensor_types
    in_type, out_type = types[graph.inputs[0]][1], types[graph.outputs[0]][1]
    floats = [tensor for tensor, kind in types if kind in FLOAT_TYPES]
    if floats or in_type != "int8" or out_type != "int8":
        raise ValueError(
            f"{name}: not a full-integer model (input {in_type}, output {out_type}, {len(floats)} float "
            f"tensors of {len(types)}); TFLite Micro runs int8 models: mnist-edge convert MODEL.keras --quant int8")
    if graph.subgraphs != 1:
        raise ValueError(f"{name}: {graph.subgraphs} subgraphs; export-micro handles single-graph models")
    return MicroCheck(tuple(ops), tuple(RESOLVER_METHODS[op] for op in ops), in_type, out_type)


@contextlib.contextmanager
def native_stderr(sink: list[str]) -> Iterator[None]:
    """Capture what native code writes to file descriptor 2 (TFLM's MicroPrintf) into `sink`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            sink.append(tmp.read().decode("utf-8", "replace"))


def _tflm_error(exc: BaseException, log: str) -> str:
    """TFLM's exception with the first lines it printed, on one line."""
    detail = "; ".join(line.strip() for line in log.splitlines() if line.strip())[:300]
    return f"{exc}: {detail}" if detail else str(exc)


class MicroRunner:
    """One TFLM interpreter with a fixed arena, run one image at a time as on the MCU."""

    def __init__(self, model: bytes, arena_size: int):
        tflm = load_tflm()
        log: list[str] = []
        with native_stderr(log):
            try:
                self.interpreter = tflm.Interpreter.from_bytes(model, arena_size=arena_size)
                error = None
            except RuntimeError as exc:
                error = exc
        if error is not None:
            raise RuntimeError(_tflm_error(error, "".join(log)))
        self.arena_size = arena_size
        self.input_shape = tuple(int(d) for d in self.interpreter.get_input_details(0)["shape"])

    def run(self, x: np.ndarray) -> np.ndarray:
        """Raw int8 outputs (N, classes) for int8 inputs (N, 28, 28), one invoke per image."""
        import numpy as np

        outputs = []
        for image in x:
            self.interpreter.set_input(np.ascontiguousarray(image.reshape(self.input_shape)), 0)
            self.interpreter.invoke()
            outputs.append(np.array(self.interpreter.get_output(0)).reshape(-1))
        return np.stack(outputs) if outputs else np.zeros((0, 0), np.int8)


def arena_error(model: bytes, arena_size: int, sample: np.ndarray) -> str | None:
    """None if the model allocates and runs one image with `arena_size` bytes, else TFLM's error."""
    try:
        MicroRunner(model, arena_size).run(sample)
    except RuntimeError as exc:
        return str(exc)
    return None


def recorded_arena(model: bytes, sample: np.ndarray, arena_size: int) -> int | None:
    """The arena total TFLM's RecordingMicroAllocator reports after one invoke."""
    runner = MicroRunner(model, arena_size)
    runner.run(sample)
    log: list[str] = []
    with native_stderr(log):
        runner.interpreter.print_allocations()
    match = re.search(r"Arena allocation total (\d+) bytes", "".join(log))
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class ArenaMeasure:
    minimum_bytes: int          # smallest arena (bisection, 1-byte resolution) that allocates and runs
    recorded_bytes: int | None  # what TFLM's recording allocator reports at a generous arena
    tensor_arena_size: int      # minimum + margin, rounded up: kTensorArenaSize
    margin: float
    minus_10pct_bytes: int
    minus_10pct_error: str | None  # TFLM's error with 10 % less (None would mean it did not fail)
    probes: int                 # arenas tried by the search


def measure_arena(model: bytes, sample: np.ndarray, ceiling: int = 64 * MB) -> ArenaMeasure:
    """Find the smallest tensor arena that works by bisection; check that 10 % less fails cleanly."""
    probes = 0
    high = max(4096, len(model) * 2)
    while True:
        probes += 1
        error = arena_error(model, high, sample)
        if error is None:
            break
        if high >= ceiling:
            raise ValueError(f"the model does not run in TFLite Micro even with a {ceiling:,}-byte arena: {error}")
        high = min(high * 4, ceiling)
    low = 0  # known to fail
    while high - low > 1:
        mid = (low + high) // 2
        probes += 1
        if arena_error(model, mid, sample) is None:
            high = mid
        else:
            low = mid
    recorded = recorded_arena(model, sample, max(high * 2, 64 * KB))
    smaller = int(high * 0.9)
    with_margin = math.ceil(high * (1 + ARENA_MARGIN) / ARENA_ROUND) * ARENA_ROUND
    return ArenaMeasure(high, recorded, with_margin, ARENA_MARGIN, smaller,
                        arena_error(model, smaller, sample), probes)


@dataclass(frozen=True)
class Parity:
    """TFLM against LiteRT on the same int8 inputs, both through the runtime's Classifier.

    LiteRT runs twice: with its built-in kernels (the same integer arithmetic as TFLM's reference
    kernels, so outputs agree to 1 LSB) and as the runtime runs it, with the XNNPACK delegate, whose
    int8 rounding differs (measured: 2 LSB on 5 of 3,000 cnn_micro_int8 outputs; cnn_int8 stays within 1).
    """
    images: int
    source: str
    top1_identical: int              # images where TFLM and LiteRT (built-in kernels) pick the same digit
    max_abs_diff_lsb: int            # largest int8 output difference against LiteRT's built-in kernels
    within_1_lsb: bool
    top1_identical_xnnpack: int      # the same against LiteRT as the runtime runs it (XNNPACK delegate)
    max_abs_diff_lsb_xnnpack: int
    tflm_accuracy: float
    litert_accuracy: float
    litert_backend: str
    tflm_ms_per_image: float         # reference kernels on this machine's CPU, not MCU time

    @property
    def ok(self) -> bool:
        return self.top1_identical == self.top1_identical_xnnpack == self.images and self.within_1_lsb


def load_images(path: str | Path | None = None):
    """(uint8 images (N, 28, 28), labels (N,), source) from an .npz; default: the 300 MNIST test digits
    shipped in mnist_edge.benchmarks (always installed with mnist-edge)."""
    import numpy as np

    if path is None:
        from mnist_edge.benchmarks.subset import load_subset, subset_path

        images, labels, _ = load_subset()
        return images, labels.astype(np.int64), _display(subset_path())
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image file not found: {path}")
    try:
        with np.load(path) as data:
            images, labels = np.asarray(data["images"]), np.asarray(data["labels"])
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: expected an .npz with 'images' (N, 28, 28) and 'labels' ({exc})") from None
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) != len(labels) or not len(images):
        raise ValueError(f"{path}: expected images (N, 28, 28) and N labels, got {images.shape} and {labels.shape}")
    return images, labels.astype(np.int64), _display(path)


def _display(path: Path) -> str:
    """The path relative to the working directory when under it: reports stay readable and portable."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_parity(classifier: Classifier, runner: MicroRunner, x: np.ndarray, labels: np.ndarray,
                 source: str) -> tuple[Parity, np.ndarray]:
    """Int8 inputs `x` (from classifier.quantize_images) through TFLM and LiteRT; the parity and TFLM's top-1."""
    import numpy as np

    from mnist_edge.edge_runtime.classifier import Classifier

    xnnpack = classifier.run_quantized(x).astype(np.int32)
    builtin = Classifier(classifier.model_path, default_delegate=False).run_quantized(x).astype(np.int32)
    start = time.perf_counter()
    micro = runner.run(x).astype(np.int32)
    per_image_ms = (time.perf_counter() - start) / len(x) * 1e3
    top = micro.argmax(axis=1)
    diff = int(np.abs(micro - builtin).max())
    parity = Parity(
        images=len(x), source=source, top1_identical=int((top == builtin.argmax(axis=1)).sum()),
        max_abs_diff_lsb=diff, within_1_lsb=diff <= 1,
        top1_identical_xnnpack=int((top == xnnpack.argmax(axis=1)).sum()),
        max_abs_diff_lsb_xnnpack=int(np.abs(micro - xnnpack).max()),
        tflm_accuracy=round(float((top == labels).mean()), 6),
        litert_accuracy=round(float((xnnpack.argmax(axis=1) == labels).mean()), 6),
        litert_backend=f"{classifier.backend.name} {classifier.backend.version}",
        tflm_ms_per_image=round(per_image_ms, 3))
    return parity, top


def board_fits(flash_bytes: int, arena_bytes: int, boards: tuple[Board, ...] = BOARDS) -> list[dict]:
    """One row per board: flash and RAM used under FIT_ASSUMPTIONS, and whether it fits."""
    rows = []
    for board in boards:
        flash_needed = flash_bytes + FIRMWARE_FLASH_BYTES
        ram_budget = int(board.ram_bytes * ARENA_RAM_SHARE)
        rows.append({
            "board": board.key, "name": board.name, "memory": board.note,
            "flash_bytes": board.flash_bytes, "ram_bytes": board.ram_bytes,
            "flash_used_pct": round(100 * flash_needed / board.flash_bytes, 1),
            "arena_ram_pct": round(100 * arena_bytes / board.ram_bytes, 1),
            "fits": flash_needed <= board.flash_bytes and arena_bytes <= ram_budget,
        })
    return rows


def _c_bytes(data: bytes, per_line: int = 12) -> str:
    return "\n".join("    " + ", ".join(f"0x{b:02x}" for b in data[i:i + per_line]) + ","
                     for i in range(0, len(data), per_line))


def _c_float(value: float) -> str:
    return f"{value:.9g}f"


def model_sources(model: bytes, source_name: str, check: MicroCheck, arena: ArenaMeasure,
                  input_quant: tuple[float, int], output_quant: tuple[float, int], cc_ext: str = "cc") -> dict[str, str]:
    """model_data.h and model_data.<cc_ext>: the aligned array, its length, kTensorArenaSize, the op resolver."""
    digest = hashlib.sha256(model).hexdigest()
    header = f"""\
// Generated by `mnist-edge export-micro {source_name}`: do not edit, regenerate.
// Model: {source_name}, {len(model):,} bytes, sha256 {digest}.
#ifndef MNIST_EDGE_MODEL_DATA_H_
#define MNIST_EDGE_MODEL_DATA_H_

// The .tflite flatbuffer, 16-byte aligned so TFLM can use its tensors in place.
extern const unsigned char g_model_data[];
extern const unsigned int g_model_data_len;

// Tensor arena: TFLM's interpreter ran this model with {arena.minimum_bytes:,} bytes (the smallest that
// works, found by bisection on x86-64 with reference kernels) and failed with 10 % less. Plus a
// {arena.margin:.0%} margin for other kernels (CMSIS-NN, ESP-NN scratch) and TFLM versions, rounded up to 1 KB.
constexpr int kTensorArenaSize = {arena.tensor_arena_size};

// Input: int8 [1, 28, 28], a white digit on black, MNIST-style (20x20 box centred by centre of mass):
// value = round(pixel / 255 / kInputScale) + kInputZeroPoint for pixel in 0..255.
constexpr float kInputScale = {_c_float(input_quant[0])};
constexpr int kInputZeroPoint = {input_quant[1]};
// Output: int8 logits for the digits 0..9; the largest is the answer.
// logit = (value - kOutputZeroPoint) * kOutputScale
constexpr float kOutputScale = {_c_float(output_quant[0])};
constexpr int kOutputZeroPoint = {output_quant[1]};
constexpr int kNumClasses = 10;

// Exactly the ops this model uses ({", ".join(check.ops)}):
//   static tflite::MicroMutableOpResolver<kModelOpCount> resolver;
//   if (!RegisterModelOps(resolver)) {{ /* report and stop */ }}
constexpr unsigned int kModelOpCount = {len(check.ops)};
template <typename OpResolver>
bool RegisterModelOps(OpResolver& resolver) {{
  // Each Add* returns a TfLiteStatus; kTfLiteOk is 0.
  return {(" &&" + chr(10) + "         ").join(f"resolver.{m}() == 0" for m in check.resolver_methods)};
}}

#endif  // MNIST_EDGE_MODEL_DATA_H_
"""
    source = f"""\
// Generated by `mnist-edge export-micro {source_name}`: do not edit, regenerate.
#include "model_data.h"

alignas(16) const unsigned char g_model_data[] = {{
{_c_bytes(model)}
}};
const unsigned int g_model_data_len = {len(model)};
"""
    return {"model_data.h": header, f"model_data.{cc_ext}": source}


def sample_source(source_name: str, image: np.ndarray, label: int, expected: int) -> str:
    """sample_input.h: one quantized test digit for the example sketch."""
    values = ",\n".join("    " + ", ".join(f"{int(v):4d}" for v in row) for row in image.reshape(28, 28))
    return f"""\
// Generated by `mnist-edge export-micro {source_name}`: one MNIST test digit, already quantized
// for the model's int8 input (see kInputScale / kInputZeroPoint in model_data.h).
#ifndef MNIST_EDGE_SAMPLE_INPUT_H_
#define MNIST_EDGE_SAMPLE_INPUT_H_

constexpr int kSampleLabel = {label};     // the MNIST label
constexpr int kSampleExpected = {expected};  // what TFLM answered on the host
const signed char kSampleImage[28 * 28] = {{
{values}
}};

#endif  // MNIST_EDGE_SAMPLE_INPUT_H_
"""


def export_micro(model_path: str | Path, out_dir: str | Path, boards: tuple[str, ...] = BOARD_KEYS,
                 images_path: str | Path | None = None, cc_ext: str = "cc",
                 progress: Callable[[str], None] = lambda message: None) -> dict:
    """Check, measure, verify and write model_data.h/.cc, sample_input.h and micro_report.json; return the report."""
    from importlib.metadata import version

    model_path = Path(model_path)
    if not model_path.is_file():
        raise FileNotFoundError(f"model not found: {model_path}")
    unknown = [b for b in boards if b not in BOARD_KEYS]
    if unknown:
        raise ValueError(f"unknown board {unknown[0]!r}; choose from {', '.join(BOARD_KEYS)}")
    if cc_ext not in ("cc", "cpp"):
        raise ValueError(f"source extension must be cc or cpp, got {cc_ext!r}")
    model = model_path.read_bytes()
    check = check_micro_model(model, model_path.name)
    images, labels, source = load_images(images_path)
    progress(f"{model_path.name}: {len(model):,} bytes, ops {', '.join(check.ops)}; measuring the tensor arena")

    from mnist_edge.edge_runtime.classifier import Classifier

    classifier = Classifier(model_path)
    x = classifier.quantize_images(images.astype("float32") / 255.0)
    arena = measure_arena(model, x[:1])
    progress(f"arena: {arena.minimum_bytes:,} bytes minimum ({arena.probes} interpreters), "
             f"kTensorArenaSize {arena.tensor_arena_size:,}; 10 % less "
             f"{'fails' if arena.minus_10pct_error else 'RUNS (unexpected)'}")
    # Parity runs with the measured minimum itself: every image passing is the proof that it suffices.
    runner = MicroRunner(model, arena.minimum_bytes)
    parity, top_micro = check_parity(classifier, runner, x, labels, source)
    progress(f"parity on {parity.images} images: top-1 identical {parity.top1_identical} (built-in kernels), "
             f"{parity.top1_identical_xnnpack} (XNNPACK); max |diff| {parity.max_abs_diff_lsb} / "
             f"{parity.max_abs_diff_lsb_xnnpack} LSB; TFLM accuracy {parity.tflm_accuracy:.2%}")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = model_sources(model, model_path.name, check, arena,
                          (classifier.input_quant.scale, classifier.input_quant.zero_point),
                          (classifier.output_quant.scale, classifier.output_quant.zero_point), cc_ext)
    candidates = [i for i in range(len(labels)) if labels[i] == SAMPLE_DIGIT and top_micro[i] == SAMPLE_DIGIT]
    pick = candidates[0] if candidates else 0
    files["sample_input.h"] = sample_source(model_path.name, x[pick], int(labels[pick]), int(top_micro[pick]))
    selected = tuple(b for b in BOARDS if b.key in boards)
    report = {
        "model": str(model_path), "sha256": hashlib.sha256(model).hexdigest(),
        "flash_bytes": len(model), "ops": list(check.ops),
        "resolver": f"tflite::MicroMutableOpResolver<{len(check.ops)}>: "
                    + ", ".join(f"{m}()" for m in check.resolver_methods),
        "input": check.input_type, "output": check.output_type,
        "arena": {**asdict(arena), "measured_on": "x86-64, TFLM reference kernels (tflite-micro Python wheel)",
                  "runs_with_minimum": parity.images},
        "parity": {**asdict(parity), "ok": parity.ok},
        "boards": board_fits(len(model), arena.tensor_arena_size, selected),
        "assumptions": list(FIT_ASSUMPTIONS),
        "files": sorted([*files, "micro_report.json"]),
        "versions": {"tflite_micro": version("tflite-micro"), "litert_backend": parity.litert_backend},
    }
    for name, text in files.items():
        (out_dir / name).write_text(text)
    (out_dir / "micro_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
