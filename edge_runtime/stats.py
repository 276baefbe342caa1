"""The one summary of timings the whole project uses: `mnist-edge run`'s summary, bench and reading_eval."""
from __future__ import annotations

from typing import Sequence

import numpy as np

PERCENTILES = (50, 90, 99)


def latency_stats(values: Sequence[float] | np.ndarray, scale: float = 1.0) -> dict[str, float]:
    """mean/std/min/p50/p90/p99/max and runs of `values` multiplied by `scale` (e.g. 1e6: seconds → µs);
    all zeros (runs 0) for no values."""
    t = np.asarray(values, dtype=np.float64) * scale
    if t.size == 0:
        return {"mean": 0.0, "std": 0.0, "min": 0.0, **{f"p{q}": 0.0 for q in PERCENTILES}, "max": 0.0, "runs": 0}
    p = np.percentile(t, PERCENTILES)
    return {"mean": float(t.mean()), "std": float(t.std()), "min": float(t.min()),
            **{f"p{q}": float(v) for q, v in zip(PERCENTILES, p)}, "max": float(t.max()), "runs": int(t.size)}
