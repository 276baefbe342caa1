"""The `mnist-edge run` loop: source → DigitReader → sinks (edge_runtime/sinks), and a summary."""
from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace

from mnist_edge.edge_runtime.sinks import Delivery, Sink, StopRun

log = logging.getLogger("mnist_edge")

FOLDER_FPS = 2.0  # pace for image folders when a person watches (--serve); they have no frame rate of their own


@dataclass(frozen=True)
class RunOptions:
    model: str | None = None          # .tflite path; None or "auto": the faster shipped CNN twin
    source: str | None = None         # None: the shipped sample clip
    loop: bool = False                # replay finite sources
    max_frames: int | None = None
    min_confidence: float = 0.5
    roi: tuple[int, int, int, int] | None = None
    rotate: int = 0                   # degrees clockwise, applied to each frame before anything else
    backend: str = "auto"
    threads: int = 1
    batched: bool = True
    width: int | None = None
    height: int | None = None
    fps: float | None = None


def configure_logging() -> None:
    """Warnings and progress to stderr as `mnist-edge: LEVEL: message` (once; later calls do nothing)."""
    logging.basicConfig(level=logging.INFO, format="mnist-edge: %(levelname)s: %(message)s", stream=sys.stderr)


class _Stats:
    """What the closing summary reports: counts and per-stage latencies."""

    def __init__(self, stages: Sequence[str]):
        self.times: dict[str, list[float]] = {stage: [] for stage in stages}
        self.frames = self.digits = self.errors = 0
        self.started = time.perf_counter()
        self.elapsed: float | None = None

    def add(self, result) -> None:
        self.frames += 1
        self.digits += len(result.digits)
        for stage, values in self.times.items():
            values.append(result.latency_ms[stage])

    def stop(self) -> None:
        if self.elapsed is None:
            self.elapsed = time.perf_counter() - self.started

    def line(self, skipped: int, sink_notes: list[str]) -> str:
        from mnist_edge.edge_runtime.stats import latency_stats

        summaries = {stage: latency_stats(values) for stage, values in self.times.items()}
        stage_text = ", ".join(f"{stage} {s['p50']:.2f}/{s['p99']:.2f}" for stage, s in summaries.items())
        elapsed = self.elapsed or 0.0
        notes = [f"{skipped} unreadable files or frames skipped"] if skipped else []
        notes += [f"{self.errors} frames failed"] if self.errors else []
        return (f"mnist-edge: {self.frames} frames, {self.digits} digits in {elapsed:.2f} s "
                f"({self.frames / elapsed if elapsed > 0 else 0:.1f} FPS incl. output); "
                f"ms p50/p99: {stage_text}" + "".join(f"; {note}" for note in notes + sink_notes))


class _FrameRate:
    """Frames delivered per second (what a viewer sees), not 1000 / processing time; smoothed."""

    def __init__(self):
        self.value: float | None = None
        self._last: float | None = None

    def tick(self) -> float | None:
        now = time.perf_counter()
        if self._last is not None and now > self._last:
            instant = 1.0 / (now - self._last)
            self.value = instant if self.value is None else 0.9 * self.value + 0.1 * instant
        self._last = now
        return self.value


class _Pacer:
    """Sleeps so that frames come `period` seconds apart (None: no pacing); never catches up in bursts."""

    def __init__(self, period: float | None):
        self.period = period
        self._due = time.perf_counter()

    def wait(self) -> None:
        if not self.period:
            return
        self._due += self.period
        delay = self._due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        else:
            self._due = time.perf_counter()


def _sigterm_as_interrupt() -> None:
    # systemd stops services with SIGTERM: finish like Ctrl+C (release the camera, print the summary).
    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use)
        pass


