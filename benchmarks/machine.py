"""The machine a benchmark ran on: CPU model and SIMD flags, cores, memory, versions, load, the command."""
from __future__ import annotations

import os
import platform
import shlex

# The CPU parser lives in the runtime (--model auto needs it on the Pi); re-exported for the report and tests.
from mnist_edge.edge_runtime.cpu import SIMD_FLAGS, cpu_features, cpu_model  # noqa: F401


def machine_info(backend_name: str, backend_version: str, command: list[str]) -> dict:
    import cv2
    import numpy as np

    try:
        mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        mem_gb = None
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
                                      "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS") if k in os.environ}
    return {
        "cpu_model": cpu_model(), "cpu": cpu_features(), "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": mem_gb, "machine": platform.machine(), "platform": platform.platform(),
        "python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__,
        "interpreter_backend": backend_name, "interpreter_version": backend_version,
        "load_average_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "environment": env, "command": shlex.join(command), "cwd": os.getcwd(),
    }
