"""The machine a benchmark ran on: CPU model and SIMD flags, cores, memory, versions, load, the command."""
from __future__ import annotations

import os
import platform
import shlex
from pathlib import Path


def _cpuinfo() -> dict[str, str]:
    """/proc/cpuinfo's fields, first occurrence of each (the first core's); empty where there is none."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def cpu_model() -> str:
    fields = _cpuinfo()
    for key in ("model name", "Model", "Hardware", "cpu model"):
        if key in fields:
            return fields[key]
    return platform.processor() or platform.machine()


# CPU features that decide TFLite kernel speed: x86 AVX2/FMA (XNNPACK float), AVX-512 and VNNI (int8 dot
# products); ARM NEON ("asimd"), dot product ("asimddp": int8 on a Pi 5's Cortex-A76, not a Pi 4's A72),
# int8 matrix multiply ("i8mm") and half-precision arithmetic ("asimdhp", "fphp").
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni",
              "amx_int8", "neon", "asimd", "asimdhp", "fphp", "asimddp", "i8mm", "bf16", "sve")


def cpu_features() -> dict:
    """Family/model (x86) or implementer/part (ARM) and the SIMD flags the CPU reports."""
    fields = _cpuinfo()
    if not fields:
        return {}
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    ident = {k: fields[k] for k in ("cpu family", "model", "stepping", "CPU implementer", "CPU part",
                                    "CPU variant", "CPU revision") if k in fields}
    return {"id": ident, "simd": [f for f in SIMD_FLAGS if f in flags]}


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
