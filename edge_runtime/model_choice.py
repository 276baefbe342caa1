"""`--model auto`: the faster of the shipped int8 and float32 CNN twins on this CPU, measured once and cached.

Which twin is faster depends on the CPU, not on the model: with an int8 dot-product instruction (x86
AVX-512 VNNI / AVX-VNNI, Arm `asimddp` on a Pi 5) XNNPACK's int8 convolutions win (2.0x for 4 digits,
1.5x for one, through Classifier.predict on a 2-core Zen 4); without one (a Xeon without VNNI, a Pi 4's
Cortex-A72) they widen to 16 bits and float32 won by 1.6-1.7x in our runs. CPU flags are a hint, not an answer (kernels change between runtime versions), so the
choice is a short side-by-side measurement, cached per CPU, runtime and model files.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("mnist_edge")

INT8, FLOAT32 = "cnn_int8", "cnn_float32"
CACHE_NAME = "model-choice.json"
CACHE_SCHEMA = 1
MEASURE_SECONDS = 0.5   # both twins together: ~1,800 interleaved pairs on a Zen 4 (92 + 184 µs), 3 runs of
                        # 3 s each agreed within 2 % (int8 2.0x faster) under load 7.7 on 2 cores
MEASURE_BATCH = 4       # a frame holds 1-6 digits (3.4-3.8 on average in our clips)
# int8 stays unless float32 is clearly faster: it is the smaller file (29 %) and the tested default,
# and a 5 % difference is within what a busy machine's 0.5 s measurement can tell apart.
FLOAT32_MARGIN = 1.05


@dataclass(frozen=True)
class ModelChoice:
    name: str                  # INT8 or FLOAT32
    path: Path                 # the shipped .tflite file
    speedup: float | None      # how many times faster the chosen twin ran than the other (None: not measured)
    int8_dot: bool             # the CPU reports an int8 dot-product instruction (INT8_DOT_FLAGS)
    cached: bool               # read from the cache instead of measured now
    reason: str = ""           # set when no measurement was possible (e.g. a twin is missing)

    def describe(self) -> str:
        """One line for stderr: which twin, and why."""
        if self.speedup is None:
            why = self.reason
        else:
            other = "float32" if self.name == INT8 else "int8"
            if self.speedup >= 1.0:
                why = f"measured {self.speedup:.1f}x faster than {other} on this CPU"
            else:  # int8 kept within FLOAT32_MARGIN
                why = f"float32 measured only {1 / self.speedup:.2f}x faster on this CPU; int8 kept (smaller)"
            why += "; " + ("int8 dot-product instructions" if self.int8_dot else "no int8 dot-product instructions")
            if self.cached:
                why += "; cached"
        return f"model auto → {self.name} ({why})"


def cache_file(cache_dir: str | Path | None = None) -> Path:
    """Where the choice is cached: `cache_dir`, else $XDG_CACHE_HOME/mnist-edge, else ~/.cache/mnist-edge."""
    if cache_dir is None:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        cache_dir = Path(base) / "mnist-edge"
    return Path(cache_dir) / CACHE_NAME


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cache_key(backend, threads: int, int8: Path, float32: Path) -> tuple[str, dict]:
    from mnist_edge.edge_runtime.cpu import cpu_features, cpu_model

    facts = {"cpu_model": cpu_model(), "cpu": cpu_features(), "backend": backend.name,
             "backend_version": backend.version, "threads": threads,
             "int8_sha256": _sha256(int8), "float32_sha256": _sha256(float32)}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:32], facts


def _read_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("schema") != CACHE_SCHEMA or not isinstance(data.get("entries"), dict):
        return {}
    return data["entries"]


def _write_cache(path: Path, entries: dict) -> None:
    # Written to a temporary file and renamed, so a reader never sees half a file; a cache that cannot
    # be written (read-only home, a service user without one) only means measuring again next time.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"schema": CACHE_SCHEMA, "entries": entries}, indent=1))
        os.replace(tmp, path)
    except OSError as exc:
        log.debug("model choice not cached (%s): %s", path, exc)


def measure_twins(int8: Path, float32: Path, backend: str = "auto", threads: int = 1,
                  seconds: float = MEASURE_SECONDS, batch: int = MEASURE_BATCH) -> dict[str, float]:
    """Median µs per `Classifier.predict` of `batch` digits for each twin, invoked in alternation."""
    import numpy as np

    from mnist_edge.edge_runtime.classifier import Classifier

    classifiers = {INT8: Classifier(int8, backend, threads), FLOAT32: Classifier(float32, backend, threads)}
    # Pixel values do not change the work of a dense CNN; a fixed batch keeps runs comparable.
    images = np.random.default_rng(0).random((batch, 28, 28), dtype=np.float32)
    for classifier in classifiers.values():
        for _ in range(3):  # first invokes allocate and pack weights
            classifier.predict(images)
    times: dict[str, list[float]] = {name: [] for name in classifiers}
    order = list(classifiers.items())
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times[INT8]) < 10:
        order.reverse()  # neither twin always runs right after the other
        for name, classifier in order:
            start = time.perf_counter()
            classifier.predict(images)
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(values)) * 1e6 for name, values in times.items()}


def choose_model(backend: str = "auto", threads: int = 1, cache_dir: str | Path | None = None,
                 seconds: float = MEASURE_SECONDS) -> ModelChoice:
    """The faster shipped CNN twin for this CPU (cached measurement; measured now on a cache miss)."""
    from mnist_edge.edge_runtime.backend import load_backend
    from mnist_edge.edge_runtime.cpu import INT8_DOT_FLAGS, cpu_features
    from mnist_edge.edge_runtime.pipeline import shipped_model

    int8 = shipped_model(INT8)
    int8_dot = bool(set(cpu_features().get("simd", ())) & set(INT8_DOT_FLAGS))
    try:
        float32 = shipped_model(FLOAT32)
    except FileNotFoundError:
        return ModelChoice(INT8, int8, None, int8_dot, False, reason="no float32 twin shipped")
    resolved = load_backend(backend)
    key, facts = _cache_key(resolved, threads, int8, float32)
    path = cache_file(cache_dir)
    entries = _read_cache(path)
    entry = entries.get(key)
    if isinstance(entry, dict) and entry.get("choice") in (INT8, FLOAT32) and isinstance(entry.get("speedup"), float):
        chosen = int8 if entry["choice"] == INT8 else float32
        return ModelChoice(entry["choice"], chosen, entry["speedup"], int8_dot, True)
    us = measure_twins(int8, float32, backend, threads, seconds)
    ratio = us[INT8] / us[FLOAT32]  # > 1: float32 is faster
    name = FLOAT32 if ratio > FLOAT32_MARGIN else INT8
    speedup = ratio if name == FLOAT32 else 1.0 / ratio
    entries[key] = {"choice": name, "speedup": speedup, "us_per_batch": us, "batch": MEASURE_BATCH,
                    "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **facts}
    _write_cache(path, entries)
    return ModelChoice(name, float32 if name == FLOAT32 else int8, speedup, int8_dot, False)
