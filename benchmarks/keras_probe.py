"""The same model in Keras, as a user would run it: eager `model(x)` per image and `model.predict(batch)`,
in its own process so that TensorFlow never enters the benchmark's. Run by bench.keras_reference:

    python -m mnist_edge.benchmarks.keras_probe '{"model": ..., "images": X.npy, "runs": ..., "warmup": ...,
                                                 "batch_sizes": [...], "min_seconds": ...}'

Prints one JSON line with raw seconds; bench.keras_reference summarizes them.
"""
from __future__ import annotations

import json
import sys
import time


def main(spec: dict) -> dict:
    from mnist_edge.benchmarks.common import proc_status

    t0 = time.perf_counter()
    import keras
    import numpy as np
    import tensorflow as tf

    out = {"import_s": time.perf_counter() - t0, "tensorflow": tf.__version__, "keras": keras.__version__,
           "keras_backend": keras.backend.backend(),
           "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
           "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads()}
    start = time.perf_counter()
    from mnist_edge.train.models import register_custom_layers  # the CNN's StaticReshape

    register_custom_layers()
    model = keras.saving.load_model(spec["model"], compile=False)
    out["load_s"] = time.perf_counter() - start
    x = np.load(spec["images"]).astype(np.float32)
    singles = [np.ascontiguousarray(x[i:i + 1]) for i in range(len(x))]
    start = time.perf_counter()
    model(singles[0], training=False).numpy()
    out["first_call_ms"] = (time.perf_counter() - start) * 1e3
    for i in range(spec["warmup"]):
        model(singles[i % len(singles)], training=False).numpy()
    times = []
    for i in range(spec["runs"]):
        single = singles[i % len(singles)]
        start = time.perf_counter()
        model(single, training=False).numpy()
        times.append(time.perf_counter() - start)
    out["eager_s"] = times
    out["predict"] = []
    for batch in spec["batch_sizes"]:
        xb = np.ascontiguousarray(np.resize(x, (batch, *x.shape[1:])))
        model.predict(xb, batch_size=batch, verbose=0)
        model.predict(xb, batch_size=batch, verbose=0)
        calls: list[float] = []
        while sum(calls) < spec["min_seconds"] or len(calls) < 3:
            start = time.perf_counter()
            model.predict(xb, batch_size=batch, verbose=0)
            calls.append(time.perf_counter() - start)
        out["predict"].append({"batch": batch, "calls_s": calls})
    out["hwm_mb"] = proc_status(keys=("VmHWM",)).get("VmHWM")
    return out


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
