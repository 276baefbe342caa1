"""What the CPU is and which SIMD instructions it has, from /proc/cpuinfo (standard library only)."""
from __future__ import annotations

import platform
from pathlib import Path

# CPU features that decide TFLite kernel speed: x86 AVX2/FMA (XNNPACK float), AVX-512 and VNNI (int8 dot
# products); ARM NEON ("asimd"), dot product ("asimddp": int8 on a Pi 5's Cortex-A76, not a Pi 4's A72),
# int8 matrix multiply ("i8mm") and half-precision arithmetic ("asimdhp", "fphp").
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni",
              "amx_int8", "neon", "asimd", "asimdhp", "fphp", "asimddp", "i8mm", "bf16", "sve")
# The subset that gives int8 convolutions a dot-product instruction: without one, XNNPACK's int8 kernels
# widen to 16 bits and the float32 twin can be the faster model (see model_choice).
INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")


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
    """The CPU's model name (or the best /proc/cpuinfo offers; the machine type without one)."""
    fields = _cpuinfo()
    for key in ("model name", "Model", "Hardware", "cpu model"):
        if key in fields:
            return fields[key]
    return platform.processor() or platform.machine()


def cpu_features() -> dict:
    """Family/model (x86) or implementer/part (ARM) and the SIMD flags the CPU reports."""
    fields = _cpuinfo()
    if not fields:
        return {}
    flags = set((fields.get("flags") or fields.get("Features") or "").split())
    ident = {k: fields[k] for k in ("cpu family", "model", "stepping", "CPU implementer", "CPU part",
                                    "CPU variant", "CPU revision") if k in fields}
    return {"id": ident, "simd": [f for f in SIMD_FLAGS if f in flags]}
