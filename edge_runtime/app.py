"""The `mnist-edge run` loop: source → DigitReader → JSON / video / window / web view, and a summary."""
from __future__ import annotations

import json
import logging
import signal
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger("mnist_edge")

FOLDER_FPS = 2.0  # --serve pace for image folders, which have no frame rate of their own


@dataclass(frozen=True)
class RunOptions:
    model: str | None = None          # .tflite path; None or "auto": the faster shipped CNN twin
    source: str | None = None         # None: the shipped sample clip
    json: bool = False                # JSON lines on stdout instead of text
    save: str | None = None           # annotated video path
    show: bool = False                # OpenCV window
    serve: tuple[str, int] | None = None  # web view address
    loop: bool = False                # replay finite sources
    max_frames: int | None = None
    min_confidence: float = 0.5
    roi: tuple[int, int, int, int] | None = None
    backend: str = "auto"
    threads: int = 1
    batched: bool = True
    width: int | None = None
    height: int | None = None
    fps: float | None = None


def percentile_summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0}
    array = np.asarray(values)
    return {"p50": float(np.percentile(array, 50)), "p99": float(np.percentile(array, 99))}


def _video_writer(path: str, fps: float, size: tuple[int, int]):
    import cv2

    suffix = Path(path).suffix.lower()
    fourcc = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}.get(suffix)
    if fourcc is None:
        raise ValueError(f"--save {path}: use a .mp4 or .avi file name")
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, size)
    if not writer.isOpened():
        raise OSError(f"--save {path}: OpenCV cannot write {suffix} here (codec {fourcc})")
    return writer


def _window_available() -> bool:
    import os

    import cv2

    # Debian's Qt build of OpenCV aborts the process (no cv2.error) when there is no display.
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        cv2.namedWindow("mnist-edge", cv2.WINDOW_NORMAL)
        return True
    except cv2.error:
        return False


def _sigterm_as_interrupt() -> None:
    # systemd stops services with SIGTERM: finish like Ctrl+C (release the camera, print the summary).
    def handler(signum, frame):
        raise KeyboardInterrupt
    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (embedded use)
        pass


def run_pipeline(options: RunOptions) -> int:
    """Run the pipeline over a source until it ends, --max-frames, or Ctrl+C; return the exit code."""
    import cv2

    from mnist_edge.edge_runtime.annotate import annotate
    from mnist_edge.edge_runtime.pipeline import STAGES, DigitReader, sample_clip
    from mnist_edge.edge_runtime.sources import CaptureSettings, open_source

    logging.basicConfig(level=logging.INFO, format="mnist-edge: %(levelname)s: %(message)s", stream=sys.stderr)
    cv2.setNumThreads(options.threads)
    reader = DigitReader(options.model, options.backend, options.threads, options.min_confidence,
                         options.roi, options.batched)
    source_spec = options.source if options.source is not None else str(sample_clip())
    settings = CaptureSettings(options.width, options.height, options.fps)
    # Detection reads gray; only the annotated outputs need colour.
    gray = not (options.save or options.show or options.serve)
    source = open_source(source_spec, settings, loop=options.loop, gray=gray)
    _sigterm_as_interrupt()

    show = options.show and _window_available()
    if options.show and not show:
        log.warning("--show needs OpenCV with GUI support and a display (opencv-python-headless has none); "
                    "use --serve PORT to watch in a browser, or --save OUT.mp4")
    times: dict[str, list[float]] = {stage: [] for stage in STAGES}
    frames = digits = errors = 0
    writer = view = None
    started = time.perf_counter()
    elapsed = None
    fps_smoothed = last_frame_at = None
    # A web view of a finite source plays it at its own rate (folders: FOLDER_FPS) so that it can be
    # watched; everything else runs as fast as it can.
    pace = 1.0 / (source.fps or FOLDER_FPS) if (options.serve and not source.live) else None
    with ExitStack() as cleanup:
        cleanup.callback(source.close)
        if options.serve:
            from mnist_edge.edge_runtime.webview import WebView

            view = WebView(*options.serve)
            cleanup.callback(view.close)
            log.info("web view on %s", view.url)
        try:
            next_due = time.perf_counter()
            for frame in source.frames():
                if options.max_frames is not None and frames >= options.max_frames:
                    break
                try:
                    result = reader.process(frame.image, frame.index, frame.source, frame.read_ms)
                except (ValueError, cv2.error) as exc:
                    errors += 1
                    log.warning("frame %d (%s) skipped: %s", frame.index, frame.source, exc)
                    continue
                frames += 1
                digits += len(result.digits)
                for stage in STAGES:
                    times[stage].append(result.latency_ms[stage])
                # Frames delivered per second (what a viewer sees), not 1000 / processing time.
                now = time.perf_counter()
                if last_frame_at is not None and now > last_frame_at:
                    instant = 1.0 / (now - last_frame_at)
                    fps_smoothed = instant if fps_smoothed is None else 0.9 * fps_smoothed + 0.1 * instant
                last_frame_at = now
                if options.json:
                    print(json.dumps(result.to_json()), flush=True)
                else:
                    numbers = " ".join(n.text for n in result.numbers) or "-"
                    print(f"{frame.index}\t{frame.source}\t{numbers}", flush=True)
                if options.save or show or view:
                    canvas = annotate(frame.image, result, fps_smoothed)
                    if options.save:
                        if writer is None:
                            writer_size = canvas.shape[1::-1]
                            writer = _video_writer(options.save, source.fps or 10.0, writer_size)
                            cleanup.callback(writer.release)
                        # A video has one frame size; folders may mix sizes.
                        if canvas.shape[1::-1] != writer_size:
                            canvas = cv2.resize(canvas, writer_size, interpolation=cv2.INTER_AREA)
                        writer.write(canvas)
                    if show:
                        cv2.imshow("mnist-edge", canvas)
                        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                            break
                    if view:
                        view.publish(canvas, result.to_json())
                if pace:
                    next_due += pace
                    delay = next_due - time.perf_counter()
                    if delay > 0:
                        time.sleep(delay)
                    else:
                        next_due = time.perf_counter()
            elapsed = time.perf_counter() - started
            if view and not options.loop:
                log.info("source ended; the web view keeps the last frame until Ctrl+C")
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            log.info("stopped")
        finally:
            if show:
                cv2.destroyAllWindows()
    if elapsed is None:  # stopped by Ctrl+C or SIGTERM before the source ended
        elapsed = time.perf_counter() - started
    skipped = getattr(source, "skipped", 0)
    summaries = {stage: percentile_summary(times[stage]) for stage in STAGES}
    stage_text = ", ".join(f"{stage} {summaries[stage]['p50']:.2f}/{summaries[stage]['p99']:.2f}" for stage in STAGES)
    print(f"mnist-edge: {frames} frames, {digits} digits in {elapsed:.2f} s "
          f"({frames / elapsed if elapsed > 0 else 0:.1f} FPS incl. output); "
          f"ms p50/p99: {stage_text}"
          + (f"; {skipped} unreadable files or frames skipped" if skipped else "")
          + (f"; {errors} frames failed" if errors else ""), file=sys.stderr)
    if frames == 0 and (skipped or errors):
        print("mnist-edge run: error: no frame could be processed", file=sys.stderr)
        return 1
    return 0
