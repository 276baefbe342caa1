"""Keep the native libraries' own log lines off the terminal unless asked (`mnist-edge -v`).

LiteRT and tflite-runtime print `INFO: Created TensorFlow Lite XNNPACK delegate for CPU.` from C++
straight to file descriptor 2, once per process, at the first `allocate_tensors`; TensorFlow's converter
prints absl lines (`W0000 00:00:… Ignored output_format.`) the same way. Neither TF_CPP_MIN_LOG_LEVEL
nor Python's logging reaches them, and the Python interpreter API has no switch for TFLite's logger.
So fd 2 is pointed at a temporary file around those calls and what was written is replayed
afterwards, minus the chatter, unless the `mnist_edge` logger is at DEBUG.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from typing import Callable, Iterator

log = logging.getLogger("mnist_edge")

# TFLite's "INFO: …" lines; absl/glog lines "I0000 00:00:1718… file.cc:12] …" (and W/E of the converter's
# "ignored option" kind); absl's note that it was not initialized; TensorFlow's CPU-feature and CUDA notes.
CHATTER = re.compile(
    r"^(INFO: |[IW]\d{4} |WARNING: All log messages before absl::InitializeLog|"
    r"E\d{4} .*(cuda|cuDNN|cuFFT|cuBLAS|TensorRT)|.*This TensorFlow binary is optimized|"
    r".*To enable the following instructions|.*Could not find cuda drivers|.*Unable to register cu)")


def chatter(line: str) -> bool:
    """True for a native library's INFO/notice line that `-v` shows and a default run hides."""
    return bool(CHATTER.match(line))


def _not_chatter(line: str) -> bool:
    return not chatter(line)


@contextmanager
def quiet_native_stderr(keep: Callable[[str], bool] = _not_chatter) -> Iterator[None]:
    """Around native calls that log to fd 2: replay the lines `keep` accepts (default: all but the
    chatter) when the block ends; with the `mnist_edge` logger at DEBUG (`-v`) nothing is held back."""
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 at all (a daemon with closed descriptors): nothing to quiet
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines(keepends=True)
                    if keep(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