def _deliver_frames(source, reader, sinks: Sequence[Sink], options: RunOptions, stats: _Stats,
                    announce: str | None = None) -> None:
    """Read, process and deliver frames; `announce` goes to stderr once the first frame was read, so that a
    bad source or --roi stays one error line (README: exit codes)."""
    import cv2

    from mnist_edge.edge_runtime.detect import RoiOutsideFrame
    from mnist_edge.edge_runtime.pipeline import rotate_frame

    rate = _FrameRate()
    # A person watching a finite source sees it at its own rate; everything else runs as fast as it can.
    watched = any(sink.realtime for sink in sinks) and not source.live
    pacer = _Pacer(1.0 / (source.fps or FOLDER_FPS) if watched else None)
    for frame in source.frames():
        if options.max_frames is not None and stats.frames >= options.max_frames:
            return
        if options.rotate:  # the reader, the drawing and every sink see the frame upright
            frame = replace(frame, image=rotate_frame(frame.image, options.rotate))
        try:
            result = reader.process(frame.image, frame.index, frame.source, frame.read_ms)
        except RoiOutsideFrame:
            raise  # the command line is wrong, not this frame: one error line, exit 1
        except (ValueError, cv2.error) as exc:
            stats.errors += 1
            log.warning("frame %d (%s) skipped: %s", frame.index, frame.source, exc)
            continue
        stats.add(result)
        if announce:
            print(announce, file=sys.stderr)
            announce = None
        delivery = Delivery(frame, result, rate.tick(), source.fps)
        try:
            for sink in sinks:
                sink.write(delivery)
        except StopRun:
            return
        pacer.wait()


def run_pipeline(options: RunOptions, sinks: Sequence[Sink] = ()) -> int:
    """Run the pipeline over a source into `sinks` (default: text lines on stdout) until the source ends,
    --max-frames, or Ctrl+C; closes the sinks; returns the exit code."""
    import cv2

    from mnist_edge.edge_runtime.pipeline import STAGES, DigitReader, sample_clip
    from mnist_edge.edge_runtime.sinks.text import TextSink
    from mnist_edge.edge_runtime.sources import CaptureSettings, open_source

    configure_logging()
    sinks = list(sinks) or [TextSink()]
    stats = _Stats(STAGES)
    with ExitStack() as cleanup:
        for sink in sinks:
            cleanup.callback(sink.close)
        cv2.setNumThreads(options.threads)
        model, announce = options.model, None
        if model is None or model == "auto":
            from mnist_edge.edge_runtime.model_choice import choose_model

            choice = choose_model(options.backend, options.threads)
            model, announce = str(choice.path), f"mnist-edge run: {choice.describe()}"
        reader = DigitReader(model, options.backend, options.threads, options.min_confidence,
                             options.roi, options.batched)
        source_spec = options.source if options.source is not None else str(sample_clip())
        settings = CaptureSettings(options.width, options.height, options.fps)
        # Detection reads gray; only sinks that draw on the frame need colour (Motion-JPEG: 2x faster in gray).
        gray = not any(sink.needs_color for sink in sinks)
        source = open_source(source_spec, settings, loop=options.loop, gray=gray)
        cleanup.callback(source.close)
        _sigterm_as_interrupt()
        stats.started = time.perf_counter()
        try:
            _deliver_frames(source, reader, sinks, options, stats, announce)
            stats.stop()
            if any(sink.holds_last_frame for sink in sinks) and not options.loop:
                log.info("source ended; the web view keeps the last frame until Ctrl+C")
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            log.info("stopped")
        stats.stop()
    return _report(stats, getattr(source, "skipped", 0), sinks)


def _report(stats: _Stats, skipped: int, sinks: Sequence[Sink]) -> int:
    """Print the closing summary (after the sinks closed, so theirs is final); return the exit code."""
    print(stats.line(skipped, [note for note in (sink.summary() for sink in sinks) if note]), file=sys.stderr)
    if stats.frames == 0 and (skipped or stats.errors):
        print("mnist-edge run: error: no frame could be processed", file=sys.stderr)
        return 1
    return 0
