"""A fresh process that imports only numpy and the interpreter, then loads and runs one model: its peak
RSS (VmHWM) is what running that model costs. Run by bench.baseline_rss / bench.model_rss:

    python -m mnist_edge.benchmarks.rss_probe INTERPRETER_MODULE [MODEL THREADS RUNS BATCH]

Prints one JSON line. Without a model: the baseline (python + numpy + the interpreter, no model).
"""
from __future__ import annotations

import importlib
import json
import sys
import time


def random_input(detail: dict, rng):
    import numpy as np

    dtype = np.dtype(detail["dtype"])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=detail["shape"], endpoint=True).astype(dtype)
    return rng.random(detail["shape"]).astype(dtype)


def main(argv: list[str]) -> dict:
    from mnist_edge.benchmarks.common import proc_status

    t0 = time.perf_counter()
    import numpy as np

    interpreter_cls = importlib.import_module(argv[0]).Interpreter
    out: dict = {"import_s": time.perf_counter() - t0, "after_import": proc_status()}
    if len(argv) == 1:
        return out
    path, threads, runs, batch = argv[1], int(argv[2]), int(argv[3]), int(argv[4])
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    it = interpreter_cls(model_path=path, num_threads=threads)
    it.allocate_tensors()
    out["init_ms"] = (time.perf_counter() - start) * 1e3
    inp, outp = it.get_input_details()[0], it.get_output_details()[0]["index"]
    x = random_input(inp, rng)
    start = time.perf_counter()
    it.set_tensor(inp["index"], x)
    it.invoke()
    it.get_tensor(outp)
    out["first_inference_ms"] = (time.perf_counter() - start) * 1e3
    for _ in range(runs):
        it.set_tensor(inp["index"], x)
        it.invoke()
        it.get_tensor(outp)
    out["after_batch1"] = proc_status()
    if batch > 1:
        it.resize_tensor_input(inp["index"], [batch, *inp["shape"][1:]], strict=False)
        it.allocate_tensors()
        inp = it.get_input_details()[0]
        x = random_input(inp, rng)
        for _ in range(max(3, runs // 10)):
            it.set_tensor(inp["index"], x)
            it.invoke()
            it.get_tensor(outp)
        out["after_batched"] = proc_status()
        out["batch"] = batch
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
