"""Outputs of `mnist-edge run` ("sinks"): every processed frame goes to each of them.

A sink is opened by its constructor, which checks everything it can (a writable path, a free port, a
broker that accepts us) so that a mistake is one clear error before the first frame, not after it.
`needs_color` says whether it draws on the frame: the source decodes colour only if some sink does.

Adding an output: a module in this package with `add_arguments(parser)` (its flags) and
`from_args(args) -> Sink | None` (the sink the flags ask for, opened), and its name in SINK_MODULES.
Modules import nothing heavy at the top: `mnist-edge --help` reads their flags.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    import numpy as np

    from mnist_edge.edge_runtime.pipeline import FrameResult
    from mnist_edge.edge_runtime.sources import Frame

# The one place outputs are chosen, in the order they receive each frame.
SINK_MODULES = ("text", "jsonlines", "video", "window", "webview", "mqtt")


class StopRun(Exception):
    """Raised by a sink's `write` to end the run normally (the window's q key)."""


@dataclass(frozen=True)
class Delivery:
    """One processed frame as the sinks receive it."""

    frame: Frame               # the decoded frame (image, index, source name)
    result: FrameResult        # what the reader found in it
    fps: float | None          # frames delivered per second so far (smoothed); None for the first
    source_fps: float | None   # the source's own frame rate, if it has one (videos, cameras)

    @cached_property
    def canvas(self) -> np.ndarray:
        """The annotated BGR frame, drawn once however many sinks show it. Do not modify it."""
        from mnist_edge.edge_runtime.annotate import annotate

        return annotate(self.frame.image, self.result, self.fps)


class Sink:
    """An output of the run. Subclasses override `write` and, if they hold resources, `close`."""

    needs_color = False       # draws on the frame, so the source must decode colour
    realtime = False          # a person watches: play finite sources at their own frame rate
    holds_last_frame = False  # after a finite source ends, keep running until Ctrl+C

    def write(self, delivery: Delivery) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Flush and release; called once, also after errors."""

    def summary(self) -> str:
        """A few words for the run's closing summary (after close), or ""."""
        return ""


def _modules():
    return [importlib.import_module(f"{__name__}.{name}") for name in SINK_MODULES]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every sink's command-line flags."""
    for module in _modules():
        module.add_arguments(parser)


def open_sinks(args: argparse.Namespace) -> list[Sink]:
    """The sinks the parsed flags ask for, opened and checked; on a failure the ones opened are closed."""
    sinks: list[Sink] = []
    try:
        for module in _modules():
            sink = module.from_args(args)
            if sink is not None:
                sinks.append(sink)
    except BaseException:
        for sink in reversed(sinks):
            sink.close()
        raise
    return sinks
