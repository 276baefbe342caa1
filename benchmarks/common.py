"""What the benchmark modules share: progress lines, a paused garbage collector, /proc memory, probe runs.

Standard library only: the probe processes import it, and their peak RSS must be the model's, not ours.
"""
from __future__ import annotations

import gc
import json
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator


def progress(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@contextmanager
def no_gc() -> Iterator[None]:
    """Python's garbage collector paused around timed loops (benchmark_model, in C++, has none)."""
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def proc_status(pid: int | str = "self", keys: tuple[str, ...] = ("VmHWM", "VmRSS")) -> dict[str, float]:
    """Memory fields of /proc/PID/status in MB (VmHWM: the peak RSS); {} where there is no /proc."""
    fields: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in keys:
                    fields[key] = int(value.split()[0]) / 1024.0
    except OSError:
        pass
    return fields


def run_probe(module: str, args: list[str], timeout: float, env: dict | None = None,
              what: str = "probe process") -> dict:
    """`python -m mnist_edge.benchmarks.<module> ARGS` in a fresh interpreter; its last stdout line is JSON.

    Failures raise RuntimeError with the probe's last stderr line.
    """
    try:
        result = subprocess.run([sys.executable, "-m", f"mnist_edge.benchmarks.{module}", *args],
                                capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{what} timed out after {timeout:.0f} s") from None
    if result.returncode != 0:
        if result.returncode < 0:
            raise RuntimeError(f"{what} was killed by signal {-result.returncode}")
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        raise RuntimeError(f"{what} failed (exit {result.returncode}): {lines[-1] if lines else 'no message'}")
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise RuntimeError(f"{what} printed no JSON: {result.stdout[-200:]!r}") from None
